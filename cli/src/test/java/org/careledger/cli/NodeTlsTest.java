package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.NodeConfig;
import org.careledger.node.ordering.NodeTls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS between nodes, keyed by the membership state: a certificate is accepted only when
 * it is bound by a signature of a key that is an active node key at that moment; against a
 * running three-node network, a key that is not a node key cannot open a connection to a Raft
 * port, neither can a client without a certificate, and a member node's key can.
 */
class NodeTlsTest {
  @TempDir Path tmp;

  @Test
  void aCertificateCountsOnlyWhenBoundByAnActiveNodeKey() throws Exception {
    Ed25519.KeyPair node = Ed25519.KeyPair.generate();
    Ed25519.KeyPair other = Ed25519.KeyPair.generate();
    NodeTls.Identity id = NodeTls.identity("node1", node);
    assertThat(NodeTls.boundNodeKeyId(id.certificate())).isEqualTo(node.keyId());
    var trust = NodeTls.trustManager(() -> Set.of(node.keyId()));
    trust.checkClientTrusted(new X509Certificate[] {id.certificate()}, "EC");
    trust.checkServerTrusted(new X509Certificate[] {id.certificate()}, "EC");
    // a key the membership state does not list as an active node key
    assertThatThrownBy(() -> NodeTls.trustManager(() -> Set.of(other.keyId()))
        .checkClientTrusted(new X509Certificate[] {id.certificate()}, "EC"))
        .isInstanceOf(CertificateException.class).hasMessageContaining("not an active node key");
    // the set is read at every handshake: a key that leaves it is refused from then on
    Set<String> active = new java.util.concurrent.CopyOnWriteArraySet<>(Set.of(node.keyId()));
    var live = NodeTls.trustManager(() -> active);
    live.checkServerTrusted(new X509Certificate[] {id.certificate()}, "EC");
    active.clear();
    assertThatThrownBy(() -> live.checkServerTrusted(new X509Certificate[] {id.certificate()},
        "EC")).isInstanceOf(CertificateException.class);
    // another node's certificate presented as if it were this one's: still bound to the other
    NodeTls.Identity theirs = NodeTls.identity("node1", other);
    assertThat(NodeTls.boundNodeKeyId(theirs.certificate())).isEqualTo(other.keyId());
    // a chain of two, or none
    assertThatThrownBy(() -> trust.checkClientTrusted(new X509Certificate[] {id.certificate(),
        theirs.certificate()}, "EC")).isInstanceOf(CertificateException.class);
    assertThatThrownBy(() -> trust.checkClientTrusted(new X509Certificate[0], "EC"))
        .isInstanceOf(CertificateException.class);
  }

  @Test
  void onlyActiveMemberNodesReachARaftPort() throws Exception {
    List<NodeProcess> nodes = NodeProcess.network(tmp, 3);
    try (NetworkFaultTest.Network net = new NetworkFaultTest.Network(nodes)) {
      net.startAll();
      String raft = raftAddress(nodes.get(0));
      Ed25519.KeyPair node3 = KeyFile.read(nodes.get(2).dir.resolve("keys/node.key"), null);
      Set<String> members = new java.util.HashSet<>();
      for (NodeProcess n : nodes) {
        members.add(KeyFile.read(n.dir.resolve("keys/node.key"), null).keyId());
      }
      Ed25519.KeyPair stranger = Ed25519.KeyPair.generate();

      assertThat(talks(raft, node3, members)).as("a member node's key").isTrue();
      assertThat(talks(raft, stranger, members)).as("a key that is not a node key").isFalse();
      assertThat(talks(raft, null, members)).as("no client certificate").isFalse();
      // and the node proves its own node key to the client
      assertThat(talks(raft, node3, Set.of(stranger.keyId())))
          .as("a client that trusts other keys only").isFalse();

      assertThat(nodes.get(0).logText()).contains("refused a Raft TLS peer")
          .contains("is not an active node key");
    }
  }

  static String raftAddress(NodeProcess n) throws IOException {
    var genesis = org.careledger.client.GenesisFile.parse(
        java.nio.file.Files.readAllBytes(n.dir.resolve("genesis.json")));
    String id = NodeConfig.load(n.dir, null).nodeId();
    return genesis.command().organizations().stream().filter(o -> id.equals(o.nodeId()))
        .findFirst().orElseThrow().nodeAddress();
  }

  /**
   * Opens TLS to a Raft port as {@code clientKey}'s node (no certificate when null), speaks
   * HTTP/2's preface and reads: true if the server answers, false if the connection is refused.
   * The client trusts the server only if its bound key is in {@code serverKeys}.
   */
  static boolean talks(String hostPort, Ed25519.KeyPair clientKey, Set<String> serverKeys)
      throws Exception {
    SSLContext ctx = SSLContext.getInstance("TLSv1.3");
    ctx.init(clientKey == null ? null : new javax.net.ssl.KeyManager[] {
        NodeTls.keyManager(NodeTls.identity("probe", clientKey))},
        new javax.net.ssl.TrustManager[] {NodeTls.trustManager(() -> serverKeys)}, null);
    String host = hostPort.substring(0, hostPort.lastIndexOf(':'));
    int port = Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(host, port)) {
      s.setSoTimeout(5000);
      SSLParameters p = s.getSSLParameters();
      p.setApplicationProtocols(new String[] {"h2"});
      s.setSSLParameters(p);
      s.startHandshake();
      OutputStream out = s.getOutputStream();
      out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // an empty SETTINGS frame
      out.flush();
      InputStream in = s.getInputStream();
      return in.read() >= 0;
    } catch (IOException e) {
      return false;
    }
  }
}
