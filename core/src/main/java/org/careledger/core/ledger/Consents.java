package org.careledger.core.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.contract.Role;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.tx.Refusal;
import org.careledger.core.tx.Transaction;

/**
 * The consent contract: grants and revocations, each signed by the patient's own key. State:
 * {@code consent/<patient identity>/<grant id>}, the grant as signed plus its status, the
 * transaction and block time of the grant and, once revoked, of the revocation. Practitioners'
 * requests for access: {@code access-request/<patient identity>/<request id>}, open until the
 * patient declines (or grants, which the portal shows beside it).
 */
public final class Consents {
  public static final String ACTIVE = "active";
  public static final String REVOKED = "revoked";
  public static final String OPEN = "open";
  public static final String DECLINED = "declined";

  private Consents() {}

  public static String grantKey(String patient, String grant) {
    return "consent/" + patient + "/" + grant;
  }

  public static String prefix(String patient) {
    return "consent/" + patient + "/";
  }

  static Refusal grant(Command.Grant g, Membership.Identity signer, Transaction tx,
      StateOverlay state, long time) {
    String key = grantKey(signer.id(), g.id());
    if (state.getOrNull(key) != null) {
      return Refusal.of(Refusal.Reason.CONFLICT, "grant " + g.id() + " already exists");
    }
    String[] grantee = g.grantee().split("[:@]");
    switch (grantee[0]) {
      case "identity" -> {
        if (Membership.identity(state, grantee[1]) == null) {
          return Refusal.of(Refusal.Reason.NOT_FOUND, "no identity " + grantee[1]);
        }
      }
      case "org" -> {
        if (Membership.organization(state, grantee[1]) == null) {
          return Refusal.of(Refusal.Reason.NOT_FOUND, "no organization " + grantee[1]);
        }
      }
      default -> {
        try {
          Role.fromWire(grantee[1]);
        } catch (IllegalArgumentException e) {
          return Refusal.of(Refusal.Reason.MALFORMED, e.getMessage());
        }
        if (Membership.organization(state, grantee[2]) == null) {
          return Refusal.of(Refusal.Reason.NOT_FOUND, "no organization " + grantee[2]);
        }
      }
    }
    ObjectNode v = CommandCodec.encode(g);
    v.remove("type");
    v.put("patient", signer.id());
    v.put("status", ACTIVE);
    v.put("tx", tx.idHex());
    v.put("time", time);
    state.put(key, CanonicalJson.canonicalize(v));
    return null;
  }

  static Refusal revoke(Command.RevokeGrant r, Membership.Identity signer, Transaction tx,
      StateOverlay state, long time) {
    String key = grantKey(signer.id(), r.id());
    JsonNode g = Membership.readJson(state, key);
    if (g == null) {
      return Refusal.of(Refusal.Reason.NOT_FOUND,
          "identity " + signer.id() + " has no grant " + r.id());
    }
    if (!ACTIVE.equals(g.get("status").textValue())) {
      return Refusal.of(Refusal.Reason.CONFLICT, "grant " + r.id() + " was already revoked");
    }
    ObjectNode v = ((ObjectNode) g).deepCopy();
    v.put("status", REVOKED);
    v.put("revokedAt", time);
    v.put("revokeTx", tx.idHex());
    state.put(key, CanonicalJson.canonicalize(v));
    return null;
  }

  public static String requestKey(String patient, String request) {
    return "access-request/" + patient + "/" + request;
  }

  /**
   * A practitioner's request for access to a patient's records at a custodian: stored under
   * the patient's identity as {@code open}, and shown in the patient's event list.
   */
  static Refusal request(Command.RequestAccess r, Membership.Identity signer, Transaction tx,
      StateOverlay state, long time) {
    String patient = Patients.owner(state, r.org(), r.patient());
    if (patient == null) {
      return Refusal.of(Refusal.Reason.NOT_FOUND, "no enrolled patient " + r.patient()
          + " at " + r.org());
    }
    if (r.end() <= time) {
      return Refusal.of(Refusal.Reason.MALFORMED, "the request's end is in the past");
    }
    String key = requestKey(patient, r.id());
    if (state.getOrNull(key) != null) {
      return Refusal.of(Refusal.Reason.CONFLICT, "request " + r.id() + " already exists");
    }
    ObjectNode v = CommandCodec.encode(r);
    v.remove("type");
    v.put("requester", signer.id());
    v.put("requesterOrg", signer.org());
    v.put("status", OPEN);
    v.put("time", time);
    v.put("tx", tx.idHex());
    state.put(key, CanonicalJson.canonicalize(v));
    Patients.event(state, patient, "access-requested", signer.org(), tx, time);
    return null;
  }

  /** The patient declines an open request made to them. */
  static Refusal decline(Command.DeclineRequest d, Membership.Identity signer, Transaction tx,
      StateOverlay state, long time) {
    String key = requestKey(signer.id(), d.id());
    JsonNode r = Membership.readJson(state, key);
    if (r == null) {
      return Refusal.of(Refusal.Reason.NOT_FOUND,
          "identity " + signer.id() + " has no request " + d.id());
    }
    if (!OPEN.equals(r.get("status").textValue())) {
      return Refusal.of(Refusal.Reason.CONFLICT, "request " + d.id() + " is not open");
    }
    ObjectNode v = ((ObjectNode) r).deepCopy();
    v.put("status", DECLINED);
    v.put("declinedAt", time);
    v.put("declineTx", tx.idHex());
    state.put(key, CanonicalJson.canonicalize(v));
    return null;
  }

  /** Every access request made to a patient identity, in request-id order. */
  public static List<JsonNode> requests(Patients.PrefixScan scan, String patient) {
    return Patients.readAll(scan, "access-request/" + patient + "/");
  }

  /** Every grant of a patient identity, in grant-id order. */
  public static List<JsonNode> grants(Patients.PrefixScan scan, String patient) {
    return Patients.readAll(scan, prefix(patient));
  }
}
