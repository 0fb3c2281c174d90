package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.careledger.client.ApiClient;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.NetworkInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node that lost its whole data dir (Raft log included) cannot rejoin under its old id; its
 * organization makes a new node and a majority of the organizations replaces the old one by it,
 * through the CLI as the operators' guide has it, with real node processes under load. The
 * network is younger than its first snapshot, so the new node catches up by replaying the
 * leader's whole log. Then, with the new node leading, a fourth organization joins: its node
 * starts from the genesis, which does not know the leader's key, and follows it through the
 * members file an admin exported.
 */
class NodeReplacementTest {
  @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS) Path tmp;

  @Test
  void aWipedNodeIsReplacedByANewNodeOfItsOrganizationByMajorityVote() throws Exception {
    List<NodeProcess> nodes = new java.util.ArrayList<>(NodeProcess.network(tmp, 3));
    NodeProcess n1 = nodes.get(0);
    NodeProcess n2 = nodes.get(1);
    NodeProcess n3 = nodes.get(2);
    try (NetworkFaultTest.Network net = new NetworkFaultTest.Network(nodes)) {
      net.startAll();
      NetworkFaultTest.Load load = net.load(4);
      load.runFor(Duration.ofSeconds(2));

      // org3's admin keeps the admin key off the node; the node's disk is lost
      Path org3Admin = tmp.resolve("org3-admin.key");
      Files.copy(n3.dir.resolve("keys/admin.key"), org3Admin);
      Ed25519.KeyPair oldKey = KeyFile.read(n3.dir.resolve("keys/node.key"), null);
      n3.kill();
      n3.close();
      TestFiles.deleteTree(n3.dir);
      load.runFor(Duration.ofSeconds(2));

      // on a new machine, a new node for org3; its old id is refused at once
      Path org3b = tmp.resolve("org3b");
      String genesis = n1.dir.resolve("genesis.json").toString();
      String raft = "127.0.0.3:" + NodeProcess.freePort("127.0.0.3");
      String http = "127.0.0.3:" + NodeProcess.freePort("127.0.0.3");
      CliTest.Run reused = CliTest.cli("init", "node", "--data", tmp.resolve("x").toString(),
          "--org", "org3", "--node-id", "node3", "--raft", raft, "--http", http, "--genesis",
          genesis);
      assertThat(reused.code()).isEqualTo(Main.FAILED);
      assertThat(reused.oneLineError()).as(reused.out()).isTrue();
      assertThat(reused.out()).contains("a replacement node needs a new id");
      GovernanceTest.ok("init", "node", "--data", org3b.toString(), "--org", "org3",
          "--node-id", "node3b", "--raft", raft, "--http", http, "--genesis", genesis);
      assertThat(org3b.resolve("keys/admin.key")).doesNotExist();
      // the checks below query each node with its organization's admin key
      Files.copy(org3Admin, org3b.resolve("keys/admin.key"));
      NodeProcess n3b = NodeProcess.existingOfNetwork(org3b);
      n3b.launch();

      // org3 proposes (1 of 3), org2 approves (2 of 3)
      CliTest.Run proposed = GovernanceTest.ok("network", "propose-replace-node", "--node",
          n1.url(), "--key", org3Admin.toString(), "--old", "node3", "--node-file",
          org3b.toString(), "--reason", "disk lost", "--id", "replace-node3");
      assertThat(proposed.out()).contains("proposal replace-node3: open");
      assertThat(GovernanceTest.raftMembers(n1)).containsExactly("node1", "node2", "node3");
      CliTest.Run approved = GovernanceTest.ok("network", "approve", "--node", n2.url(),
          "--key", GovernanceTest.key(n2), "--id", "replace-node3");
      assertThat(approved.out()).contains("proposal replace-node3: approved");
      assertThat(GovernanceTest.ok("network", "proposals", "--node", n1.url(), "--key",
          GovernanceTest.key(n1)).out()).contains("replace-node org3 (node node3 -> node3b at "
              + raft + ")");

      // the leader swaps node3 for node3b in the Raft group; node3b replays the whole log
      n3b.awaitHealthy(Duration.ofSeconds(120));
      GovernanceTest.await("node3b replaces node3 on every node", () -> {
        for (NodeProcess n : List.of(n1, n2)) {
          if (!GovernanceTest.raftMembers(n).equals(List.of("node1", "node2", "node3b"))) {
            return false;
          }
        }
        return true;
      });
      GovernanceTest.await("node3b holds the ledger", () -> GovernanceTest.height(n3b)
          >= GovernanceTest.height(n1) - 5 && GovernanceTest.height(n3b) > 0);
      assertThat(n3b.logText()).doesNotContain("installed the leader's snapshot");
      load.runFor(Duration.ofSeconds(2));
      nodes.set(2, n3b);
      // every node converges, every acknowledged transaction is on each, each data dir
      // verifies, and a majority of the nodes signed the head
      net.check(load, "node3 replaced by node3b");

      // node3b now signs the blocks it applies, and node3's old key is cut off at every
      // member's Raft port
      long h = GovernanceTest.height(n1);
      load.runFor(Duration.ofSeconds(1));
      String newKey = KeyFile.read(org3b.resolve("keys/node.key"), null).keyId();
      GovernanceTest.await("a block after the replacement carries node3b's signature", () -> {
        var api = new ApiClient(n1.url(), n1.adminKey());
        long top = api.get("/api/v1/status").get("height").asLong();
        for (long b = h + 1; b <= top; b++) {
          for (var s : api.get("/api/v1/blocks/" + b).get("signatures")) {
            if (s.get("keyId").asText().equals(newKey)) {
              return true;
            }
          }
        }
        return false;
      });
      Set<String> memberKeys = new java.util.HashSet<>();
      for (NodeProcess n : nodes) {
        memberKeys.add(KeyFile.read(n.dir.resolve("keys/node.key"), null).keyId());
      }
      assertThat(NodeTlsTest.talks(NodeTlsTest.raftAddress(n1), oldKey, memberKeys))
          .as("node3's old key at node1's Raft port").isFalse();

      // org4 joins while node3b leads. node4 starts from the genesis, which does not know
      // node3b's key; an admin's members file tells it the current nodes
      makeLeader(nodes, n3b);
      Path members = tmp.resolve("members.json");
      CliTest.Run exported = GovernanceTest.ok("network", "members", "--node", n2.url(),
          "--key", GovernanceTest.key(n2), "--out", members.toString());
      assertThat(exported.out()).contains("3 nodes (node1, node2, node3b)");
      Path org4 = tmp.resolve("org4");
      NetworkInit.createOrg(org4, new NetworkInit.OrgPlan("org4", "Organization 4", "admin4",
          "node4", "127.0.0.4:" + NodeProcess.freePort("127.0.0.4"), "127.0.0.4:"
          + NodeProcess.freePort("127.0.0.4")), null);
      // a members file of another network, or not a members file, is refused and changes
      // nothing
      Path foreign = tmp.resolve("foreign-members.json");
      Files.writeString(foreign, Files.readString(members).replaceFirst(
          "\"chain\" : \"[^\"]+\"", "\"chain\" : \"another-chain\""));
      for (Path bad : List.of(foreign, org4.resolve("org.json"))) {
        CliTest.Run refused = CliTest.cli("init", "join", "--running", "--data",
            org4.toString(), "--genesis", genesis, "--members", bad.toString());
        assertThat(refused.code()).as(refused.out()).isEqualTo(Main.FAILED);
        assertThat(refused.oneLineError()).as(refused.out()).isTrue();
        assertThat(org4.resolve("genesis.json")).doesNotExist();
        assertThat(org4.resolve("members.json")).doesNotExist();
      }
      GovernanceTest.ok("init", "join", "--running", "--data", org4.toString(), "--genesis",
          genesis, "--members", members.toString());
      NodeProcess n4 = NodeProcess.existingOfNetwork(org4);
      n4.launch();
      GovernanceTest.ok("network", "propose-add", "--node", n1.url(), "--key",
          GovernanceTest.key(n1), "--org-file", org4.resolve("org.json").toString(), "--reason",
          "a new laboratory", "--id", "add-org4");
      GovernanceTest.ok("network", "approve", "--node", n2.url(), "--key",
          GovernanceTest.key(n2), "--id", "add-org4");
      n4.awaitHealthy(Duration.ofSeconds(120));
      GovernanceTest.await("node4 holds the ledger", () -> GovernanceTest.height(n4)
          >= GovernanceTest.height(n1) - 5 && GovernanceTest.height(n4) > 0);
      String followed = n4.logText().lines().filter(l -> l.contains("leader is now node"))
          .findFirst().orElse("");
      assertThat(followed).as("the first leader node4 followed").endsWith("leader is now node3b");
      assertThat(n4.logText()).contains("also accepts the node keys of members.json");
      nodes.add(n4);
      net.check(load, "org4 joined while node3b leads");
      load.stop();
    }
  }

  /** Freezes the leader until {@code want} leads (each election is a coin toss among two). */
  static void makeLeader(List<NodeProcess> nodes, NodeProcess want) throws Exception {
    for (int i = 0; i < 12; i++) {
      NodeProcess now = null;
      long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (now == null && System.nanoTime() < end) {
        for (NodeProcess n : nodes) {
          if (leads(n)) {
            now = n;
          }
        }
        Thread.sleep(100);
      }
      if (now == want) {
        return;
      }
      if (now == null) {
        throw new AssertionError("no leader within 30 s");
      }
      NodeProcess frozen = now;
      frozen.signal("STOP");
      GovernanceTest.await("another leader", () -> nodes.stream()
          .anyMatch(n -> n != frozen && leads(n)));
      frozen.signal("CONT");
      GovernanceTest.await("the frozen leader steps down", () -> !leads(frozen));
    }
    throw new AssertionError(want.dir + " did not become the leader");
  }

  private static boolean leads(NodeProcess n) {
    try {
      return new ApiClient(n.url(), null).getPublic("/health").path("leader").asBoolean();
    } catch (org.careledger.client.ApiException e) {
      return false;
    }
  }
}
