package org.careledger.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.careledger.node.NetworkInit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "init", mixinStandardHelpOptions = true,
    description = "Create a new network: one organization with this node, optional member"
        + " organizations, keys, genesis and the node data dir.")
final class InitCommand implements Callable<Integer> {
  @Option(names = "--data", required = true, description = "Data dir to create.")
  Path data;

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
}
