package org.careledger.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.tx.TxCodec;

/**
 * Creates a node's data dir: the organization's admin key and the node key, the genesis
 * transaction (signed by the admin key) and {@code node.json}.
 *
 * <p>Layout: {@code genesis.json}, {@code node.json}, {@code keys/node.key},
 * {@code keys/admin.key}, and later {@code ledger/} (RocksDB) and {@code raft/} (Ratis).
 */
public final class NetworkInit {
  private NetworkInit() {}

  /** What was created. */
  public record Result(Path dataDir, String chain, String adminId, String adminKeyId,
      String nodeId, String nodeKeyId) {}

  /**
   * The organization and node settings of a network whose one node is this organization's;
   * {@code members} are further organizations (id, name) without a node of their own yet, each
   * with an admin key written to {@code keys/<org>-admin.key}.
   */
  public record Options(String chain, String orgId, String orgName, String adminId,
      String nodeId, String raftAddress, String http, List<Member> members) {
    public Options(String chain, String orgId, String orgName, String adminId, String nodeId,
        String raftAddress, String http) {
      this(chain, orgId, orgName, adminId, nodeId, raftAddress, http, List.of());
    }
  }

  /** A member organization that uses another organization's node. */
  public record Member(String id, String name) {}

  public static Result init(Path dir, Options o, char[] passphraseOrNull, long now)
      throws IOException {
    if (Files.exists(dir.resolve(NodeConfig.FILE)) || Files.exists(dir.resolve("genesis.json"))) {
      throw new IOException(dir + " already holds a node; refusing to overwrite it");
    }
    Files.createDirectories(dir.resolve("keys"));
    Ed25519.KeyPair admin = Ed25519.KeyPair.generate();
    Ed25519.KeyPair node = Ed25519.KeyPair.generate();
    List<Command.OrgSpec> orgs = new java.util.ArrayList<>();
    orgs.add(new Command.OrgSpec(o.orgId(), o.orgName(), o.adminId(), admin.publicKey(),
        o.nodeId(), node.publicKey(), o.raftAddress()));
    java.util.Map<String, Ed25519.KeyPair> memberAdmins = new java.util.LinkedHashMap<>();
    for (Member m : o.members()) {
      Ed25519.KeyPair k = Ed25519.KeyPair.generate();
      memberAdmins.put(m.id(), k);
      orgs.add(new Command.OrgSpec(m.id(), m.name(), m.id() + "-admin", k.publicKey(), null,
          null, null));
    }
    Command.Genesis g = new Command.Genesis(List.copyOf(orgs));
    byte[] genesis = TxCodec.sign(TxCodec.payload(o.chain(), admin.keyId(), "genesis-" + now,
        now, now + 60_000, CommandCodec.GENESIS, CommandCodec.encode(g)), admin);
    // validates the genesis exactly as a node will
    org.careledger.core.ledger.Ledger.genesis(genesis,
        org.careledger.core.merkle.MerkleAppender.empty());
    KeyFile.write(dir.resolve("keys").resolve("admin.key"), admin, passphraseOrNull);
    KeyFile.write(dir.resolve("keys").resolve("node.key"), node, passphraseOrNull);
    for (var e : memberAdmins.entrySet()) {
      KeyFile.write(dir.resolve("keys").resolve(e.getKey() + "-admin.key"), e.getValue(),
          passphraseOrNull);
      e.getValue().destroy();
    }
    Files.write(dir.resolve("genesis.json"), genesis);
    NodeConfig.write(dir, o.nodeId(), o.http());
    Result r = new Result(dir, o.chain(), o.adminId(), admin.keyId(), o.nodeId(), node.keyId());
    admin.destroy();
    node.destroy();
    return r;
  }
}
