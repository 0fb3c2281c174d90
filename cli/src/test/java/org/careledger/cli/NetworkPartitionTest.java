package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.careledger.client.ApiClient;
import org.careledger.node.NetworkInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A three-organization network of real node processes in which every node reaches every other
 * through its own TCP link on loopback (node.json's {@code raft-peers}), so one node can be cut
 * off from the others in both directions while it keeps running and answering its clients.
 * Under load: the leader isolated, then a follower. The others go on; the isolated node
 * commits nothing; after the heal it catches up, and all the checks of {@link
 * NetworkFaultTest} hold. ({@link NetworkFaultTest} isolates the leader of five.)
 */
class NetworkPartitionTest {
  @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS) Path tmp;

  @Test
  void anIsolatedNodeCommitsNothingAndCatchesUpAfterTheHeal() throws Exception {
    List<NodeProcess> nodes = NodeProcess.network(tmp, 3);
    try (Links links = Links.between(nodes);
        NetworkFaultTest.Network net = new NetworkFaultTest.Network(nodes)) {
      net.startAll();
      NetworkFaultTest.Load load = net.load(6);
      load.runFor(Duration.ofSeconds(2));

      NodeProcess leader = net.leader();
      int before = load.acked();
      links.isolate(leader);
      load.runFor(Duration.ofSeconds(2));
      long cutAt = height(leader);
      load.runFor(Duration.ofSeconds(6));
      assertThat(load.acked()).as("the two others go on without the isolated leader")
          .isGreaterThan(before + 20);
      assertThat(height(leader)).as("the isolated leader commits nothing").isEqualTo(cutAt);
      assertThat(nodes.stream().filter(n -> n != leader).mapToLong(NetworkPartitionTest::height)
          .min().orElseThrow()).isGreaterThan(cutAt);
      links.heal();
      net.check(load, "leader isolated and healed");

      NodeProcess follower = net.follower();
      before = load.acked();
      links.isolate(follower);
      load.runFor(Duration.ofSeconds(6));
      assertThat(load.acked()).as("the two others go on without the isolated follower")
          .isGreaterThan(before + 20);
      links.heal();
      net.check(load, "follower isolated and healed");
      load.stop();
    }
  }

  static long height(NodeProcess n) {
    try {
      return new ApiClient(n.url(), null).getPublic("/health").get("height").asLong();
    } catch (Exception e) {
      throw new AssertionError("no height from " + n.url() + ": " + e.getMessage());
    }
  }

  /**
   * One TCP relay per ordered pair of nodes: node K reaches node J's Raft endpoint through a
   * relay on 127.0.0.K. Cutting a node closes every relay to and from it and refuses new
   * connections until the heal.
   */
  static final class Links implements AutoCloseable {
    private final List<Relay> relays = new ArrayList<>();

    static Links between(List<NodeProcess> nodes) throws IOException {
      Links l = new Links();
      ObjectMapper json = new ObjectMapper();
      for (NodeProcess from : nodes) {
        ObjectNode peers = json.createObjectNode();
        for (NodeProcess to : nodes) {
          if (to == from) {
            continue;
          }
          var target = NetworkInit.readOrg(to.dir.resolve(NetworkInit.ORG_FILE));
          String address = target.nodeAddress();
          int colon = address.lastIndexOf(':');
          Relay r = new Relay(from, to, from.host,
              new InetSocketAddress(address.substring(0, colon),
                  Integer.parseInt(address.substring(colon + 1))));
          l.relays.add(r);
          peers.put(target.nodeId(), from.host + ":" + r.port());
        }
        Path f = from.dir.resolve("node.json");
        ObjectNode config = (ObjectNode) json.readTree(f.toFile());
        config.set("raft-peers", peers);
        Files.writeString(f, config.toPrettyString() + "\n");
      }
      return l;
    }

    void isolate(NodeProcess n) {
      for (Relay r : relays) {
        if (r.from == n || r.to == n) {
          r.cut();
        }
      }
    }

    void heal() {
      relays.forEach(Relay::heal);
    }

    @Override
    public void close() {
      relays.forEach(Relay::close);
    }
  }

  /** Copies bytes between an accepted connection and a new one to the target, both ways. */
  static final class Relay {
    final NodeProcess from;
    final NodeProcess to;
    private final ServerSocket server;
    private final InetSocketAddress target;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean cut;

    Relay(NodeProcess from, NodeProcess to, String host, InetSocketAddress target)
        throws IOException {
      this.from = from;
      this.to = to;
      this.target = target;
      this.server = new ServerSocket(0, 50, InetAddress.getByName(host));
      Thread t = new Thread(this::accept, "relay-" + from.host + "-" + to.host);
      t.setDaemon(true);
      t.start();
    }

    int port() {
      return server.getLocalPort();
    }

    private void accept() {
      while (!server.isClosed()) {
        Socket in;
        try {
          in = server.accept();
        } catch (IOException e) {
          return;
        }
        if (cut) {
          closeQuietly(in);
          continue;
        }
        try {
          Socket out = new Socket();
          out.connect(target, 2000);
          open.add(in);
          open.add(out);
          pump(in, out);
          pump(out, in);
        } catch (IOException e) {
          closeQuietly(in);
        }
      }
    }

    private void pump(Socket a, Socket b) {
      Thread t = new Thread(() -> {
        byte[] buf = new byte[64 * 1024];
        try (InputStream is = a.getInputStream(); OutputStream os = b.getOutputStream()) {
          for (int n; (n = is.read(buf)) >= 0; ) {
            os.write(buf, 0, n);
          }
        } catch (IOException e) {
          // the link was cut or a side closed
        } finally {
          closeQuietly(a);
          closeQuietly(b);
          open.remove(a);
          open.remove(b);
        }
      }, "pump");
      t.setDaemon(true);
      t.start();
    }

    void cut() {
      cut = true;
      for (Socket s : open) {
        closeQuietly(s);
      }
    }

    void heal() {
      cut = false;
    }

    void close() {
      cut();
      closeQuietly(server);
    }

    private static void closeQuietly(java.io.Closeable c) {
      try {
        c.close();
      } catch (IOException e) {
        // already closed
      }
    }
  }
}
