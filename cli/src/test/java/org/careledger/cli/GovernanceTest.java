package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.careledger.client.ApiClient;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.LedgerVerifier;
import org.careledger.node.NetworkInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Network governance with real node processes, through the CLI as the operators' guide has it:
 * a fourth organization joins a running three-node network under load once a majority of the
 * members approved, its node takes the leader's snapshot and becomes a Raft member; then an
 * organization is voted out, and its node is cut off while the others go on.
 */
class GovernanceTest {
  @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS) Path tmp;

  static String key(NodeProcess n) {
    return n.dir.resolve("keys/admin.key").toString();
  }

  static CliTest.Run ok(String... args) {
    CliTest.Run r = CliTest.cli(args);
    assertThat(r.code()).as(String.join(" ", args) + ": " + r.out()).isZero();
    return r;
  }

  static List<String> raftMembers(NodeProcess n) throws Exception {
    JsonNode net = new ApiClient(n.url(), n.adminKey()).get("/api/v1/network");
    return java.util.stream.StreamSupport.stream(net.get("peers").spliterator(), false)
        .map(p -> p.get("id").asText()).sorted().toList();
  }

  static long height(NodeProcess n) throws Exception {
    return new ApiClient(n.url(), null).getPublic("/health").get("height").asLong();
  }

  static void await(String what, java.util.concurrent.Callable<Boolean> done) throws Exception {
    long end = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (System.nanoTime() < end) {
      try {
        if (done.call()) {
          return;
        }
      } catch (Exception e) {
        // not yet
      }
      Thread.sleep(250);
    }
    throw new AssertionError("not within 120 s: " + what);
  }

  @Test
  void organizationsJoinAndLeaveByMajorityVote() throws Exception {
    List<NodeProcess> nodes = new java.util.ArrayList<>(NodeProcess.network(tmp, 3));
    NodeProcess n1 = nodes.get(0);
    NodeProcess n2 = nodes.get(1);
    NodeProcess n3 = nodes.get(2);
    for (NodeProcess n : nodes) {
      // the members take a snapshot every 20 Raft entries, so the new member gets one
      n.configure(o -> o.put("snapshot-every", 20));
    }
    try (NetworkFaultTest.Network net = new NetworkFaultTest.Network(nodes)) {
      net.startAll();
      NetworkFaultTest.Load load = net.load(4);
      load.runFor(Duration.ofSeconds(2));

      // org4 prepares its data dir on "its machine" and takes the network's genesis
      Path org4 = tmp.resolve("org4");
      int http = NodeProcess.freePort("127.0.0.4");
      NetworkInit.createOrg(org4, new NetworkInit.OrgPlan("org4", "Organization 4", "admin4",
          "node4", "127.0.0.4:" + NodeProcess.freePort("127.0.0.4"), "127.0.0.4:" + http), null);
      ok("init", "join", "--running", "--data", org4.toString(), "--genesis",
          n1.dir.resolve("genesis.json").toString());
      NodeProcess n4 = NodeProcess.existingOfNetwork(org4);
      n4.launch();

      // org1 proposes; one vote of three is not a majority; org2's approval is
      CliTest.Run proposed = ok("network", "propose-add", "--node", n1.url(), "--key", key(n1),
          "--org-file", org4.resolve("org.json").toString(), "--reason", "a new laboratory",
          "--id", "add-org4");
      assertThat(proposed.out()).contains("proposal add-org4: open");
      load.runFor(Duration.ofSeconds(2));
      assertThat(raftMembers(n1)).containsExactly("node1", "node2", "node3");
      CliTest.Run approved = ok("network", "approve", "--node", n2.url(), "--key", key(n2),
          "--id", "add-org4");
      assertThat(approved.out()).contains("proposal add-org4: approved");

      // the leader adds node4 to the Raft group; node4 receives the leader's snapshot,
      // verifies it, and follows
      n4.awaitHealthy(Duration.ofSeconds(120));
      await("node4 is a Raft member on every node", () -> {
        for (NodeProcess n : nodes) {
          if (!raftMembers(n).equals(List.of("node1", "node2", "node3", "node4"))) {
            return false;
          }
        }
        return true;
      });
      await("node4 holds the ledger up to its own admission", () -> new ApiClient(
          n4.url(), n4.adminKey()).get("/api/v1/status").get("height").asLong() > 0);
      assertThat(n4.logText()).contains("installed the leader's snapshot");
      load.runFor(Duration.ofSeconds(2));
      nodes.add(n4);
      // every node converges (node4 included), every acknowledged transaction is on each,
      // each data dir verifies, and a majority of the four nodes signed the head
      net.check(load, "org4 joined");

      // the organization to vote out: the leader's when that is not org1 (whose identities
      // sign the load), so that a leader carrying out its own removal is covered; else org3
      NodeProcess leader = net.leader();
      NodeProcess gone = leader == n1 ? n3 : leader;
      String goneOrg = gone.dir.getFileName().toString();
      String goneNode = "node" + goneOrg.substring(3);
      List<NodeProcess> stay = nodes.stream().filter(n -> n != gone).toList();
      System.out.println("GovernanceTest: voting out " + goneOrg
          + (gone == leader ? ", whose node leads" : ", whose node follows"));
      NodeProcess probe = stay.contains(n1) ? n1 : n2;
      Ed25519.KeyPair goneKey = KeyFile.read(gone.dir.resolve("keys/node.key"), null);
      Set<String> memberKeys = new java.util.HashSet<>();
      for (NodeProcess n : nodes) {
        memberKeys.add(KeyFile.read(n.dir.resolve("keys/node.key"), null).keyId());
      }
      assertThat(NodeTlsTest.talks(NodeTlsTest.raftAddress(probe), goneKey, memberKeys))
          .as("%s's key at %s's Raft port before the vote", goneNode, probe.dir).isTrue();

      // one remaining organization proposes, the second makes 2 of 4, the third 3 of 4
      ok("network", "propose-remove", "--node", stay.get(0).url(), "--key", key(stay.get(0)),
          "--org", goneOrg, "--reason", "left the consortium", "--id", "remove-" + goneOrg);
      assertThat(ok("network", "approve", "--node", stay.get(1).url(), "--key",
          key(stay.get(1)), "--id", "remove-" + goneOrg).out())
          .contains("proposal remove-" + goneOrg + ": open");
      assertThat(ok("network", "approve", "--node", stay.get(2).url(), "--key",
          key(stay.get(2)), "--id", "remove-" + goneOrg).out())
          .contains("proposal remove-" + goneOrg + ": approved");
      List<String> left = new java.util.ArrayList<>(List.of("node1", "node2", "node3", "node4"));
      left.remove(goneNode);
      await(goneNode + " is no longer a Raft member", () -> {
        for (NodeProcess n : stay) {
          if (!raftMembers(n).equals(left)) {
            return false;
          }
        }
        return true;
      });
      // its admin can no longer sign anything, at any node
      CliTest.Run refused = CliTest.cli("network", "propose-add", "--node", probe.url(), "--key",
          key(gone), "--org-file", org4.resolve("org.json").toString(), "--reason", "x");
      assertThat(refused.code()).isEqualTo(Main.FAILED);
      assertThat(refused.oneLineError()).as(refused.out()).isTrue();

      // the removed node is cut off: the others go on without it, and it stops with exit code
      // 74 (a leader once its own removal is done, a follower when it next asks for votes)
      load.runFor(Duration.ofSeconds(3));
      long height = height(probe);
      Long goneHeight = null;
      try {
        goneHeight = height(gone);
      } catch (org.careledger.client.ApiException e) {
        // it may have stopped already (below)
      }
      if (goneHeight != null) {
        assertThat(goneHeight).as("%s applies nothing after it was cut off", goneNode)
            .isLessThan(height);
      }
      Integer code = gone.awaitExit(Duration.ofSeconds(30));
      assertThat(code).as("%s stops by itself: %s", goneNode, gone.logText().lines()
          .filter(l -> l.contains("stopped")).toList()).isEqualTo(74);
      assertThat(gone.logText()).contains("this node is no longer a node of the network");
      assertThat(LedgerVerifier.verify(gone.dir).problem()).isNull();
      // and its key no longer passes a member's TLS handshake, as it did before
      assertThat(NodeTlsTest.talks(NodeTlsTest.raftAddress(probe), goneKey, memberKeys))
          .as("%s's key at %s's Raft port after the vote", goneNode, probe.dir).isFalse();
      assertThat(probe.logText()).contains("key " + goneKey.keyId()
          + " is not an active node key");
      load.runFor(Duration.ofSeconds(2));
      assertThat(height(probe)).isGreaterThan(height);
      nodes.remove(gone);
      net.check(load, goneOrg + " removed");
      load.stop();
    }
  }
}
