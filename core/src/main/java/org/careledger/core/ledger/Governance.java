package org.careledger.core.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.tx.Refusal;
import org.careledger.core.tx.Transaction;

/**
 * The {@code network} contract: organizations join and leave by a proposal that admins of a
 * majority of the member organizations approve, one vote per organization.
 *
 * <p>State: {@code network/orgs} lists the member organizations' ids, sorted, once the first
 * change has taken effect (until then the members are the genesis's organizations);
 * {@code proposal/<id>} holds each proposal, its approvals and its status ({@code open} or
 * {@code approved}). A proposal takes effect in the transaction that brings it to a majority:
 * an added organization gets its record, its first admin and its node (identities and keys, as
 * in the genesis); a removed one is marked {@code removed}, after which no key of it may sign
 * and its node is no longer a node of the network; a replaced node's identity and key are
 * revoked and the new node of the same organization gets its identity and key.
 */
final class Governance {
  static final String MEMBERS = "network/orgs";

  private Governance() {}

  static String proposalKey(String id) {
    return "proposal/" + id;
  }

  /** The member organizations' ids, sorted. */
  static List<String> members(StateView s, List<String> genesisOrgs) {
    JsonNode n = Membership.readJson(s, MEMBERS);
    if (n == null) {
      return List.copyOf(new TreeSet<>(genesisOrgs));
    }
    List<String> out = new ArrayList<>();
    n.forEach(e -> out.add(e.textValue()));
    return out;
  }

  static Refusal proposeAdd(Command.ProposeAddOrg c, Membership.Identity signer,
      Transaction tx, StateOverlay s, long time, List<String> genesisOrgs) {
    Command.OrgSpec o = c.org();
    if (Membership.organization(s, o.id()) != null) {
      return Refusal.of(Refusal.Reason.CONFLICT, "organization " + o.id() + " already exists");
    }
    for (String id : o.nodeId() == null ? List.of(o.adminId()) : List.of(o.adminId(),
        o.nodeId())) {
      if (Membership.identity(s, id) != null) {
        return Refusal.of(Refusal.Reason.CONFLICT, "identity " + id + " already exists");
      }
    }
    if (o.nodeId() != null && o.nodeId().equals(o.adminId())) {
      return Refusal.of(Refusal.Reason.MALFORMED, "the admin and the node need two identities");
    }
    List<byte[]> keys = o.nodeKey() == null ? List.of(o.adminKey())
        : List.of(o.adminKey(), o.nodeKey());
    for (byte[] k : keys) {
      if (Membership.key(s, Ed25519.keyId(k)) != null) {
        return Refusal.of(Refusal.Reason.CONFLICT,
            "key " + Ed25519.keyId(k) + " is already registered");
      }
    }
    if (o.nodeKey() != null && java.util.Arrays.equals(o.adminKey(), o.nodeKey())) {
      return Refusal.of(Refusal.Reason.MALFORMED, "the admin and the node need two keys");
    }
    ObjectNode p = open(c.id(), "add", o.id(), c.reason(), signer, tx, time);
    p.set("spec", CommandCodec.encodeOrg(o));
    return propose(c.id(), p, signer, s, time, genesisOrgs);
  }

  static Refusal proposeRemove(Command.ProposeRemoveOrg c, Membership.Identity signer,
      Transaction tx, StateOverlay s, long time, List<String> genesisOrgs) {
    List<String> members = members(s, genesisOrgs);
    if (!members.contains(c.org())) {
      return Refusal.of(Refusal.Reason.NOT_FOUND, "organization " + c.org()
          + " is not a member of the network");
    }
    if (members.size() == 1) {
      return Refusal.of(Refusal.Reason.CONFLICT, "the last organization cannot leave");
    }
    ObjectNode p = open(c.id(), "remove", c.org(), c.reason(), signer, tx, time);
    return propose(c.id(), p, signer, s, time, genesisOrgs);
  }

  static Refusal proposeReplaceNode(Command.ProposeReplaceNode c, Membership.Identity signer,
      Transaction tx, StateOverlay s, long time, List<String> genesisOrgs) {
    Membership.Identity old = Membership.identity(s, c.oldNode());
    Refusal r = replaceable(c, old, s, genesisOrgs);
    if (r != null) {
      return r;
    }
    ObjectNode p = open(c.id(), "replace-node", old.org(), c.reason(), signer, tx, time);
    ObjectNode node = p.putObject("node");
    node.put("old", c.oldNode());
    node.put("id", c.nodeId());
    node.put("publicKey", org.careledger.core.crypto.Codec.b64(c.nodeKey()));
    node.put("address", c.nodeAddress());
    return propose(c.id(), p, signer, s, time, genesisOrgs);
  }

  /** Why node {@code old} (null: unknown) cannot be replaced as {@code c} says, or null. */
  private static Refusal replaceable(Command.ProposeReplaceNode c, Membership.Identity old,
      StateView s, List<String> genesisOrgs) {
    if (old == null || old.role() != Role.NODE) {
      return Refusal.of(Refusal.Reason.NOT_FOUND, "no node identity " + c.oldNode());
    }
    if (!old.active()) {
      return Refusal.of(Refusal.Reason.CONFLICT, "node " + c.oldNode() + " is revoked");
    }
    if (!members(s, genesisOrgs).contains(old.org())) {
      return Refusal.of(Refusal.Reason.CONFLICT, "organization " + old.org()
          + " of node " + c.oldNode() + " is not a member of the network");
    }
    if (Membership.identity(s, c.nodeId()) != null) {
      return Refusal.of(Refusal.Reason.CONFLICT, "identity " + c.nodeId()
          + " already exists; a replacement node needs a new id");
    }
    if (Membership.key(s, Ed25519.keyId(c.nodeKey())) != null) {
      return Refusal.of(Refusal.Reason.CONFLICT,
          "key " + Ed25519.keyId(c.nodeKey()) + " is already registered");
    }
    return null;
  }

  private static ObjectNode open(String id, String action, String org, String reason,
      Membership.Identity signer, Transaction tx, long time) {
    ObjectNode p = CanonicalJson.object();
    p.put("id", id);
    p.put("action", action);
    p.put("org", org);
    p.put("reason", reason);
    p.put("proposer", signer.id());
    p.put("tx", tx.idHex());
    p.put("created", time);
    return p;
  }

  private static Refusal propose(String id, ObjectNode p, Membership.Identity signer,
      StateOverlay s, long time, List<String> genesisOrgs) {
    Refusal r = memberAdmin(signer, s, genesisOrgs);
    if (r != null) {
      return r;
    }
    if (s.getOrNull(proposalKey(id)) != null) {
      return Refusal.of(Refusal.Reason.CONFLICT, "proposal " + id + " already exists");
    }
    p.put("status", "open");
    p.putArray("approvals").add(signer.org());
    return settle(p, s, time, genesisOrgs);
  }

  static Refusal approve(Command.ApproveProposal c, Membership.Identity signer, StateOverlay s,
      long time, List<String> genesisOrgs) {
    Refusal r = memberAdmin(signer, s, genesisOrgs);
    if (r != null) {
      return r;
    }
    JsonNode stored = Membership.readJson(s, proposalKey(c.id()));
    if (stored == null) {
      return Refusal.of(Refusal.Reason.NOT_FOUND, "no proposal " + c.id());
    }
    ObjectNode p = (ObjectNode) stored;
    if (!"open".equals(p.get("status").textValue())) {
      return Refusal.of(Refusal.Reason.CONFLICT, "proposal " + c.id() + " is "
          + p.get("status").textValue());
    }
    TreeSet<String> approvals = new TreeSet<>();
    p.get("approvals").forEach(a -> approvals.add(a.textValue()));
    if (!approvals.add(signer.org())) {
      return Refusal.of(Refusal.Reason.DUPLICATE, "organization " + signer.org()
          + " has already approved proposal " + c.id());
    }
    ArrayNode a = p.putArray("approvals");
    approvals.forEach(a::add);
    return settle(p, s, time, genesisOrgs);
  }

  /** Stores the proposal, and carries it out if a majority of the members now approve it. */
  private static Refusal settle(ObjectNode p, StateOverlay s, long time,
      List<String> genesisOrgs) {
    List<String> members = members(s, genesisOrgs);
    long votes = 0;
    for (JsonNode a : p.get("approvals")) {
      if (members.contains(a.textValue())) {
        votes++;
      }
    }
    if (votes * 2 > members.size()) {
      TreeSet<String> next = new TreeSet<>(members);
      String org = p.get("org").textValue();
      if ("add".equals(p.get("action").textValue())) {
        Refusal r = add(CommandCodec.orgSpec(p.get("spec")), s);
        if (r != null) {
          return r;
        }
        next.add(org);
      } else if ("replace-node".equals(p.get("action").textValue())) {
        Refusal r = replaceNode(p.get("node"), s, genesisOrgs);
        if (r != null) {
          return r;
        }
      } else {
        Membership.Organization o = Membership.organization(s, org);
        if (o == null || !members.contains(org)) {
          return Refusal.of(Refusal.Reason.CONFLICT, "organization " + org
              + " is no longer a member");
        }
        Membership.put(s, new Membership.Organization(o.id(), o.name(), Membership.REMOVED));
        next.remove(org);
      }
      ArrayNode list = CanonicalJson.object().arrayNode();
      next.forEach(list::add);
      s.put(MEMBERS, CanonicalJson.canonicalize(list));
      p.put("status", "approved");
      p.put("decided", time);
    }
    s.put(proposalKey(p.get("id").textValue()), CanonicalJson.canonicalize(p));
    return null;
  }

  private static Refusal add(Command.OrgSpec o, StateOverlay s) {
    // checked again: another proposal may have taken an id or key since this one was made
    if (Membership.organization(s, o.id()) != null
        || Membership.identity(s, o.adminId()) != null
        || (o.nodeId() != null && Membership.identity(s, o.nodeId()) != null)
        || Membership.key(s, Ed25519.keyId(o.adminKey())) != null
        || (o.nodeKey() != null && Membership.key(s, Ed25519.keyId(o.nodeKey())) != null)) {
      return Refusal.of(Refusal.Reason.CONFLICT, "organization " + o.id()
          + ", its identities or its keys now exist; the proposal cannot take effect");
    }
    Membership.put(s, new Membership.Organization(o.id(), o.name()));
    put(s, o.adminId(), o.id(), Role.ADMIN, o.adminKey(), null);
    if (o.nodeId() != null) {
      put(s, o.nodeId(), o.id(), Role.NODE, o.nodeKey(), o.nodeAddress());
    }
    return null;
  }

  private static Refusal replaceNode(JsonNode n, StateOverlay s, List<String> genesisOrgs) {
    Command.ProposeReplaceNode c = new Command.ProposeReplaceNode("", n.get("old").textValue(),
        n.get("id").textValue(), org.careledger.core.crypto.Codec.unb64(
            n.get("publicKey").textValue()), n.get("address").textValue(), "");
    // checked again: the node may have been replaced, or the id or key taken, since then
    Membership.Identity old = Membership.identity(s, c.oldNode());
    Refusal r = replaceable(c, old, s, genesisOrgs);
    if (r != null) {
      return Refusal.of(r.reason(), r.detail() + "; the proposal cannot take effect");
    }
    Membership.KeyRecord oldKey = Membership.key(s, old.keyId());
    Membership.put(s, new Membership.KeyRecord(oldKey.keyId(), oldKey.identity(),
        oldKey.publicKey(), Membership.REVOKED));
    Membership.put(s, new Membership.Identity(old.id(), old.org(), old.role(), old.keyId(),
        Membership.REVOKED, old.displayName(), old.address()));
    put(s, c.nodeId(), old.org(), Role.NODE, c.nodeKey(), c.nodeAddress());
    return null;
  }

  private static void put(StateOverlay s, String id, String org, Role role, byte[] key,
      String address) {
    String kid = Ed25519.keyId(key);
    Membership.put(s, new Membership.Identity(id, org, role, kid, Membership.ACTIVE, null,
        address));
    Membership.put(s, new Membership.KeyRecord(kid, id, key, Membership.ACTIVE));
  }

  private static Refusal memberAdmin(Membership.Identity signer, StateView s,
      List<String> genesisOrgs) {
    if (!members(s, genesisOrgs).contains(signer.org())) {
      return Refusal.of(Refusal.Reason.ROLE_NOT_ALLOWED, "organization " + signer.org()
          + " is not a member of the network");
    }
    return null;
  }
}
