package org.careledger.core.ledger;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.tx.Refusal;
import org.careledger.core.tx.Transaction;

/**
 * The access contract: every decision of a node's gatekeeper, allowed or refused. Each event
 * is kept under its patient's pseudonym ({@code none} when no patient was identified):
 * {@code access/<pseudonym>/<time>/<tx>/<index>}, so a patient's events are one range.
 */
public final class AccessLog {
  public static final String NO_PATIENT = "none";

  private AccessLog() {}

  public static String prefix(String pseudonymOrEmpty) {
    return "access/" + (pseudonymOrEmpty.isEmpty() ? NO_PATIENT : pseudonymOrEmpty) + "/";
  }

  static Refusal log(Command.LogAccess l, Membership.Identity signer, Transaction tx,
      StateOverlay state, long time) {
    for (int i = 0; i < l.events().size(); i++) {
      Command.AccessEvent e = l.events().get(i);
      if (!e.custodian().isEmpty() && !e.custodian().equals(signer.org())) {
        return Refusal.of(Refusal.Reason.ROLE_NOT_ALLOWED,
            "a node records decisions about its own organization's records only");
      }
      ObjectNode v = CommandCodec.encodeEvent(e);
      v.put("accessor", l.accessor());
      v.put("accessorOrg", l.accessorOrg());
      v.put("action", l.action());
      v.put("purpose", l.purpose());
      v.put("reason", l.reason());
      v.put("node", signer.id());
      v.put("time", time);
      v.put("tx", tx.idHex());
      v.put("index", i);
      state.put(prefix(e.patient()) + String.format("%015d", time) + "/" + tx.idHex() + "/"
          + i, CanonicalJson.canonicalize(v));
    }
    return null;
  }
}
