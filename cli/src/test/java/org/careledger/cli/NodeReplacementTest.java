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
 * members file an admin exported. A member that was down meanwhile comes back while the fourth
 * node leads, and follows it through the same file put in its data dir.
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

      // org3's node holds a patient's record
      var created = new FhirHttp(n3.url(), n3.serviceToken()).post("/Patient",
          "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Custodied\"}]}");
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      String patient = FhirIntegrityTest.id(created);

      // org3's admin keeps the admin key off the node, and its operator a backup of the data
      // dir; the node's disk is lost
      Path org3Admin = tmp.resolve("org3-admin.key");
      Files.copy(n3.dir.resolve("keys/admin.key"), org3Admin);
      Ed25519.KeyPair oldKey = KeyFile.read(n3.dir.resolve("keys/node.key"), null);
      n3.kill();
      n3.close();
      Path backup = tmp.resolve("org3-backup");
      FhirIntegrityTest.copyTree(n3.dir, backup);
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
      // a running node's data dir is refused (its files change under a copy), and so is
      // another organization's vault; nothing is written
      CliTest.Run running = CliTest.cli("init", "node", "--data", org3b.toString(), "--org",
          "org3", "--node-id", "node3b", "--raft", raft, "--http", http, "--genesis", genesis,
          "--vault-from", n2.dir.toString());
      assertThat(running.code()).isEqualTo(Main.FAILED);
      assertThat(running.oneLineError()).as(running.out()).isTrue();
      assertThat(running.out()).contains("is running (its ledger is locked)");
      Path org2b = tmp.resolve("org2b");
      CliTest.Run otherOrg = CliTest.cli("init", "node", "--data", org2b.toString(), "--org",
          "org2", "--node-id", "node2b", "--raft", raft, "--http", http, "--genesis", genesis,
          "--vault-from", backup.toString());
      assertThat(otherOrg.code()).isEqualTo(Main.FAILED);
      assertThat(otherOrg.oneLineError()).as(otherOrg.out()).isTrue();
      assertThat(otherOrg.out()).contains("is not organization org2's");
      assertThat(org3b.resolve("node.json")).doesNotExist();
      assertThat(org2b.resolve("node.json")).doesNotExist();
      // the new node takes over the vault from the backup
      CliTest.Run made = GovernanceTest.ok("init", "node", "--data", org3b.toString(), "--org",
          "org3", "--node-id", "node3b", "--raft", raft, "--http", http, "--genesis", genesis,
          "--vault-from", backup.toString());
      assertThat(made.out()).contains("took over the vault of node node3: 1 encrypted record"
          + " versions and their index");
      assertThat(org3b.resolve("keys/admin.key")).doesNotExist();
      // org3's records service keeps its key
      Files.copy(backup.resolve("keys/service.key"), org3b.resolve("keys/service.key"));
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
      // the record org3 held is served by its new node, checked against the ledger
      var read = new FhirHttp(n3b.url(), n3b.serviceToken()).get("/Patient/" + patient);
      assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
      assertThat(read.body()).contains("Custodied");
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
      // node1 is down while org4 joins: its ledger will not know node4's key either
      n1.stop();
      GovernanceTest.ok("network", "propose-add", "--node", n2.url(), "--key",
          GovernanceTest.key(n1), "--org-file", org4.resolve("org.json").toString(), "--reason",
          "a new laboratory", "--id", "add-org4");
      GovernanceTest.ok("network", "approve", "--node", n2.url(), "--key",
          GovernanceTest.key(n2), "--id", "add-org4");
      n4.awaitHealthy(Duration.ofSeconds(120));
      GovernanceTest.await("node4 holds the ledger", () -> GovernanceTest.height(n4)
          >= GovernanceTest.height(n2) - 5 && GovernanceTest.height(n4) > 0);
      String followed = n4.logText().lines().filter(l -> l.contains("leader is now node"))
          .findFirst().orElse("");
      assertThat(followed).as("the first leader node4 followed").endsWith("leader is now node3b");
      assertThat(n4.logText()).contains("also accepts the node keys of members.json");

      // node4 leads when node1 comes back (three of four are up, so an admin hands it the
      // leadership rather than freezing the leader); node1 gets the members file in its dir
      CliTest.Run nobody = CliTest.cli("network", "leader", "--node", n2.url(), "--key",
          GovernanceTest.key(n2), "--to", "node9");
      assertThat(nobody.code()).as(nobody.out()).isEqualTo(Main.FAILED);
      assertThat(nobody.oneLineError()).as(nobody.out()).isTrue();
      assertThat(nobody.out()).contains("node9 is not a member of the Raft group");
      // only an admin moves the leadership, and only to a node id
      Ed25519.KeyPair service = Ed25519.KeyPair.generate();
      new ApiClient(n2.url(), n2.adminKey()).submit(TxFixture.signedBy(n2.adminKey())
          .command(new org.careledger.core.contract.Command.Register("ops-service",
              org.careledger.core.contract.Role.SERVICE, service.publicKey(), null)).bytes());
      assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(
          org.careledger.client.ApiException.class, () -> new ApiClient(n2.url(), service)
              .post("/api/v1/network/leader", "{\"node\":\"node4\"}".getBytes())).status())
          .isEqualTo(403);
      assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(
          org.careledger.client.ApiException.class, () -> new ApiClient(n2.url(), n2.adminKey())
              .post("/api/v1/network/leader", "{}".getBytes())).status()).isEqualTo(400);
      assertThat(GovernanceTest.ok("network", "leader", "--node", n2.url(), "--key",
          GovernanceTest.key(n2), "--to", "node4").out()).contains("node4 leads");
      assertThat(new ApiClient(n4.url(), null).getPublic("/health").path("leader").asBoolean())
          .as("node4 leads").isTrue();
      assertThat(GovernanceTest.ok("network", "members", "--node", n2.url(), "--key",
          GovernanceTest.key(n2), "--out", n1.dir.resolve("members.json").toString()).out())
          .contains("4 nodes (node1, node2, node3b, node4)");
      int before = n1.logText().length();
      n1.start();
      GovernanceTest.await("node1 catches up", () -> GovernanceTest.height(n1)
          >= GovernanceTest.height(n2) - 5);
      String restarted = n1.logText().substring(before);
      assertThat(restarted).contains("also accepts the node keys of members.json")
          .doesNotContain("refused a Raft TLS peer");
      assertThat(restarted.lines().filter(l -> l.contains("leader is now node")).findFirst()
          .orElse("")).as("the first leader node1 followed again").endsWith("leader is now node4");
      nodes.add(n4);
      net.check(load, "org4 joined while node3b leads and node1 was down; node4 leads");
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
