package org.careledger.core.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.careledger.core.contract.Command;
import org.careledger.core.crypto.Codec;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.tx.Refusal;
import org.careledger.core.tx.Transaction;

/**
 * The records contract: per record (a pseudonymous id), its custodian organization, resource
 * type, patient pseudonym, status and latest version; per version, the commitment
 * SHA-256(salt || resource bytes), whether it is a deletion, who submitted it and when.
 *
 * <p>State keys: {@code record/<id>} and {@code record/<id>/<version>}. Versions are numbered
 * 1, 2, 3... with no gaps; only the custodian's node may add versions or erase; an erased
 * record takes no new versions.
 */
public final class Records {
  public static final String ACTIVE = "active";
  public static final String DELETED = "deleted";
  public static final String ERASED = "erased";

  private Records() {}

  public static String recordKey(String record) {
    return "record/" + record;
  }

  public static String versionKey(String record, long version) {
    return "record/" + record + "/" + version;
  }

  /** The record's summary, or null. */
  public static JsonNode record(StateView s, String record) {
    return read(s, recordKey(record));
  }

  /** One version's entry, or null. */
  public static JsonNode version(StateView s, String record, long version) {
    return read(s, versionKey(record, version));
  }

  /** The commitment anchored for a version, or null. */
  public static byte[] commitment(StateView s, String record, long version) {
    JsonNode v = version(s, record, version);
    return v == null || !v.has("commitment") ? null : Codec.unhex(v.get("commitment").asText());
  }

  static Refusal commit(Command.CommitRecords c, Membership.Identity signer, Transaction tx,
      StateOverlay state, long time) {
    for (Command.RecordVersion v : c.versions()) {
      JsonNode rec = record(state, v.record());
      if (rec == null) {
        if (v.version() != 1) {
          return Refusal.of(Refusal.Reason.CONFLICT, "record " + v.record()
              + " does not exist; its first version must be 1");
        }
      } else {
        if (!rec.get("custodian").asText().equals(signer.org())) {
          return Refusal.of(Refusal.Reason.ROLE_NOT_ALLOWED,
              "record " + v.record() + " is held by another organization");
        }
        if (ERASED.equals(rec.get("status").asText())) {
          return Refusal.of(Refusal.Reason.CONFLICT, "record " + v.record() + " was erased");
        }
        if (rec.has("author")) {
          return Refusal.of(Refusal.Reason.ROLE_NOT_ALLOWED, "record " + v.record()
              + " was written and signed by its patient; only erasure can change it");
        }
        if (!rec.get("resourceType").asText().equals(v.resourceType())) {
          return Refusal.of(Refusal.Reason.CONFLICT,
              "record " + v.record() + " is a " + rec.get("resourceType").asText());
        }
        long latest = rec.get("version").asLong();
        if (v.version() != latest + 1) {
          return Refusal.of(Refusal.Reason.CONFLICT, "record " + v.record() + " is at version "
              + latest + "; the next version is " + (latest + 1));
        }
      }
      put(state, signer.org(), v, c.submitter(), null, tx, time);
    }
    return null;
  }

  /**
   * Writes a version's state entries. {@code authorOrNull} names the patient who wrote and
   * signed the record themselves; it stays on the record's summary.
   */
  static void put(StateOverlay state, String custodian, Command.RecordVersion v,
      String submitter, String authorOrNull, Transaction tx, long time) {
    ObjectNode r = CanonicalJson.object();
    r.put("custodian", custodian);
    r.put("resourceType", v.resourceType());
    r.put("patient", v.patient());
    r.put("version", v.version());
    r.put("status", v.deleted() ? DELETED : ACTIVE);
    if (authorOrNull != null) {
      r.put("author", authorOrNull);
    }
    state.put(recordKey(v.record()), CanonicalJson.canonicalize(r));
    ObjectNode e = CanonicalJson.object();
    e.put("commitment", Codec.hex(v.commitment()));
    e.put("deleted", v.deleted());
    e.put("submitter", submitter);
    e.put("time", time);
    e.put("tx", tx.idHex());
    state.put(versionKey(v.record(), v.version()), CanonicalJson.canonicalize(e));
  }

  /** A record its patient wrote and signed: version 1 of a new record at {@code c.org()}. */
  static Refusal contribute(Command.Contribute c, Membership.Identity signer, Transaction tx,
      StateOverlay state, long time) {
    String pseudonym = Patients.pseudonymAt(state, signer.id(), c.org());
    if (pseudonym == null) {
      return Refusal.of(Refusal.Reason.NOT_FOUND,
          "identity " + signer.id() + " has no records linked at " + c.org());
    }
    if (record(state, c.record()) != null) {
      return Refusal.of(Refusal.Reason.CONFLICT, "record " + c.record() + " already exists");
    }
    put(state, c.org(), new Command.RecordVersion(c.record(), 1, c.resourceType(),
        c.commitment(), pseudonym, false), signer.id(), signer.id(), tx, time);
    Patients.event(state, signer.id(), "contributed", c.org(), tx, time);
    return null;
  }

  static Refusal erase(Command.EraseRecords c, Membership.Identity signer, Transaction tx,
      StateOverlay state, long time) {
    for (String id : c.records()) {
      JsonNode rec = record(state, id);
      if (rec == null) {
        return Refusal.of(Refusal.Reason.NOT_FOUND, "no record " + id);
      }
      if (!rec.get("custodian").asText().equals(signer.org())) {
        return Refusal.of(Refusal.Reason.ROLE_NOT_ALLOWED,
            "record " + id + " is held by another organization");
      }
      if (ERASED.equals(rec.get("status").asText())) {
        return Refusal.of(Refusal.Reason.CONFLICT, "record " + id + " was already erased");
      }
      ObjectNode r = ((ObjectNode) rec).deepCopy();
      r.put("status", ERASED);
      ObjectNode erasure = r.putObject("erasure");
      erasure.put("requestedBy", c.requestedBy());
      erasure.put("legalBasis", c.legalBasis());
      erasure.put("time", time);
      erasure.put("tx", tx.idHex());
      state.put(recordKey(id), CanonicalJson.canonicalize(r));
    }
    Membership.Identity requester = Membership.identity(state, c.requestedBy());
    if (requester != null && requester.role() == org.careledger.core.contract.Role.PATIENT) {
      // erasure the patient asked for completes in their own event list
      Patients.event(state, requester.id(), "erased", signer.org(), tx, time);
    }
    return null;
  }

  private static JsonNode read(StateView s, String key) {
    return Membership.readJson(s, key);
  }
}
