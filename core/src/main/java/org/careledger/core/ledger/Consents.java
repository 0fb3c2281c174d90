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
 * transaction and block time of the grant and, once revoked, of the revocation.
 */
public final class Consents {
  public static final String ACTIVE = "active";
  public static final String REVOKED = "revoked";

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

  /** Every grant of a patient identity, in grant-id order. */
  public static List<JsonNode> grants(Patients.PrefixScan scan, String patient) {
    return Patients.readAll(scan, prefix(patient));
  }
}
