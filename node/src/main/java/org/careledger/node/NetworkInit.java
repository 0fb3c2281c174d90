package org.careledger.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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

  /**
   * One organization of a network that is set up across machines: its ids, its node's Raft
   * address (as the other nodes reach it) and its HTTP address.
   */
  public record OrgPlan(String orgId, String orgName, String adminId, String nodeId,
      String raftAddress, String http) {}

  /** The public half of an organization's set-up, shared with the other organizations. */
  public static final String ORG_FILE = "org.json";

  /**
   * Step 1 on each organization's machine: creates its data dir with a new admin key and node
   * key, {@code node.json}, and {@code org.json}, the public description (ids, public keys,
   * Raft address) that it sends to whoever assembles the genesis.
   */
  public static Command.OrgSpec createOrg(Path dir, OrgPlan p, char[] passphraseOrNull)
      throws IOException {
    if (Files.exists(dir.resolve(NodeConfig.FILE)) || Files.exists(dir.resolve(ORG_FILE))) {
      throw new IOException(dir + " already holds a node; refusing to overwrite it");
    }
    NodeConfig.HostPort.parse(p.raftAddress());
    NodeConfig.HostPort.parse(p.http());
    Files.createDirectories(dir.resolve("keys"));
    Ed25519.KeyPair admin = Ed25519.KeyPair.generate();
    Ed25519.KeyPair node = Ed25519.KeyPair.generate();
    Command.OrgSpec spec = new Command.OrgSpec(p.orgId(), p.orgName(), p.adminId(),
        admin.publicKey(), p.nodeId(), node.publicKey(), p.raftAddress());
    // checks the ids and names exactly as the genesis will
    orgSpec(orgJson(spec));
    KeyFile.write(dir.resolve("keys").resolve("admin.key"), admin, passphraseOrNull);
    KeyFile.write(dir.resolve("keys").resolve("node.key"), node, passphraseOrNull);
    admin.destroy();
    node.destroy();
    NodeConfig.write(dir, p.nodeId(), p.http());
    Files.writeString(dir.resolve(ORG_FILE), orgJson(spec).toPrettyString() + "\n");
    return spec;
  }

  /** The public description of an organization, as in the genesis command. */
  public static com.fasterxml.jackson.databind.node.ObjectNode orgJson(Command.OrgSpec spec) {
    return (com.fasterxml.jackson.databind.node.ObjectNode) CommandCodec.encode(
        new Command.Genesis(List.of(spec))).get("organizations").get(0);
  }

  /** Reads an organization's public description; IllegalArgumentException if it is invalid. */
  public static Command.OrgSpec orgSpec(com.fasterxml.jackson.databind.JsonNode json) {
    com.fasterxml.jackson.databind.node.ObjectNode cmd =
        org.careledger.core.json.CanonicalJson.object();
    cmd.put("type", "genesis");
    cmd.putArray("organizations").add(json);
    try {
      Command.Genesis g = (Command.Genesis) CommandCodec.decode(CommandCodec.GENESIS, cmd);
      if (g.organizations().get(0).nodeId() == null) {
        throw new IllegalArgumentException("an organization of the network must run a node");
      }
      return g.organizations().get(0);
    } catch (CommandCodec.CommandException e) {
      throw new IllegalArgumentException(e.getMessage());
    }
  }

  /** Reads {@code org.json} of a data dir or a file sent by another organization. */
  public static Command.OrgSpec readOrg(Path file) throws IOException {
    Path f = Files.isDirectory(file) ? file.resolve(ORG_FILE) : file;
    try {
      return orgSpec(org.careledger.core.json.CanonicalJson.parse(Files.readAllBytes(f)));
    } catch (org.careledger.core.json.CanonicalJson.InvalidJsonException
        | IllegalArgumentException e) {
      throw new IOException(f + " is not an organization description: " + e.getMessage());
    }
  }

  /**
   * Step 2, on the first organization's machine: the genesis of a network of this organization
   * (first) and {@code others}, signed with this organization's admin key, written to
   * {@code dir/genesis.json}. Returns its bytes, to be sent to the other organizations.
   */
  public static byte[] genesis(Path dir, String chain, List<Command.OrgSpec> others,
      char[] passphraseOrNull, long now) throws IOException {
    if (Files.exists(dir.resolve("genesis.json"))) {
      throw new IOException(dir + " already has a genesis; refusing to overwrite it");
    }
    Command.OrgSpec mine = readOrg(dir);
    List<Command.OrgSpec> orgs = new java.util.ArrayList<>();
    orgs.add(mine);
    orgs.addAll(others);
    Ed25519.KeyPair admin = KeyFile.read(dir.resolve("keys").resolve("admin.key"),
        passphraseOrNull);
    try {
      if (!java.util.Arrays.equals(admin.publicKey(), mine.adminKey())) {
        throw new IOException("keys/admin.key does not match " + ORG_FILE);
      }
      byte[] genesis = TxCodec.sign(TxCodec.payload(chain, admin.keyId(), "genesis-" + now,
          now, now + 60_000, CommandCodec.GENESIS,
          CommandCodec.encode(new Command.Genesis(List.copyOf(orgs)))), admin);
      try {
        org.careledger.core.ledger.Ledger.genesis(genesis,
            org.careledger.core.merkle.MerkleAppender.empty());
      } catch (IllegalArgumentException e) {
        throw new IOException("the genesis would be invalid: " + e.getMessage());
      }
      Files.write(dir.resolve("genesis.json"), genesis);
      return genesis;
    } finally {
      admin.destroy();
    }
  }

  /**
   * Step 3, on every other organization's machine: checks that {@code genesis} is valid and
   * lists this organization exactly as its {@code org.json} describes it, then installs it.
   */
  public static String join(Path dir, byte[] genesis) throws IOException {
    if (Files.exists(dir.resolve("genesis.json"))) {
      throw new IOException(dir + " already has a genesis; refusing to overwrite it");
    }
    Command.OrgSpec mine = readOrg(dir);
    org.careledger.core.ledger.Ledger.Genesis g = checkedGenesis(genesis);
    boolean listed = g.command().organizations().stream().anyMatch(o ->
        orgJson(o).equals(orgJson(mine)));
    if (!listed) {
      throw new IOException("the genesis does not list organization " + mine.id()
          + " exactly as " + ORG_FILE + " describes it (ids, keys, address)");
    }
    Files.write(dir.resolve("genesis.json"), genesis);
    return g.ledger().chain();
  }

  /**
   * Joining a network that is already running: checks that {@code genesis} is valid and does
   * not list this organization (then {@link #join} applies), installs it, and writes this
   * node's Raft address from {@code org.json} into {@code node.json} as {@code raft-address}.
   * The node can start at once: it stays outside the Raft group until admins of a majority of
   * the member organizations approved a proposal to add this organization. A members file
   * ({@link Members}), when given, is checked and installed too.
   */
  public static String joinRunning(Path dir, byte[] genesis, Path membersOrNull)
      throws IOException {
    if (Files.exists(dir.resolve("genesis.json"))) {
      throw new IOException(dir + " already has a genesis; refusing to overwrite it");
    }
    Command.OrgSpec mine = readOrg(dir);
    org.careledger.core.ledger.Ledger.Genesis g = checkedGenesis(genesis);
    if (g.command().organizations().stream().anyMatch(o -> o.id().equals(mine.id())
        || mine.nodeId().equals(o.nodeId()))) {
      throw new IOException("the genesis already lists organization " + mine.id() + " or node "
          + mine.nodeId() + "; use 'careledger init join' without --running");
    }
    Members members = membersOrNull == null ? null
        : checkedMembers(membersOrNull, g.ledger().chain());
    writeRaftAddress(dir, mine.nodeAddress());
    writeMembers(dir, members);
    Files.write(dir.resolve("genesis.json"), genesis);
    return g.ledger().chain();
  }

  /**
   * The public description of a node made to replace an organization's node:
   * {@code {"org", "node": {"id", "publicKey", "address"}}}, in {@value #REPLACEMENT_FILE}.
   */
  public record Replacement(String org, String nodeId, byte[] nodeKey, String nodeAddress) {}

  public static final String REPLACEMENT_FILE = "replacement.json";

  /**
   * A new node for an organization of a running network, to replace its node (a node that lost
   * its Raft directory cannot rejoin under its old id, and a node whose key leaked must not):
   * creates {@code dir} with a new node key, {@code node.json} (with {@code raft-address}),
   * the network's {@code genesis} (checked), the members file when given, and
   * {@value #REPLACEMENT_FILE}, which an admin proposes with
   * {@code careledger network propose-replace-node}.
   */
  public static Replacement createReplacement(Path dir, String orgId, String nodeId,
      String raftAddress, String http, byte[] genesis, Path membersOrNull,
      char[] passphraseOrNull) throws IOException {
    if (Files.exists(dir.resolve(NodeConfig.FILE)) || Files.exists(dir.resolve(ORG_FILE))
        || Files.exists(dir.resolve(REPLACEMENT_FILE))) {
      throw new IOException(dir + " already holds a node; refusing to overwrite it");
    }
    NodeConfig.HostPort.parse(raftAddress);
    NodeConfig.HostPort.parse(http);
    org.careledger.core.ledger.Ledger.Genesis g = checkedGenesis(genesis);
    if (g.command().organizations().stream().anyMatch(o -> nodeId.equals(o.nodeId())
        || nodeId.equals(o.adminId()))) {
      throw new IOException("the genesis already has an identity " + nodeId
          + "; a replacement node needs a new id");
    }
    Members members = membersOrNull == null ? null
        : checkedMembers(membersOrNull, g.ledger().chain());
    Ed25519.KeyPair node = Ed25519.KeyPair.generate();
    Replacement r = new Replacement(orgId, nodeId, node.publicKey(), raftAddress);
    // checks the ids and the address exactly as the proposal will
    readReplacement(replacementJson(r));
    Files.createDirectories(dir.resolve("keys"));
    KeyFile.write(dir.resolve("keys").resolve("node.key"), node, passphraseOrNull);
    node.destroy();
    NodeConfig.write(dir, nodeId, http);
    writeRaftAddress(dir, raftAddress);
    writeMembers(dir, members);
    Files.write(dir.resolve("genesis.json"), genesis);
    Files.writeString(dir.resolve(REPLACEMENT_FILE), replacementJson(r).toPrettyString() + "\n");
    return r;
  }

  /**
   * A node's data dir whose vault a replacement node of the same organization takes over: the
   * replaced node's, stopped, or a backup of it.
   */
  public record VaultSource(Path dir, String nodeId) {}

  /**
   * Checks, without writing anything, that {@code old} holds a vault of organization
   * {@code orgId} in the network of {@code genesis}, and that {@code passphraseOrNull} opens its
   * vault keys (the new node's keys are written under the same passphrase).
   */
  public static VaultSource checkVaultSource(Path old, String orgId, byte[] genesis,
      char[] passphraseOrNull) throws IOException {
    Path keys = old.resolve("keys").resolve("vault.keys");
    if (!Files.isRegularFile(keys) || !Files.isDirectory(old.resolve("ledger"))
        || !Files.isRegularFile(old.resolve("genesis.json"))) {
      throw new IOException(old + " is not a node's data dir with a vault (keys/vault.keys,"
          + " ledger/ and genesis.json)");
    }
    if (!java.util.Arrays.equals(Files.readAllBytes(old.resolve("genesis.json")), genesis)) {
      throw new IOException("the vault in " + old + " belongs to another network (its"
          + " genesis.json differs)");
    }
    if (org.careledger.node.store.LedgerStore.inUse(old.resolve("ledger"))) {
      throw new IOException("the node of " + old + " is running (its ledger is locked); stop"
          + " it first, or give a backup of it (careledger backup)");
    }
    String nodeId = NodeConfig.load(old, null).nodeId();
    try (org.careledger.node.store.LedgerStore s =
        org.careledger.node.store.LedgerStore.openReadOnly(old.resolve("ledger"))) {
      org.careledger.core.ledger.Membership.Identity node =
          org.careledger.core.ledger.Membership.identity(s.state(), nodeId);
      if (node == null || !orgId.equals(node.org())) {
        throw new IOException("the vault in " + old + " is not organization " + orgId
            + "'s (its node " + nodeId + " is not a node of " + orgId + ")");
      }
    }
    // opens the keys: a wrong passphrase or a damaged file is refused here
    org.careledger.node.vault.Vault.open(keys, passphraseOrNull);
    return new VaultSource(old, nodeId);
  }

  /**
   * Gives the new node in {@code dir} the vault of {@code src}: the organization's vault keys
   * and every row of the vault and of the FHIR index. The records keep their pseudonyms, so the
   * commitments on the ledger still match them; erasures the copy predates are applied again
   * as the node catches up (docs/operations.md, "Replacing a node"). Returns the number of
   * vault entries (encrypted record versions) it copied.
   */
  public static long adoptVault(Path dir, VaultSource src) throws IOException {
    long[] entries = new long[1];
    Files.createDirectories(dir.resolve("keys"));
    Files.copy(src.dir().resolve("keys").resolve("vault.keys"),
        dir.resolve("keys").resolve("vault.keys"),
        java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
    try (org.careledger.node.store.LedgerStore from =
            org.careledger.node.store.LedgerStore.openReadOnly(src.dir().resolve("ledger"));
        org.careledger.node.store.LedgerStore to =
            org.careledger.node.store.LedgerStore.open(dir.resolve("ledger"))) {
      for (var family : org.careledger.node.store.LedgerStore.PrivateFamily.values()) {
        from.rewritePrivate(family, to, (k, v) -> {
          if (family == org.careledger.node.store.LedgerStore.PrivateFamily.VAULT) {
            entries[0]++;
          }
          return v;
        });
      }
    }
    return entries[0];
  }

  static com.fasterxml.jackson.databind.node.ObjectNode replacementJson(Replacement r) {
    com.fasterxml.jackson.databind.node.ObjectNode o =
        org.careledger.core.json.CanonicalJson.object();
    o.put("org", r.org());
    com.fasterxml.jackson.databind.node.ObjectNode node = o.putObject("node");
    node.put("id", r.nodeId());
    node.put("publicKey", org.careledger.core.crypto.Codec.b64(r.nodeKey()));
    node.put("address", r.nodeAddress());
    return o;
  }

  private static Replacement readReplacement(com.fasterxml.jackson.databind.JsonNode json) {
    if (json == null || !json.isObject() || json.size() != 2 || !json.has("org")
        || !json.has("node")) {
      throw new IllegalArgumentException("expected {\"org\", \"node\"}");
    }
    // the node part is checked exactly as the proposal's
    com.fasterxml.jackson.databind.node.ObjectNode cmd =
        org.careledger.core.json.CanonicalJson.object();
    cmd.put("type", "propose-replace-node");
    cmd.put("id", "check");
    cmd.put("oldNode", json.get("org").isTextual() ? json.get("org").textValue() : "");
    cmd.set("node", json.get("node"));
    cmd.put("reason", "check");
    try {
      Command.ProposeReplaceNode c = (Command.ProposeReplaceNode) CommandCodec.decode(
          CommandCodec.NETWORK, cmd);
      return new Replacement(c.oldNode(), c.nodeId(), c.nodeKey(), c.nodeAddress());
    } catch (CommandCodec.CommandException e) {
      throw new IllegalArgumentException(e.getMessage().replace("oldNode", "org"));
    }
  }

  /** Reads {@value #REPLACEMENT_FILE} of a data dir, or such a file sent by an organization. */
  public static Replacement readReplacement(Path file) throws IOException {
    Path f = Files.isDirectory(file) ? file.resolve(REPLACEMENT_FILE) : file;
    try {
      return readReplacement(org.careledger.core.json.CanonicalJson.parse(
          Files.readAllBytes(f)));
    } catch (org.careledger.core.json.CanonicalJson.InvalidJsonException
        | IllegalArgumentException e) {
      throw new IOException(f + " is not a replacement node's description: " + e.getMessage());
    }
  }

  /**
   * The network's active node keys at a height, as an admin of a member exported them
   * ({@code careledger network members}): {@code {"chain", "height", "nodes": [{"id",
   * "keyId"}]}}, in {@value #MEMBERS_FILE}. A node whose ledger is below that height (a new
   * node starts from the genesis; a node that was down missed the changes) also accepts these
   * keys at its Raft port until its own ledger reaches the height; from then on its ledger
   * alone decides. The operator takes the file from a member as they take the genesis.
   */
  public record Members(String chain, long height, Map<String, String> nodes) {}

  public static final String MEMBERS_FILE = "members.json";
  private static final java.util.regex.Pattern KEY_ID =
      java.util.regex.Pattern.compile("[0-9a-f]{32}");

  public static com.fasterxml.jackson.databind.node.ObjectNode membersJson(Members m) {
    com.fasterxml.jackson.databind.node.ObjectNode o =
        org.careledger.core.json.CanonicalJson.object();
    o.put("chain", m.chain());
    o.put("height", m.height());
    var nodes = o.putArray("nodes");
    m.nodes().forEach((keyId, id) -> nodes.addObject().put("id", id).put("keyId", keyId));
    return o;
  }

  /** Reads a members file; a one-line reason when it is not one. */
  public static Members readMembers(Path file) throws IOException {
    com.fasterxml.jackson.databind.JsonNode j;
    try {
      j = org.careledger.core.json.CanonicalJson.parse(Files.readAllBytes(file));
    } catch (org.careledger.core.json.CanonicalJson.InvalidJsonException e) {
      throw new IOException(file + " is not a members file: not JSON");
    }
    if (!j.isObject() || !j.path("chain").isTextual() || !j.path("height").canConvertToLong()
        || j.path("height").asLong() < 0 || !j.path("nodes").isArray()
        || j.path("nodes").isEmpty()) {
      throw new IOException(file + " is not a members file: expected {\"chain\", \"height\","
          + " \"nodes\": [{\"id\", \"keyId\"}]}");
    }
    Map<String, String> nodes = new java.util.TreeMap<>();
    for (com.fasterxml.jackson.databind.JsonNode n : j.get("nodes")) {
      String keyId = n.path("keyId").asText("");
      if (!KEY_ID.matcher(keyId).matches() || !n.path("id").isTextual()) {
        throw new IOException(file + " is not a members file: a node needs an id and a keyId"
            + " of 32 hex digits");
      }
      nodes.put(keyId, n.get("id").textValue());
    }
    return new Members(j.get("chain").textValue(), j.get("height").asLong(), nodes);
  }

  /** Reads a members file and checks that it is of this genesis's chain. */
  public static Members checkedMembers(Path file, String chain) throws IOException {
    Members m = readMembers(file);
    if (!m.chain().equals(chain)) {
      throw new IOException(file + " is of chain " + m.chain() + ", not of this network's "
          + chain);
    }
    return m;
  }

  private static void writeMembers(Path dir, Members membersOrNull) throws IOException {
    if (membersOrNull != null) {
      Files.writeString(dir.resolve(MEMBERS_FILE), membersJson(membersOrNull).toPrettyString()
          + "\n");
    }
  }

  /** Sets {@code raft-address} in the node.json of {@code dir}: a node not in the genesis. */
  private static void writeRaftAddress(Path dir, String address) throws IOException {
    Path f = dir.resolve(NodeConfig.FILE);
    com.fasterxml.jackson.databind.node.ObjectNode o;
    try {
      o = (com.fasterxml.jackson.databind.node.ObjectNode)
          org.careledger.core.json.CanonicalJson.parse(Files.readAllBytes(f));
    } catch (org.careledger.core.json.CanonicalJson.InvalidJsonException e) {
      throw new IOException(f + " is not valid JSON");
    }
    o.put("raft-address", address);
    Files.writeString(f, o.toPrettyString() + "\n");
  }

  private static org.careledger.core.ledger.Ledger.Genesis checkedGenesis(byte[] genesis)
      throws IOException {
    try {
      return org.careledger.core.ledger.Ledger.genesis(genesis,
          org.careledger.core.merkle.MerkleAppender.empty());
    } catch (IllegalArgumentException e) {
      throw new IOException("not a valid genesis: " + e.getMessage());
    }
  }

  /** A TCP port on {@code host} that is free right now (for tests and benchmarks). */
  public static int freePort(String host) throws IOException {
    // below Linux's ephemeral range (32768 and up), from which the kernel also picks the local
    // ports of outgoing connections: a port from there can be taken by one of those between
    // now and the node's bind (seen as "Failed to bind" when several nodes start at once)
    java.net.InetAddress address = java.net.InetAddress.getByName(host);
    for (int attempt = 0; attempt < 500; attempt++) {
      int port = 20_000 + java.util.concurrent.ThreadLocalRandom.current().nextInt(12_000);
      try (java.net.ServerSocket s = new java.net.ServerSocket(port, 1, address)) {
        return port;
      } catch (java.net.BindException e) {
        // taken: try another
      }
    }
    throw new IOException("no free TCP port on " + host + " between 20000 and 31999");
  }

  /**
   * A whole network on one machine (for trying it out and for tests): one data dir per
   * organization under {@code root}, named by organization id, set up with the same three
   * steps as across machines.
   */
  public static List<Path> network(Path root, String chain, List<OrgPlan> plans,
      char[] passphraseOrNull, long now) throws IOException {
    if (plans.isEmpty()) {
      throw new IllegalArgumentException("a network needs at least one organization");
    }
    List<Path> dirs = new java.util.ArrayList<>();
    List<Command.OrgSpec> specs = new java.util.ArrayList<>();
    for (OrgPlan p : plans) {
      Path d = root.resolve(p.orgId());
      specs.add(createOrg(d, p, passphraseOrNull));
      dirs.add(d);
    }
    byte[] g = genesis(dirs.get(0), chain, specs.subList(1, specs.size()), passphraseOrNull, now);
    for (Path d : dirs.subList(1, dirs.size())) {
      join(d, g);
    }
    // each node's portal reaches the others (a patient's records across organizations)
    for (int i = 0; i < plans.size(); i++) {
      java.util.Map<String, String> urls = new java.util.TreeMap<>();
      for (OrgPlan other : plans) {
        if (other != plans.get(i)) {
          urls.put(other.orgId(), "http://" + other.http());
        }
      }
      NodeConfig.writeNetworkUrls(dirs.get(i), urls);
    }
    return dirs;
  }

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
