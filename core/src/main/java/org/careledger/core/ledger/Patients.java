package org.careledger.core.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.tx.Refusal;
import org.careledger.core.tx.Transaction;

/**
 * The patients contract: enrollment offers (by a custodian's node), their redemption by the
 * patient's own key, links from a patient identity to each organization's pseudonym for them,
 * key recovery, erasure requests, and the patient-visible event list.
 *
 * <p>State keys: {@code enroll/<sha256(code)>}, {@code patient/<id>/link/<org>} (the
 * organization's patient pseudonym), {@code patientof/<org>/<pseudonym>} (the identity),
 * {@code patient/<id>/event/<time>/<tx>}, {@code erasure-request/<tx>}.
 */
public final class Patients {
  /** The longest an enrollment offer may stay open. */
  public static final long MAX_OFFER_MS = 30L * 24 * 60 * 60 * 1000;
  public static final String OPEN = "open";
  public static final String REDEEMED = "redeemed";

  private Patients() {}

  public static String offerKey(byte[] codeHash) {
    return "enroll/" + Codec.hex(codeHash);
  }

  /** The hash under which an enrollment code is offered. */
  public static byte[] codeHash(String code) {
    return Sha256.hash(code.getBytes(StandardCharsets.UTF_8));
  }

  public static String linkKey(String identity, String org) {
    return "patient/" + identity + "/link/" + org;
  }

  public static String linkPrefix(String identity) {
    return "patient/" + identity + "/link/";
  }

  public static String ownerKey(String org, String pseudonym) {
    return "patientof/" + org + "/" + pseudonym;
  }

  public static String eventPrefix(String identity) {
    return "patient/" + identity + "/event/";
  }

  /** The patient identity enrolled for an organization's patient pseudonym, or null. */
  public static String owner(StateView s, String org, String pseudonym) {
    JsonNode n = Membership.readJson(s, ownerKey(org, pseudonym));
    return n == null ? null : n.get("identity").textValue();
  }

  /** The organization's pseudonym for a patient identity, or null. */
  public static String pseudonymAt(StateView s, String identity, String org) {
    JsonNode n = Membership.readJson(s, linkKey(identity, org));
    return n == null ? null : n.get("patient").textValue();
  }

  static Refusal offer(Command.OfferEnrollment o, Membership.Identity signer, Transaction tx,
      StateOverlay state, long time) {
    String key = offerKey(o.codeHash());
    if (state.getOrNull(key) != null) {
      return Refusal.of(Refusal.Reason.CONFLICT, "this enrollment code was already offered");
    }
    if (o.expires() <= time || o.expires() > time + MAX_OFFER_MS) {
      return Refusal.of(Refusal.Reason.MALFORMED,
          "an offer must expire in the future and within 30 days");
    }
    String owner = owner(state, signer.org(), o.patient());
    if (o.recoverOrNull() == null && owner != null) {
      return Refusal.of(Refusal.Reason.CONFLICT,
          "this patient is already enrolled; offer a recovery instead");
    }
    if (o.recoverOrNull() != null && !o.recoverOrNull().equals(owner)) {
      return Refusal.of(Refusal.Reason.CONFLICT, "identity " + o.recoverOrNull()
          + " is not the patient enrolled for this record at " + signer.org());
    }
    ObjectNode v = CanonicalJson.object();
    v.put("org", signer.org());
    v.put("patient", o.patient());
    v.put("expires", o.expires());
    v.put("offeredBy", o.offeredBy());
    if (o.recoverOrNull() != null) {
      v.put("recover", o.recoverOrNull());
    }
    v.put("status", OPEN);
    v.put("tx", tx.idHex());
    v.put("time", time);
    state.put(key, CanonicalJson.canonicalize(v));
    return null;
  }

  static Refusal enroll(Command.Enroll e, Membership.Identity signer, Transaction tx,
      StateOverlay state, long time) {
    String key = offerKey(codeHash(e.code()));
    JsonNode offer = Membership.readJson(state, key);
    if (offer == null) {
      return Refusal.of(Refusal.Reason.NOT_FOUND, "no enrollment was offered with this code");
    }
    if (!OPEN.equals(offer.get("status").textValue())) {
      return Refusal.of(Refusal.Reason.CONFLICT, "this enrollment code was already used");
    }
    if (offer.get("expires").asLong() < time) {
      return Refusal.of(Refusal.Reason.CONFLICT, "this enrollment code has expired");
    }
    String org = offer.get("org").textValue();
    String pseudonym = offer.get("patient").textValue();
    String kid = Ed25519.keyId(e.publicKey());
    boolean selfSigned = kid.equals(tx.signer());
    Membership.Identity existing = Membership.identity(state, e.id());
    String kind;
    if (offer.has("recover")) {
      if (!offer.get("recover").textValue().equals(e.id()) || existing == null) {
        return Refusal.of(Refusal.Reason.ROLE_NOT_ALLOWED,
            "this recovery code is for another identity");
      }
      if (!selfSigned || Membership.key(state, kid) != null) {
        return Refusal.of(Refusal.Reason.CONFLICT,
            "a recovery is signed by a new, unregistered key");
      }
      Membership.KeyRecord old = Membership.key(state, existing.keyId());
      Membership.put(state, new Membership.KeyRecord(old.keyId(), old.identity(),
          old.publicKey(), Membership.REVOKED));
      Membership.put(state, new Membership.KeyRecord(kid, e.id(), e.publicKey(),
          Membership.ACTIVE));
      Membership.put(state, new Membership.Identity(e.id(), existing.org(), existing.role(),
          kid, Membership.ACTIVE, existing.displayName(), existing.address()));
      kind = "key-recovered";
    } else {
      if (owner(state, org, pseudonym) != null) {
        return Refusal.of(Refusal.Reason.CONFLICT, "this patient is already enrolled");
      }
      if (existing != null) {
        if (existing.role() != Role.PATIENT || !existing.active()
            || !existing.keyId().equals(tx.signer()) || !existing.keyId().equals(kid)) {
          return Refusal.of(Refusal.Reason.ROLE_NOT_ALLOWED, "identity " + e.id()
              + " exists; only its own current key may link another organization");
        }
        if (Membership.readJson(state, linkKey(e.id(), org)) != null) {
          return Refusal.of(Refusal.Reason.CONFLICT,
              "identity " + e.id() + " is already linked at " + org);
        }
        kind = "linked";
      } else {
        if (!selfSigned || Membership.key(state, kid) != null) {
          return Refusal.of(Refusal.Reason.CONFLICT,
              "a new patient identity is signed by its own, unregistered key");
        }
        Membership.put(state, new Membership.Identity(e.id(), org, Role.PATIENT, kid,
            Membership.ACTIVE, null, null));
        Membership.put(state, new Membership.KeyRecord(kid, e.id(), e.publicKey(),
            Membership.ACTIVE));
        kind = "enrolled";
      }
      ObjectNode link = CanonicalJson.object();
      link.put("org", org);
      link.put("patient", pseudonym);
      link.put("since", time);
      link.put("tx", tx.idHex());
      state.put(linkKey(e.id(), org), CanonicalJson.canonicalize(link));
      ObjectNode owner = CanonicalJson.object();
      owner.put("identity", e.id());
      state.put(ownerKey(org, pseudonym), CanonicalJson.canonicalize(owner));
    }
    ObjectNode redeemed = ((ObjectNode) offer).deepCopy();
    redeemed.put("status", REDEEMED);
    redeemed.put("redeemedBy", e.id());
    redeemed.put("redeemTx", tx.idHex());
    state.put(key, CanonicalJson.canonicalize(redeemed));
    event(state, e.id(), kind, org, tx, time);
    return null;
  }

  static Refusal requestErasure(Command.RequestErasure r, Membership.Identity signer,
      Transaction tx, StateOverlay state, long time) {
    String pseudonym = pseudonymAt(state, signer.id(), r.org());
    if (pseudonym == null) {
      return Refusal.of(Refusal.Reason.NOT_FOUND,
          "identity " + signer.id() + " has no records linked at " + r.org());
    }
    ObjectNode v = CanonicalJson.object();
    v.put("patient", signer.id());
    v.put("org", r.org());
    v.put("pseudonym", pseudonym);
    v.put("legalBasis", r.legalBasis());
    v.put("time", time);
    state.put("erasure-request/" + tx.idHex(), CanonicalJson.canonicalize(v));
    event(state, signer.id(), "erasure-requested", r.org(), tx, time);
    return null;
  }

  /** Adds an entry to the patient's own event list. */
  static void event(StateOverlay state, String identity, String kind, String org,
      Transaction tx, long time) {
    ObjectNode v = CanonicalJson.object();
    v.put("event", kind);
    v.put("org", org);
    v.put("tx", tx.idHex());
    v.put("time", time);
    state.put(eventPrefix(identity) + String.format("%015d", time) + "/" + tx.idHex(),
        CanonicalJson.canonicalize(v));
  }

  /** The organizations and pseudonyms a patient identity is linked to. */
  public static List<JsonNode> links(PrefixScan scan, String identity) {
    return readAll(scan, linkPrefix(identity));
  }

  /** Every state entry under a prefix, parsed, in key order. */
  static List<JsonNode> readAll(PrefixScan scan, String prefix) {
    List<JsonNode> out = new ArrayList<>();
    scan.scan(prefix, (k, v) -> {
      try {
        out.add(CanonicalJson.parse(v));
      } catch (CanonicalJson.InvalidJsonException ex) {
        throw new IllegalStateException("state entry " + k + " is not valid JSON", ex);
      }
      return true;
    });
    return out;
  }

  /** Reads state entries by key prefix, in key order, until the visitor returns false. */
  @FunctionalInterface
  public interface PrefixScan {
    void scan(String prefix, java.util.function.BiPredicate<String, byte[]> visitor);
  }
}
