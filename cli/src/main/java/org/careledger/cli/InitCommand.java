package org.careledger.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.careledger.core.contract.Command.OrgSpec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.NetworkInit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "init", mixinStandardHelpOptions = true,
    description = {"Create a new network.",
        "With --data: one organization with this node (and optional member organizations"
            + " without nodes).",
        "With --network DIR --orgs N: N organizations, each with its own node and data dir"
            + " DIR/orgK, on 127.0.0.K of this machine.",
        "Across machines: 'init org' on each machine, 'init genesis' on the first, 'init join'"
            + " on the others.",
        "A new node for an organization of a running network, replacing its node: 'init node'."},
    subcommands = {InitCommand.Org.class, InitCommand.Genesis.class, InitCommand.Join.class,
        InitCommand.Node.class})
final class InitCommand implements Callable<Integer> {
  @Option(names = "--data", description = "Data dir to create (one-organization network).")
  Path data;

  @Option(names = "--network", description = "Folder for the data dirs of a whole network on"
      + " this machine (with --orgs).")
  Path network;

  @Option(names = "--orgs", defaultValue = "3",
      description = "With --network: the number of organizations, each running a node"
          + " (default: ${DEFAULT-VALUE}).")
  int orgs;

  @Option(names = "--http-port", defaultValue = "8080",
      description = "With --network: the API port of every node, on its own 127.0.0.K address"
          + " (default: ${DEFAULT-VALUE}).")
  int httpPort;

  @Option(names = "--raft-port", defaultValue = "9090",
      description = "With --network: the Raft port of every node (default: ${DEFAULT-VALUE}).")
  int raftPort;

  @Option(names = "--chain", defaultValue = "careledger-dev",
      description = "Chain id (default: ${DEFAULT-VALUE}).")
  String chain;

  @Option(names = "--org", defaultValue = "org1",
      description = "Organization id (default: ${DEFAULT-VALUE}).")
  String org;

  @Option(names = "--org-name", defaultValue = "Example Hospital",
      description = "Organization name (default: ${DEFAULT-VALUE}).")
  String orgName;

  @Option(names = "--admin", defaultValue = "admin",
      description = "Identity id of the organization's first admin (default: ${DEFAULT-VALUE}).")
  String admin;

  @Option(names = "--node-id", defaultValue = "node1",
      description = "This node's identity id (default: ${DEFAULT-VALUE}).")
  String nodeId;

  @Option(names = "--raft", defaultValue = "127.0.0.1:9090",
      description = "HOST:PORT of this node's Raft endpoint (default: ${DEFAULT-VALUE}).")
  String raft;

  @Option(names = "--http", defaultValue = "127.0.0.1:8080",
      description = "HOST:PORT of this node's API (default: ${DEFAULT-VALUE}).")
  String http;

  @Option(names = "--member-org", paramLabel = "ID:NAME",
      description = "A further member organization that uses this node (repeatable); its admin"
          + " key is written to keys/ID-admin.key.")
  java.util.List<String> members = new java.util.ArrayList<>();

  @Mixin Options.Passphrase passphrase;

  @Override
  public Integer call() throws Exception {
    if ((data == null) == (network == null)) {
      throw new IllegalArgumentException("give either --data DIR (one organization) or"
          + " --network DIR --orgs N");
    }
    if (network != null) {
      return network();
    }
    java.util.List<NetworkInit.Member> ms = new java.util.ArrayList<>();
    for (String m : members) {
      int i = m.indexOf(':');
      if (i <= 0 || i == m.length() - 1) {
        throw new IllegalArgumentException("--member-org takes ID:NAME, e.g. clinic-b:'Clinic B'");
      }
      ms.add(new NetworkInit.Member(m.substring(0, i), m.substring(i + 1)));
    }
    NetworkInit.Result r = NetworkInit.init(data, new NetworkInit.Options(chain, org, orgName,
        admin, nodeId, raft, http, ms), passphrase.orNull(), System.currentTimeMillis());
    System.out.println("created chain " + r.chain() + " in " + r.dataDir());
    System.out.println("  admin " + r.adminId() + "  key " + r.adminKeyId() + "  -> "
        + data.resolve("keys/admin.key"));
    System.out.println("  node  " + r.nodeId() + "  key " + r.nodeKeyId() + "  -> "
        + data.resolve("keys/node.key"));
    for (NetworkInit.Member m : ms) {
      System.out.println("  member " + m.id() + "  admin " + m.id() + "-admin  -> "
          + data.resolve("keys/" + m.id() + "-admin.key"));
    }
    System.out.println("start it with: careledger node --data " + data);
    return 0;
  }

  private int network() throws Exception {
    if (orgs < 1 || orgs > 9) {
      throw new IllegalArgumentException("--orgs must be 1..9 on one machine");
    }
    java.util.List<NetworkInit.OrgPlan> plans = new java.util.ArrayList<>();
    for (int k = 1; k <= orgs; k++) {
      String host = "127.0.0." + k;
      plans.add(new NetworkInit.OrgPlan("org" + k, k == 1 ? orgName : "Organization " + k,
          "admin" + k, "node" + k, host + ":" + raftPort, host + ":" + httpPort));
    }
    java.util.List<Path> dirs = NetworkInit.network(network, chain, plans, passphrase.orNull(),
        System.currentTimeMillis());
    System.out.println("created chain " + chain + " with " + orgs + " organizations in "
        + network);
    for (int k = 0; k < dirs.size(); k++) {
      NetworkInit.OrgPlan p = plans.get(k);
      System.out.println("  " + p.orgId() + ": node " + p.nodeId() + " raft " + p.raftAddress()
          + " api http://" + p.http() + "  admin key " + dirs.get(k).resolve("keys/admin.key"));
    }
    System.out.println("start each node in its own terminal, e.g.: careledger node --data "
        + dirs.get(0));
    return 0;
  }

  @Command(name = "org", mixinStandardHelpOptions = true,
      description = "Step 1 of a network across machines, on each organization's machine:"
          + " make its keys and data dir, and org.json, its public description to send to the"
          + " organization that assembles the genesis.")
  static final class Org implements Callable<Integer> {
    @Option(names = "--data", required = true, description = "Data dir to create.")
    Path data;

    @Option(names = "--org", required = true, description = "Organization id.")
    String org;

    @Option(names = "--org-name", required = true, description = "Organization name.")
    String orgName;

    @Option(names = "--admin", defaultValue = "admin",
        description = "Identity id of the organization's first admin (default: ${DEFAULT-VALUE};"
            + " identity ids are unique across the network).")
    String admin;

    @Option(names = "--node-id", required = true, description = "This node's identity id.")
    String nodeId;

    @Option(names = "--raft", required = true,
        description = "HOST:PORT where the other nodes reach this node's Raft endpoint.")
    String raft;

    @Option(names = "--http", defaultValue = "127.0.0.1:8080",
        description = "HOST:PORT of this node's API (default: ${DEFAULT-VALUE}).")
    String http;

    @Mixin Options.Passphrase passphrase;

    @Override
    public Integer call() throws Exception {
      var spec = NetworkInit.createOrg(data, new NetworkInit.OrgPlan(org, orgName, admin,
          nodeId, raft, http), passphrase.orNull());
      System.out.println("created organization " + spec.id() + " in " + data);
      System.out.println("  admin " + spec.adminId() + "  key "
          + Ed25519.keyId(spec.adminKey()));
      System.out.println("  node  " + spec.nodeId() + "  key "
          + Ed25519.keyId(spec.nodeKey()) + "  raft "
          + spec.nodeAddress());
      System.out.println("send " + data.resolve(NetworkInit.ORG_FILE)
          + " (public keys only) to the organization that assembles the genesis; to join a"
          + " network that is already running, take its genesis.json and run 'careledger init"
          + " join --running', then send org.json to one of its admins");
      return 0;
    }
  }

  @Command(name = "genesis", mixinStandardHelpOptions = true,
      description = "Step 2, on the first organization's machine: write the genesis of a network"
          + " of this organization and the others' org.json files, signed with this"
          + " organization's admin key.")
  static final class Genesis implements Callable<Integer> {
    @Option(names = "--data", required = true, description = "This organization's data dir.")
    Path data;

    @Option(names = "--chain", defaultValue = "careledger-dev",
        description = "Chain id (default: ${DEFAULT-VALUE}).")
    String chain;

    @Option(names = "--member", required = true, paramLabel = "ORG_JSON",
        description = "Another organization's org.json (repeatable).")
    java.util.List<Path> members;

    @Mixin Options.Passphrase passphrase;

    @Override
    public Integer call() throws Exception {
      java.util.List<OrgSpec> others =
          new java.util.ArrayList<>();
      for (Path m : members) {
        others.add(NetworkInit.readOrg(m));
      }
      NetworkInit.genesis(data, chain, others, passphrase.orNull(), System.currentTimeMillis());
      System.out.println("wrote " + data.resolve("genesis.json") + " for chain " + chain + " with "
          + (others.size() + 1) + " organizations");
      System.out.println("send it to every other organization for 'careledger init join'");
      return 0;
    }
  }

  @Command(name = "join", mixinStandardHelpOptions = true,
      description = "Step 3, on every other organization's machine: check that the genesis lists"
          + " this organization exactly as its org.json says, and install it.")
  static final class Join implements Callable<Integer> {
    @Option(names = "--data", required = true, description = "This organization's data dir.")
    Path data;

    @Option(names = "--genesis", required = true, description = "The genesis.json received.")
    Path genesis;

    @Option(names = "--running", description = "Join a network that is already running (the"
        + " genesis does not list this organization): the network's admins then vote on it"
        + " with 'careledger network propose-add' and 'approve'.")
    boolean running;

    @Option(names = "--members", description = "With --running: the network's current node"
        + " keys, from 'careledger network members' on a member. Needed when a node that is not"
        + " in the genesis may lead while this node catches up.")
    Path members;

    @Override
    public Integer call() throws Exception {
      byte[] g = java.nio.file.Files.readAllBytes(genesis);
      if (members != null && !running) {
        throw new IllegalArgumentException("--members goes with --running: a genesis member"
            + " starts with the genesis's nodes");
      }
      if (running) {
        String chain = NetworkInit.joinRunning(data, g, members);
        System.out.println("ready to join chain " + chain + ". Send " + data.resolve(
            NetworkInit.ORG_FILE) + " to an admin of the network, who proposes it with"
            + " 'careledger network propose-add --org-file org.json --reason ...'.");
        System.out.println("Start the node now or later with: careledger node --data " + data
            + "; it replays the ledger and joins the Raft group once a majority of the"
            + " organizations approved.");
        return 0;
      }
      String chain = NetworkInit.join(data, g);
      System.out.println("joined chain " + chain + "; start the node with: careledger node"
          + " --data " + data);
      return 0;
    }
  }

  @Command(name = "node", mixinStandardHelpOptions = true,
      description = "Make the data dir of a new node for an organization of a running network,"
          + " to replace its node (one that lost its raft/ directory, or whose key leaked): a new"
          + " node key and id, node.json, the network's genesis, and replacement.json for an"
          + " admin to propose with 'careledger network propose-replace-node'.")
  static final class Node implements Callable<Integer> {
    @Option(names = "--data", required = true, description = "Data dir to create.")
    Path data;

    @Option(names = "--org", required = true, description = "The organization's id.")
    String org;

    @Option(names = "--node-id", required = true,
        description = "The new node's identity id; it must differ from the replaced node's.")
    String nodeId;

    @Option(names = "--raft", required = true,
        description = "HOST:PORT where the other nodes reach this node's Raft endpoint.")
    String raft;

    @Option(names = "--http", defaultValue = "127.0.0.1:8080",
        description = "HOST:PORT of this node's API (default: ${DEFAULT-VALUE}).")
    String http;

    @Option(names = "--genesis", required = true,
        description = "The network's genesis.json (from any member).")
    Path genesis;

    @Option(names = "--members", description = "The network's current node keys, from"
        + " 'careledger network members' on a member. Needed when a node that is not in the"
        + " genesis may lead while this node catches up.")
    Path members;

    @Option(names = "--vault-from", paramLabel = "DIR", description = "The replaced node's"
        + " data dir, stopped, or a backup of it: the new node takes over its vault (the"
        + " organization's vault keys, the encrypted records and their index). Without it the"
        + " new node's vault starts empty.")
    Path vaultFrom;

    @Mixin Options.Passphrase passphrase;

    @Override
    public Integer call() throws Exception {
      byte[] genesisBytes = java.nio.file.Files.readAllBytes(genesis);
      char[] pass = passphrase.orNull();
      // checked before anything is written
      NetworkInit.VaultSource vault = vaultFrom == null ? null
          : NetworkInit.checkVaultSource(vaultFrom, org, genesisBytes, pass);
      NetworkInit.Replacement r = NetworkInit.createReplacement(data, org, nodeId, raft, http,
          genesisBytes, members, pass);
      System.out.println("created node " + r.nodeId() + " of organization " + r.org() + " in "
          + data + "  key " + Ed25519.keyId(r.nodeKey()) + "  raft " + r.nodeAddress());
      if (vault != null) {
        long entries = NetworkInit.adoptVault(data, vault);
        System.out.println("took over the vault of node " + vault.nodeId() + ": "
            + entries + " encrypted record versions and their index");
      }
      System.out.println("an admin proposes it with 'careledger network propose-replace-node"
          + " --old OLD_NODE_ID --node-file " + data.resolve(NetworkInit.REPLACEMENT_FILE)
          + " --reason ...'; start it now or later with: careledger node --data " + data);
      return 0;
    }
  }
}
