package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.careledger.client.GenesisFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Setting up a network across machines with the CLI: org, genesis, join, and their refusals. */
class NetworkInitTest {
  @TempDir Path tmp;

  private CliTest.Run org(String id, int k) {
    return CliTest.cli("init", "org", "--data", tmp.resolve(id).toString(), "--org", id,
        "--org-name", "Org " + k, "--admin", id + "-admin", "--node-id", id + "-node",
        "--raft", "127.0.0." + k + ":9090", "--http", "127.0.0." + k + ":8080");
  }

  @Test
  void threeOrganizationsAgreeOnOneGenesis() throws Exception {
    assertThat(org("acme", 1).code()).isZero();
    assertThat(org("lab", 2).code()).isZero();
    assertThat(org("insurer", 3).code()).isZero();
    String orgJson = Files.readString(tmp.resolve("lab/org.json"));
    assertThat(orgJson).contains("\"publicKey\"").doesNotContain("secret");

    CliTest.Run g = CliTest.cli("init", "genesis", "--data", tmp.resolve("acme").toString(),
        "--chain", "regional", "--member", tmp.resolve("lab/org.json").toString(),
        "--member", tmp.resolve("insurer").toString());
    assertThat(g.code()).as(g.out()).isZero();
    Path genesis = tmp.resolve("acme/genesis.json");
    GenesisFile parsed = GenesisFile.parse(Files.readAllBytes(genesis));
    assertThat(parsed.chain()).isEqualTo("regional");
    assertThat(parsed.command().organizations()).extracting(o -> o.id())
        .containsExactly("acme", "lab", "insurer");

    assertThat(CliTest.cli("init", "join", "--data", tmp.resolve("lab").toString(),
        "--genesis", genesis.toString()).code()).isZero();
    assertThat(Files.readAllBytes(tmp.resolve("lab/genesis.json")))
        .isEqualTo(Files.readAllBytes(genesis));

    // an organization the genesis does not list refuses it, and installs nothing
    assertThat(org("stranger", 4).code()).isZero();
    CliTest.Run refused = CliTest.cli("init", "join", "--data",
        tmp.resolve("stranger").toString(), "--genesis", genesis.toString());
    assertThat(refused.code()).isEqualTo(1);
    assertThat(refused.oneLineError()).as(refused.out()).isTrue();
    assertThat(refused.out()).contains("does not list organization stranger");
    assertThat(tmp.resolve("stranger/genesis.json")).doesNotExist();

    // a genesis whose entry for this organization has another key is refused too
    Path other = tmp.resolve("other");
    assertThat(CliTest.cli("init", "org", "--data", other.resolve("lab").toString(), "--org",
        "lab", "--org-name", "Org 2", "--admin", "lab-admin", "--node-id", "lab-node",
        "--raft", "127.0.0.2:9090").code()).isZero();
    CliTest.Run wrongKey = CliTest.cli("init", "join", "--data", other.resolve("lab").toString(),
        "--genesis", genesis.toString());
    assertThat(wrongKey.code()).isEqualTo(1);

    // a node without its genesis says what to do
    CliTest.Run noGenesis = CliTest.cli("node", "--data", tmp.resolve("insurer").toString());
    assertThat(noGenesis.code()).isEqualTo(1);
    assertThat(noGenesis.out()).contains("init join");
  }

  @Test
  void oneMachineNetworkAndBadInput() throws Exception {
    CliTest.Run r = CliTest.cli("init", "--network", tmp.resolve("net").toString(), "--orgs",
        "3", "--http-port", "18080", "--raft-port", "19090");
    assertThat(r.code()).as(r.out()).isZero();
    for (int k = 1; k <= 3; k++) {
      assertThat(tmp.resolve("net/org" + k + "/genesis.json")).exists();
      assertThat(Files.readString(tmp.resolve("net/org" + k + "/node.json")))
          .contains("127.0.0." + k + ":18080");
    }
    assertThat(Files.readAllBytes(tmp.resolve("net/org3/genesis.json")))
        .isEqualTo(Files.readAllBytes(tmp.resolve("net/org1/genesis.json")));

    CliTest.Run both = CliTest.cli("init", "--network", tmp.resolve("x").toString(), "--data",
        tmp.resolve("y").toString());
    assertThat(both.code()).isEqualTo(1);
    assertThat(both.oneLineError()).isTrue();
    CliTest.Run badRaft = CliTest.cli("init", "org", "--data", tmp.resolve("z").toString(),
        "--org", "z", "--org-name", "Z", "--node-id", "z-node", "--raft", "nohostport");
    assertThat(badRaft.code()).isEqualTo(1);
    assertThat(badRaft.oneLineError()).as(badRaft.out()).isTrue();
    assertThat(tmp.resolve("z/keys")).doesNotExist();
  }

  @Test
  void aReplacementNodesDataDirAndItsRefusals() throws Exception {
    assertThat(CliTest.cli("init", "--network", tmp.resolve("net").toString(), "--orgs", "3",
        "--http-port", "18080", "--raft-port", "19090").code()).isZero();
    String genesis = tmp.resolve("net/org1/genesis.json").toString();
    Path dir = tmp.resolve("org3b");
    CliTest.Run r = CliTest.cli("init", "node", "--data", dir.toString(), "--org", "org3",
        "--node-id", "node3b", "--raft", "127.0.0.3:19091", "--http", "127.0.0.3:18081",
        "--genesis", genesis);
    assertThat(r.code()).as(r.out()).isZero();
    assertThat(r.out()).contains("propose-replace-node");
    assertThat(Files.readAllBytes(dir.resolve("genesis.json")))
        .isEqualTo(Files.readAllBytes(Path.of(genesis)));
    assertThat(Files.readString(dir.resolve("node.json"))).contains("\"node3b\"")
        .contains("127.0.0.3:19091");
    assertThat(dir.resolve("keys/node.key")).exists();
    assertThat(dir.resolve("keys/admin.key")).doesNotExist();
    var rep = org.careledger.node.NetworkInit.readReplacement(dir);
    assertThat(rep.org()).isEqualTo("org3");
    assertThat(rep.nodeId()).isEqualTo("node3b");
    assertThat(rep.nodeAddress()).isEqualTo("127.0.0.3:19091");
    assertThat(org.careledger.core.crypto.Ed25519.keyId(rep.nodeKey())).isEqualTo(
        org.careledger.client.keys.KeyFile.read(dir.resolve("keys/node.key"), null).keyId());
    assertThat(Files.readString(dir.resolve("replacement.json"))).doesNotContain("secret");

    // each refusal is one line, exit 1, and writes nothing
    for (String[] bad : List.of(
        new String[] {"--data", dir.toString(), "--node-id", "node3c"},
        new String[] {"--data", tmp.resolve("a").toString(), "--node-id", "node3"},
        new String[] {"--data", tmp.resolve("b").toString(), "--node-id", "bad id!"},
        new String[] {"--data", tmp.resolve("c").toString(), "--node-id", "node3c", "--raft",
            "nohostport"})) {
      List<String> args = new java.util.ArrayList<>(List.of("init", "node", "--org", "org3",
          "--http", "127.0.0.3:18082", "--genesis", genesis));
      args.addAll(List.of(bad));
      if (!args.contains("--raft")) {
        args.addAll(List.of("--raft", "127.0.0.3:19092"));
      }
      CliTest.Run refused = CliTest.cli(args.toArray(String[]::new));
      assertThat(refused.code()).as(String.join(" ", bad)).isEqualTo(1);
      assertThat(refused.oneLineError()).as(refused.out()).isTrue();
    }
    for (String d : List.of("a", "b", "c")) {
      assertThat(tmp.resolve(d + "/keys/node.key")).doesNotExist();
    }
    // a vault to take over must be a node's data dir with a vault, of the same network
    assertThat(CliTest.cli("init", "--network", tmp.resolve("net2").toString(), "--orgs", "3",
        "--http-port", "28080", "--raft-port", "29090", "--chain", "other-net").code()).isZero();
    org.careledger.node.vault.Vault.createKeys(tmp.resolve("net2/org3/keys/vault.keys"), null);
    Files.createDirectories(tmp.resolve("net2/org3/ledger"));
    for (String[] bad : List.of(
        new String[] {tmp.resolve("net/org3").toString(), "is not a node's data dir with a vault"},
        new String[] {tmp.resolve("net2/org3").toString(), "belongs to another network"})) {
      CliTest.Run refused = CliTest.cli("init", "node", "--data", tmp.resolve("e").toString(),
          "--org", "org3", "--node-id", "node3e", "--raft", "127.0.0.3:19094", "--genesis",
          genesis, "--vault-from", bad[0]);
      assertThat(refused.code()).as(refused.out()).isEqualTo(1);
      assertThat(refused.oneLineError()).as(refused.out()).isTrue();
      assertThat(refused.out()).contains(bad[1]);
      assertThat(tmp.resolve("e/node.json")).doesNotExist();
    }
    CliTest.Run notAGenesis = CliTest.cli("init", "node", "--data", tmp.resolve("d").toString(),
        "--org", "org3", "--node-id", "node3d", "--raft", "127.0.0.3:19093", "--genesis",
        dir.resolve("node.json").toString());
    assertThat(notAGenesis.code()).isEqualTo(1);
    assertThat(notAGenesis.out()).contains("not a valid genesis");

    // a proposal from a file that is not a replacement's description is refused before sending
    CliTest.Run badFile = CliTest.cli("network", "propose-replace-node", "--node",
        "http://127.0.0.1:1", "--key", tmp.resolve("net/org1/keys/admin.key").toString(),
        "--old", "node3", "--node-file", tmp.resolve("net/org1/org.json").toString(),
        "--reason", "x");
    assertThat(badFile.code()).isEqualTo(1);
    assertThat(badFile.oneLineError()).as(badFile.out()).isTrue();
    assertThat(badFile.out()).contains("not a replacement node's description");
  }

  @Test
  void aMembersFileGoesWithANewNodeAndIsCheckedFirst() throws Exception {
    assertThat(CliTest.cli("init", "--network", tmp.resolve("net").toString(), "--orgs", "2",
        "--http-port", "18180", "--raft-port", "19190").code()).isZero();
    String genesis = tmp.resolve("net/org1/genesis.json").toString();
    String chain = org.careledger.client.GenesisFile.parse(Files.readAllBytes(Path.of(genesis)))
        .chain();
    String key = "0123456789abcdef0123456789abcdef";
    Path good = tmp.resolve("members.json");
    Files.writeString(good, "{\"chain\":\"" + chain + "\",\"height\":42,\"nodes\":"
        + "[{\"id\":\"node1\",\"keyId\":\"" + key + "\"}]}");
    var m = org.careledger.node.NetworkInit.readMembers(good);
    assertThat(m.height()).isEqualTo(42);
    assertThat(m.nodes()).containsExactlyEntriesOf(java.util.Map.of(key, "node1"));

    // each refusal is one line, exit 1, and writes nothing
    java.util.Map<String, String> bad = new java.util.LinkedHashMap<>();
    bad.put("not json", "{");
    bad.put("another chain", "{\"chain\":\"x\",\"height\":1,\"nodes\":[{\"id\":\"n\","
        + "\"keyId\":\"" + key + "\"}]}");
    bad.put("no nodes", "{\"chain\":\"" + chain + "\",\"height\":1,\"nodes\":[]}");
    bad.put("a bad key id", "{\"chain\":\"" + chain + "\",\"height\":1,\"nodes\":"
        + "[{\"id\":\"n\",\"keyId\":\"XYZ\"}]}");
    bad.put("a negative height", "{\"chain\":\"" + chain + "\",\"height\":-1,\"nodes\":"
        + "[{\"id\":\"n\",\"keyId\":\"" + key + "\"}]}");
    int i = 0;
    for (var e : bad.entrySet()) {
      Path f = tmp.resolve("bad" + i + ".json");
      Files.writeString(f, e.getValue());
      Path dir = tmp.resolve("new" + i++);
      CliTest.Run refused = CliTest.cli("init", "node", "--data", dir.toString(), "--org",
          "org2", "--node-id", "node2b", "--raft", "127.0.0.2:19191", "--genesis", genesis,
          "--members", f.toString());
      assertThat(refused.code()).as(e.getKey()).isEqualTo(1);
      assertThat(refused.oneLineError()).as(refused.out()).isTrue();
      assertThat(dir.resolve("keys/node.key")).as(e.getKey()).doesNotExist();
    }
    CliTest.Run missing = CliTest.cli("init", "node", "--data", tmp.resolve("new-m").toString(),
        "--org", "org2", "--node-id", "node2b", "--raft", "127.0.0.2:19191", "--genesis",
        genesis, "--members", tmp.resolve("no-such-members.json").toString());
    assertThat(missing.code()).isEqualTo(1);
    assertThat(missing.out()).contains("no such file or directory: ")
        .contains("no-such-members.json");
    assertThat(missing.oneLineError()).as(missing.out()).isTrue();
    // --members without --running: a genesis member starts with the genesis's nodes
    CliTest.Run notRunning = CliTest.cli("init", "join", "--data",
        tmp.resolve("net/org2").toString(), "--genesis", genesis, "--members", good.toString());
    assertThat(notRunning.code()).isEqualTo(1);
    assertThat(notRunning.out()).contains("--members goes with --running");

    Path dir = tmp.resolve("node2b");
    assertThat(CliTest.cli("init", "node", "--data", dir.toString(), "--org", "org2",
        "--node-id", "node2b", "--raft", "127.0.0.2:19191", "--genesis", genesis, "--members",
        good.toString()).code()).isZero();
    assertThat(org.careledger.node.NetworkInit.readMembers(dir.resolve("members.json")))
        .isEqualTo(m);
  }
}
