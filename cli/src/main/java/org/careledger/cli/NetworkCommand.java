package org.careledger.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;
import org.careledger.core.contract.Command;
import org.careledger.node.NetworkInit;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@picocli.CommandLine.Command(name = "network", mixinStandardHelpOptions = true,
    description = "Network governance, by organization admins: propose that an organization"
        + " joins or leaves, approve a proposal, list the members and proposals. A proposal"
        + " takes effect when admins of a majority of the member organizations approved it.",
    subcommands = {NetworkCommand.ProposeAdd.class, NetworkCommand.ProposeRemove.class,
        NetworkCommand.ProposeReplaceNode.class, NetworkCommand.Approve.class,
        NetworkCommand.Proposals.class, NetworkCommand.Members.class,
        NetworkCommand.Leader.class})
final class NetworkCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.err);
  }

  static String newId(String action, String org) {
    return action + "-" + org + "-" + Long.toString(System.currentTimeMillis(), 36);
  }

  static void printOutcome(Options.Client client, String id) throws Exception {
    JsonNode body = client.connect(client.loadKey()).get("/api/v1/network/proposals");
    for (JsonNode p : body.get("proposals")) {
      if (p.get("id").asText().equals(id)) {
        System.out.println("proposal " + id + ": " + p.get("status").asText() + ", approved by "
            + p.get("approvals"));
      }
    }
  }

  @picocli.CommandLine.Command(name = "propose-add", mixinStandardHelpOptions = true,
      description = "Propose that an organization joins, as its org.json describes it (made by"
          + " 'careledger init org' on its machine). Your organization approves it by proposing.")
  static final class ProposeAdd implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--org-file", required = true, description = "The joining organization's"
        + " org.json (or its data dir).")
    Path orgFile;

    @Option(names = "--reason", required = true, description = "Why it joins (on the ledger).")
    String reason;

    @Option(names = "--id", description = "Proposal id (default: add-ORG-TIME).")
    String id;

    @Override
    public Integer call() throws Exception {
      Command.OrgSpec org = NetworkInit.readOrg(orgFile);
      String pid = id != null ? id : newId("add", org.id());
      Submitter.submit(client, new Command.ProposeAddOrg(pid, org, reason), null);
      printOutcome(client, pid);
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "propose-remove", mixinStandardHelpOptions = true,
      description = "Propose that an organization leaves: once approved, none of its keys may"
          + " sign and its node is cut off from the network.")
  static final class ProposeRemove implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--org", required = true, description = "The organization's id.")
    String org;

    @Option(names = "--reason", required = true, description = "Why it leaves (on the ledger).")
    String reason;

    @Option(names = "--id", description = "Proposal id (default: remove-ORG-TIME).")
    String id;

    @Override
    public Integer call() throws Exception {
      String pid = id != null ? id : newId("remove", org);
      Submitter.submit(client, new Command.ProposeRemoveOrg(pid, org, reason), null);
      printOutcome(client, pid);
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "propose-replace-node", mixinStandardHelpOptions = true,
      description = "Propose that an organization's node is replaced by the new node that"
          + " replacement.json describes (made by 'careledger init node'): once approved, the old"
          + " node's key is revoked and the Raft group takes the new node instead.")
  static final class ProposeReplaceNode implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--old", required = true, description = "The node id to replace.")
    String old;

    @Option(names = "--node-file", required = true, description = "The new node's"
        + " replacement.json (or its data dir).")
    Path nodeFile;

    @Option(names = "--reason", required = true,
        description = "Why it is replaced (on the ledger).")
    String reason;

    @Option(names = "--id", description = "Proposal id (default: replace-NODE-TIME).")
    String id;

    @Override
    public Integer call() throws Exception {
      NetworkInit.Replacement r = NetworkInit.readReplacement(nodeFile);
      String pid = id != null ? id : newId("replace", old);
      Submitter.submit(client, new Command.ProposeReplaceNode(pid, old, r.nodeId(), r.nodeKey(),
          r.nodeAddress(), reason), null);
      printOutcome(client, pid);
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "approve", mixinStandardHelpOptions = true,
      description = "Approve a proposal on behalf of your organization.")
  static final class Approve implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--id", required = true, description = "The proposal id.")
    String id;

    @Override
    public Integer call() throws Exception {
      Submitter.submit(client, new Command.ApproveProposal(id), null);
      printOutcome(client, id);
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "members", mixinStandardHelpOptions = true,
      description = "Write the network's current node keys to a members file, for a node that"
          + " joins or replaces a node ('careledger init join --running --members', 'careledger"
          + " init node --members') or for a node that was down while nodes changed (put it in"
          + " its data dir as members.json).")
  static final class Members implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--out", required = true, description = "The file to write.")
    Path out;

    @Override
    public Integer call() throws Exception {
      var api = client.connect(client.loadKey());
      JsonNode network = api.get("/api/v1/network");
      String chain = api.getPublic("/health").get("chain").asText();
      java.util.Map<String, String> nodes = new java.util.TreeMap<>();
      for (JsonNode n : network.get("nodes")) {
        nodes.put(n.get("keyId").asText(), n.path("id").asText());
      }
      NetworkInit.Members m = new NetworkInit.Members(chain, network.get("height").asLong(),
          nodes);
      java.nio.file.Files.writeString(out, NetworkInit.membersJson(m).toPrettyString() + "\n");
      // what was written must read back as a members file
      NetworkInit.readMembers(out);
      String ids = String.join(", ", new java.util.TreeSet<>(nodes.values()));
      System.out.println("wrote " + out + ": " + nodes.size() + (nodes.size() == 1 ? " node ("
          : " nodes (") + ids + ") of chain " + chain + " at height " + m.height());
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "leader", mixinStandardHelpOptions = true,
      description = "Hand the Raft leadership to another node of the group, before maintenance"
          + " on the leader's machine, say (an admin of a member organization).")
  static final class Leader implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--to", required = true, description = "The node id that is to lead.")
    String to;

    @Override
    public Integer call() throws Exception {
      var o = org.careledger.core.json.CanonicalJson.object();
      o.put("node", to);
      JsonNode r = client.connect(client.loadKey()).post("/api/v1/network/leader",
          org.careledger.core.json.CanonicalJson.canonicalize(o));
      System.out.println(r.get("leader").asText() + " leads");
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "proposals", mixinStandardHelpOptions = true,
      description = "The member organizations and every proposal, newest first.")
  static final class Proposals implements Callable<Integer> {
    @Mixin Options.Client client;

    @Override
    public Integer call() throws Exception {
      JsonNode body = client.connect(client.loadKey()).get("/api/v1/network/proposals");
      System.out.println("organizations at height " + body.get("height").asLong() + ":");
      for (JsonNode o : body.get("organizations")) {
        System.out.println("  " + o.get("id").asText() + "  " + o.get("status").asText() + "  "
            + o.get("name").asText());
      }
      System.out.println("proposals:");
      for (JsonNode p : body.get("proposals")) {
        System.out.println("  " + p.get("id").asText() + "  " + p.get("status").asText() + "  "
            + p.get("action").asText() + " " + p.get("org").asText()
            + (p.has("node") ? " (node " + p.get("node").get("old").asText() + " -> "
                + p.get("node").get("id").asText() + " at " + p.get("node").get("address")
                .asText() + ")" : "")
            + "  by " + p.get("proposer").asText() + " on " + Instant.ofEpochMilli(
                p.get("created").asLong()) + "  approved by " + p.get("approvals")
            + "  reason: " + p.get("reason").asText());
      }
      return 0;
    }
  }
}
