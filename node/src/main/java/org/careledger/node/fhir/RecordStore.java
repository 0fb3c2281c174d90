package org.careledger.node.fhir;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.careledger.client.Transactions;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.ledger.Records;
import org.careledger.core.ledger.StateView;
import org.careledger.core.ledger.TxResult;
import org.careledger.core.tx.Refusal;
import org.careledger.core.tx.Transaction;
import org.careledger.core.tx.TxCodec;
import org.careledger.node.LedgerService;
import org.careledger.node.Submitter;
import org.careledger.node.store.LedgerStore;
import org.careledger.node.store.LedgerStore.PrivateFamily;
import org.careledger.node.vault.Vault;
import org.hl7.fhir.instance.model.api.IAnyResource;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.InstantType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * FHIR resources in the vault, anchored on the ledger. A write encrypts each new version, and
 * commits one {@code records.commit} transaction signed by this node for all of them; the
 * vault rows and the index rows are written in the same batch as the block that anchors them,
 * so a write is stored and anchored entirely or not at all. A read decrypts a version and
 * checks it against the commitment on the ledger before it is served.
 *
 * <p>Index ({@code fhir} column family), all keys pseudonymous: {@code m/<rec>} the record's
 * current state; {@code h/<rec>/<version>} each version; {@code t/<type>/<lastUpdated>/<rec>}
 * current versions by type and time; {@code p/<patient>/<rec>} the patient compartment.
 * Vault rows: {@code <rec>/<version>}. {@code rec} and {@code patient} are pseudonyms.
 *
 * <p>Thread-safe: concurrent writes to one record race on the ledger, where all but one are
 * refused as version conflicts.
 */
public final class RecordStore {
  private static final Logger LOG = LoggerFactory.getLogger(RecordStore.class);
  private static final long WAIT_SECONDS = 60;

  private final String nodeName;
  private final FhirContext ctx;
  private final LedgerService ledger;
  private final Submitter submitter;
  private final Vault vault;
  private final Ed25519.KeyPair nodeKey;
  private final java.util.concurrent.atomic.AtomicLong integrityFailures =
      new java.util.concurrent.atomic.AtomicLong();

  public RecordStore(String nodeName, FhirContext ctx, Submitter submitter, Vault vault,
      Ed25519.KeyPair nodeKey) {
    this.nodeName = nodeName;
    this.ctx = ctx;
    this.ledger = submitter.ledger();
    this.submitter = submitter;
    this.vault = vault;
    this.nodeKey = nodeKey;
  }

  /** Vault entries refused since start because they failed their integrity checks. */
  public long integrityFailures() {
    return integrityFailures.get();
  }

  // ---------------------------------------------------------------------------- failures

  /** Why a request could not be served; mapped to FHIR statuses by the providers. */
  public static final class StoreException extends Exception {
    private static final long serialVersionUID = 1L;

    /** What kind of failure. */
    public enum Kind { NOT_FOUND, GONE, CONFLICT, INTEGRITY, UNAVAILABLE, REFUSED, TOO_LARGE }

    private final Kind kind;

    StoreException(Kind kind, String message) {
      super(message, null, false, false);
      this.kind = kind;
    }

    public Kind kind() {
      return kind;
    }
  }

  // ---------------------------------------------------------------------------- writes

  /**
   * One resource to write. {@code resource} is null for a delete. {@code source}, if not null,
   * is the JSON the client sent for it (see {@link SourceJson}), stored instead of an encoding
   * of the model; it must say what the model says.
   */
  public record WriteOp(String type, String id, IBaseResource resource, ObjectNode source) {
    public WriteOp(String type, String id, IBaseResource resource) {
      this(type, id, resource, null);
    }

    public boolean delete() {
      return resource == null;
    }
  }

  /** A version that was written. */
  public record Written(String type, String id, long version, long lastUpdated,
      boolean created, boolean deleted) {}

  /**
   * An erasure's receipt: how many records, and the transactions that anchored it, the last of
   * which is {@code txId} (at {@code leafIndex}, in the block at {@code height}).
   */
  public record Erased(int records, List<String> txIds, String txId, long leafIndex,
      long height, long time) {}

  /** The pseudonym of a record. */
  public String recordPseudonym(String type, String id) {
    return vault.pseudonym("record", type + "/" + id);
  }

  /**
   * The pseudonym of a code (security label, category or code) a record carries; consent
   * exclusions are matched against these.
   */
  public String tagPseudonym(String code) {
    return vault.pseudonym("tag", code);
  }

  /** What the gatekeeper needs to decide about a record: null if unknown or erased. */
  public org.careledger.node.access.Gatekeeper.Target target(String type, String id) {
    Hit h = hit(type, id);
    return h == null ? null : target(h);
  }

  /** What the gatekeeper needs to decide about a search hit: null if unknown or erased. */
  public org.careledger.node.access.Gatekeeper.Target target(Hit hit) {
    JsonNode m = meta(hit.rec());
    if (m == null || Records.ERASED.equals(m.get("status").asText())) {
      return null;
    }
    List<String> tags = new ArrayList<>();
    m.path("tags").forEach(t -> tags.add(t.textValue()));
    return new org.careledger.node.access.Gatekeeper.Target(hit.rec(), hit.type(),
        m.path("patient").asText(""), tags);
  }

  /** The targets of search hits, in order, skipping any erased since. */
  public List<org.careledger.node.access.Gatekeeper.Target> targets(List<Hit> hits) {
    List<org.careledger.node.access.Gatekeeper.Target> out = new ArrayList<>(hits.size());
    for (Hit h : hits) {
      var t = target(h);
      if (t != null) {
        out.add(t);
      }
    }
    return out;
  }

  /** The pseudonym of a patient. */
  public String patientPseudonym(String patientId) {
    return vault.pseudonym("patient", "Patient/" + patientId);
  }

  /** A fresh server-assigned id. */
  public static String newId() {
    return UUID.randomUUID().toString();
  }

  /**
   * Writes all the ops as one ledger transaction: all are stored and anchored, or none is.
   * Deleting a record that does not exist is a no-op. Ids must be set.
   */
  public List<Written> write(String submitterId, List<WriteOp> ops) throws StoreException {
    if (ops.size() > MAX_WRITES_PER_TX) {
      throw new StoreException(StoreException.Kind.TOO_LARGE, "one transaction writes at most "
          + MAX_WRITES_PER_TX + " resources and this one has " + ops.size()
          + "; send them in several transaction bundles, or as a batch");
    }
    StateView state = ledger.store().state();
    long now = System.currentTimeMillis();
    Map<String, Long> nextVersion = new HashMap<>();
    Map<String, JsonNode> metas = new HashMap<>();
    List<Command.RecordVersion> versions = new ArrayList<>();
    List<LedgerStore.Write> rows = new ArrayList<>();
    List<Written> out = new ArrayList<>();
    IParser parser = ctx.newJsonParser();
    // encoding and encryption dominate a large transaction; they are independent per resource
    Map<WriteOp, Sealing> sealings = new java.util.IdentityHashMap<>();
    String instant = SourceJson.instant(now);
    for (WriteOp op : ops) {
      if (!op.delete()) {
        sealings.put(op, new Sealing(op, now, instant));
      }
    }
    sealings.values().parallelStream().forEach(Sealing::prepare);
    for (WriteOp op : ops) {
      // a resource being written was already looked up (in parallel) by its Sealing
      Sealing prepared = sealings.get(op);
      String rec = prepared != null ? prepared.rec : recordPseudonym(op.type(), op.id());
      JsonNode onLedger = prepared != null ? prepared.onLedger : Records.record(state, rec);
      if (onLedger != null && Records.ERASED.equals(onLedger.get("status").asText())) {
        throw new StoreException(StoreException.Kind.GONE,
            op.type() + "/" + op.id() + " was erased");
      }
      long latest = nextVersion.containsKey(rec) ? nextVersion.get(rec) - 1
          : onLedger == null ? 0 : onLedger.get("version").asLong();
      if (op.delete() && (latest == 0
          || Records.DELETED.equals(onLedger == null ? "" : onLedger.get("status").asText()))) {
        continue;
      }
      JsonNode oldMeta = metas.containsKey(rec) ? metas.get(rec) : meta(rec);
      if (!op.delete() && !nextVersion.containsKey(rec) && oldMeta != null && onLedger != null
          && Records.ACTIVE.equals(onLedger.get("status").asText())
          && sameContent(readVersion(op.type(), op.id(), rec, latest), op.resource(), parser)) {
        // writing what is already there adds no version (makes imports idempotent)
        long lastUpdated = oldMeta.get("lastUpdated").asLong();
        op.resource().setId(op.type() + "/" + op.id() + "/_history/" + latest);
        op.resource().getMeta().setVersionId(Long.toString(latest));
        op.resource().getMeta().setLastUpdated(new Date(lastUpdated));
        out.add(new Written(op.type(), op.id(), latest, lastUpdated, false, false));
        continue;
      }
      long version = latest + 1;
      nextVersion.put(rec, version + 1);
      String patient = "";
      List<String> tags = List.of();
      byte[] commitment;
      if (op.delete()) {
        patient = oldMeta == null ? "" : oldMeta.path("patient").asText("");
        commitment = Sha256.hash(new byte[0]);
      } else {
        Sealing sealing = sealings.get(op);
        patient = sealing.patient;
        tags = sealing.tags;
        Vault.Sealed sealed = sealing.sealed(rec, version);
        commitment = sealed.commitment();
        rows.add(new LedgerStore.Write(PrivateFamily.VAULT, vaultKey(rec, version),
            sealed.entry()));
      }
      metas.put(rec, index(rows, rec, op.type(), version, now, patient, tags, oldMeta,
          op.delete()));
      versions.add(new Command.RecordVersion(rec, version, op.type(), commitment, patient,
          op.delete()));
      out.add(new Written(op.type(), op.id(), version, now, version == 1, op.delete()));
    }
    if (versions.isEmpty()) {
      return out;
    }
    commit(new Command.CommitRecords(submitterId, versions), rows);
    return out;
  }

  /**
   * The private index rows of a new version: its history entry, the record's current state,
   * its place in the type/time index and in the patient's compartment. Returns the new state.
   */
  private ObjectNode index(List<LedgerStore.Write> rows, String rec, String type, long version,
      long now, String patient, List<String> tags, JsonNode oldMeta, boolean deleted) {
    ObjectNode h = CanonicalJson.object();
    h.put("lastUpdated", now);
    h.put("deleted", deleted);
    h.put("patient", patient);
    rows.add(write(historyKey(rec, version), h));
    ObjectNode m = CanonicalJson.object();
    m.put("type", type);
    m.put("version", version);
    m.put("lastUpdated", now);
    m.put("status", deleted ? Records.DELETED : Records.ACTIVE);
    m.put("patient", patient);
    if (!tags.isEmpty()) {
      tags.forEach(m.putArray("tags")::add);
    }
    rows.add(write(key("m/" + rec), m));
    if (oldMeta != null) {
      rows.add(delete(key("t/" + type + "/" + time(oldMeta.get("lastUpdated").asLong())
          + "/" + rec)));
      // a deleted record stays in its patient's compartment so that erasing the patient
      // reaches its older versions too; searches skip it
      String oldPatient = oldMeta.path("patient").asText("");
      if (!oldPatient.isEmpty() && !deleted && !oldPatient.equals(patient)) {
        rows.add(delete(key("p/" + oldPatient + "/" + rec)));
      }
    }
    if (!deleted) {
      rows.add(new LedgerStore.Write(PrivateFamily.FHIR,
          key("t/" + type + "/" + time(now) + "/" + rec), new byte[0]));
      if (!patient.isEmpty()) {
        rows.add(new LedgerStore.Write(PrivateFamily.FHIR, key("p/" + patient + "/" + rec),
            type.getBytes(StandardCharsets.UTF_8)));
      }
    }
    return m;
  }

  /**
   * Stores a record its patient wrote and signed: {@code salted} is salt || the exact resource
   * bytes, {@code tx} the patient's {@code patients.contribute} transaction committing to them.
   * The vault entry and index rows are written with the block that commits {@code tx}, or not
   * at all. {@code lastUpdated} is the resource's own (the index shows what the bytes say).
   */
  public LedgerService.Outcome contribute(Transaction tx, String type, String id, String patient,
      List<String> codes, byte[] salted, long lastUpdated) throws StoreException {
    String rec = recordPseudonym(type, id);
    if (meta(rec) != null) {
      throw new StoreException(StoreException.Kind.CONFLICT, type + "/" + id + " exists");
    }
    List<LedgerStore.Write> rows = new ArrayList<>();
    rows.add(new LedgerStore.Write(PrivateFamily.VAULT, vaultKey(rec, 1),
        vault.sealSalted(rec, 1, patient, salted).entry()));
    index(rows, rec, type, 1, lastUpdated, patient, codes.stream().map(this::tagPseudonym)
        .sorted().toList(), null, false);
    return submitAndWait(tx, rows);
  }

  /**
   * The work for one resource that does not depend on the ledger: its patient pseudonym and,
   * once its version is known, its encoding and encryption. Versions are almost always the
   * next after the ledger's latest, so {@link #prepare} seals for that guess and {@link #sealed}
   * redoes the work in the rare case the guess was wrong (a record written twice in one
   * transaction, or an unchanged resource).
   */
  private final class Sealing {
    private final WriteOp op;
    private final long now;
    private final String instant;
    private String patient;
    private List<String> tags;
    private String rec;
    private JsonNode onLedger;
    private long guessedVersion;
    private Vault.Sealed result;

    Sealing(WriteOp op, long now, String instant) {
      this.op = op;
      this.now = now;
      this.instant = instant;
    }

    void prepare() {
      rec = recordPseudonym(op.type(), op.id());
      String patientId = Compartments.patientId(op.type(), op.id(), op.resource());
      patient = patientId == null ? "" : patientPseudonym(patientId);
      tags = Compartments.codes(op.resource()).stream().map(RecordStore.this::tagPseudonym)
          .sorted().toList();
      onLedger = Records.record(ledger.store().state(), rec);
      guessedVersion = onLedger == null ? 1 : onLedger.get("version").asLong() + 1;
      result = seal(guessedVersion);
    }

    Vault.Sealed sealed(String rec, long version) {
      return version == guessedVersion && rec.equals(this.rec) ? result : seal(version);
    }

    private Vault.Sealed seal(long version) {
      IBaseResource r = op.resource();
      synchronized (r) {
        r.setId(op.type() + "/" + op.id() + "/_history/" + version);
        r.getMeta().setVersionId(Long.toString(version));
        r.getMeta().setLastUpdated(new Date(now));
        byte[] content = op.source() != null
            ? SourceJson.version(op.source(), op.type(), op.id(), version, instant)
            : ctx.newJsonParser().encodeResourceToString(r).getBytes(StandardCharsets.UTF_8);
        return vault.seal(rec, version, patient, content);
      }
    }
  }

  /** True if two versions differ only in server-assigned parts (id, versionId, lastUpdated). */
  private static boolean sameContent(IBaseResource a, IBaseResource b, IParser parser) {
    return comparable(a, parser).equals(comparable(b, parser));
  }

  private static String comparable(IBaseResource r, IParser parser) {
    IBaseResource c = ((org.hl7.fhir.r4.model.Resource) r).copy();
    c.setId((String) null);
    c.getMeta().setVersionId(null);
    c.getMeta().setLastUpdated(null);
    return parser.encodeResourceToString(c);
  }

  /**
   * The resources one write (a transaction bundle) may hold: each anchors one version of about
   * 230 bytes in a single ledger transaction, which must stay under
   * {@link TxCodec#MAX_TX_BYTES} (1 MiB). {@code careledger import} sends 1000 at a time.
   */
  public static final int MAX_WRITES_PER_TX = 3000;

  /**
   * Signs {@code command} with this node's key, submits it with {@code rows} (written in the
   * same batch as its block) and waits until it is committed; a refusal or a timeout throws.
   */
  public LedgerService.Outcome commit(Command command, List<LedgerStore.Write> rows)
      throws StoreException {
    byte[] bytes = Transactions.sign(ledger.chain(), nodeKey, command,
        System.currentTimeMillis(), Transactions.DEFAULT_VALIDITY_MS);
    Transaction tx = switch (TxCodec.decode(bytes)) {
      case TxCodec.Decoded.Ok ok -> ok.tx();
      // the node's own transaction, refused by the codec every node applies (its size)
      case TxCodec.Decoded.Refused r -> throw refusal(r.refusal(), r.refusal().detail());
    };
    LedgerService.Outcome o = submitAndWait(tx, rows);
    if (o.result() instanceof TxResult.Refused r) {
      throw refusal(r.refusal(), r.refusal().detail());
    }
    return o;
  }

  /**
   * Submits a transaction someone else signed (a patient's consent, relayed by a FHIR client)
   * and waits until it is committed or refused; the outcome says which.
   */
  public LedgerService.Outcome submitAndWait(Transaction tx, List<LedgerStore.Write> rows)
      throws StoreException {
    CompletableFuture<LedgerService.Outcome> f;
    try {
      f = submitter.submit(tx, rows);
    } catch (Submitter.NotQueued e) {
      throw refusal(e.refusalOrNull(), e.getMessage());
    }
    LedgerService.Outcome o;
    try {
      o = f.get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new StoreException(StoreException.Kind.UNAVAILABLE,
          "the ledger did not commit the write within " + WAIT_SECONDS + " s");
    } catch (ExecutionException e) {
      throw new StoreException(StoreException.Kind.UNAVAILABLE, "the write was not ordered");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException(StoreException.Kind.UNAVAILABLE, "interrupted");
    }
    return o;
  }

  private static StoreException refusal(Refusal r, String message) {
    if (r == null) {
      return new StoreException(StoreException.Kind.UNAVAILABLE, message);
    }
    return new StoreException(r.reason() == Refusal.Reason.CONFLICT
        ? StoreException.Kind.CONFLICT : r.reason() == Refusal.Reason.TOO_LARGE
        ? StoreException.Kind.TOO_LARGE : StoreException.Kind.REFUSED, r.detail());
  }

  // ---------------------------------------------------------------------------- reads

  /** The record's current index entry, or null. */
  JsonNode meta(String rec) {
    return json(ledger.store().getPrivate(PrivateFamily.FHIR, key("m/" + rec)));
  }

  /** The index entry of a known, not erased record; otherwise 404 or 410. */
  private JsonNode liveMeta(String type, String id, String rec) throws StoreException {
    JsonNode m = meta(rec);
    if (m == null) {
      JsonNode onLedger = Records.record(ledger.store().state(), rec);
      if (onLedger != null && Records.ERASED.equals(onLedger.path("status").asText())) {
        throw new StoreException(StoreException.Kind.GONE, type + "/" + id + " was erased");
      }
      if (onLedger != null) {
        // only this node commits this node's records, with their vault rows: a vault restored
        // from a backup older than the record, or a replacement node that did not take one over
        integrityFailures.incrementAndGet();
        LOG.error("{}: ALERT record {} is on the ledger but not in this node's vault", nodeName,
            rec);
        throw new StoreException(StoreException.Kind.INTEGRITY, type + "/" + id + " is on the"
            + " ledger but its content is not in this node's vault; the operator was alerted");
      }
    }
    if (m == null || !type.equals(m.get("type").asText())) {
      throw new StoreException(StoreException.Kind.NOT_FOUND, type + "/" + id + " is not known");
    }
    if (Records.ERASED.equals(m.get("status").asText())) {
      throw new StoreException(StoreException.Kind.GONE, type + "/" + id + " was erased");
    }
    return m;
  }

  /** Reads a version (the current one when {@code versionOrNull} is null), checked. */
  public IBaseResource read(String type, String id, Long versionOrNull) throws StoreException {
    return parse(readStored(type, id, versionOrNull).json());
  }

  /** A version's exact stored JSON, the bytes under its commitment, checked against the ledger. */
  public record Stored(String type, String id, long version, long lastUpdated, byte[] json) {}

  /** As {@link #read}, without parsing: the exact bytes, checked. */
  public Stored readStored(String type, String id, Long versionOrNull) throws StoreException {
    String rec = recordPseudonym(type, id);
    JsonNode m = liveMeta(type, id, rec);
    long version = versionOrNull != null ? versionOrNull : m.get("version").asLong();
    return storedVersion(type, id, rec, version);
  }

  /** Parses stored bytes into HAPI's model. */
  IBaseResource parse(byte[] json) {
    return ctx.newJsonParser().parseResource(new String(json, StandardCharsets.UTF_8));
  }

  IBaseResource readVersion(String type, String id, String rec, long version)
      throws StoreException {
    return parse(storedVersion(type, id, rec, version).json());
  }

  private Stored storedVersion(String type, String id, String rec, long version)
      throws StoreException {
    JsonNode h = json(ledger.store().getPrivate(PrivateFamily.FHIR, historyKey(rec, version)));
    if (h == null) {
      throw new StoreException(StoreException.Kind.NOT_FOUND,
          type + "/" + id + " has no version " + version);
    }
    if (h.get("deleted").asBoolean()) {
      throw new StoreException(StoreException.Kind.GONE,
          type + "/" + id + " was deleted in version " + version);
    }
    byte[] content = openChecked(type, id, rec, version, h.get("patient").asText(), false);
    return new Stored(type, id, version, h.get("lastUpdated").asLong(), content);
  }

  /** Salt and exact bytes of a version, checked against the ledger (for $proof). */
  public byte[] saltedContent(String type, String id, long version) throws StoreException {
    String rec = recordPseudonym(type, id);
    JsonNode h = json(ledger.store().getPrivate(PrivateFamily.FHIR, historyKey(rec, version)));
    if (h == null || h.get("deleted").asBoolean()) {
      throw new StoreException(StoreException.Kind.NOT_FOUND,
          type + "/" + id + " has no stored version " + version);
    }
    return openChecked(type, id, rec, version, h.get("patient").asText(), true);
  }

  private byte[] openChecked(String type, String id, String rec, long version, String patient,
      boolean withSalt) throws StoreException {
    StateView state = ledger.store().state();
    JsonNode onLedger = Records.record(state, rec);
    if (onLedger != null && Records.ERASED.equals(onLedger.path("status").asText())) {
      // the ledger decides, whatever this node's index says (it may come from a backup)
      throw new StoreException(StoreException.Kind.GONE, type + "/" + id + " was erased");
    }
    byte[] entry = ledger.store().getPrivate(PrivateFamily.VAULT, vaultKey(rec, version));
    byte[] commitment = Records.commitment(state, rec, version);
    try {
      return withSalt ? vault.openWithSalt(rec, version, patient, entry, commitment)
          : vault.open(rec, version, patient, entry, commitment);
    } catch (Vault.IntegrityException e) {
      integrityFailures.incrementAndGet();
      // an alert for the operator: names the record pseudonym, never the content or the FHIR id
      LOG.error("{}: ALERT vault integrity failure for record {} version {}: {}", nodeName, rec,
          version, e.getMessage());
      throw new StoreException(StoreException.Kind.INTEGRITY, "the stored record failed its"
          + " integrity check against the ledger and was not served; the operator was alerted");
    }
  }

  /** One entry of a record's history. */
  public record Version(long version, long lastUpdated, boolean deleted) {}

  /** The versions of a record, newest first. */
  public List<Version> history(String type, String id) throws StoreException {
    String rec = recordPseudonym(type, id);
    JsonNode m = liveMeta(type, id, rec);
    List<Version> out = new ArrayList<>();
    ledger.store().scanPrivate(PrivateFamily.FHIR, key("h/" + rec + "/"), (k, v) -> {
      JsonNode h = json(v);
      String ks = new String(k, StandardCharsets.UTF_8);
      out.add(new Version(Long.parseLong(ks.substring(ks.lastIndexOf('/') + 1)),
          h.get("lastUpdated").asLong(), h.get("deleted").asBoolean()));
      return true;
    });
    return out.reversed();
  }

  /** A deleted version as FHIR history shows it: an empty resource marked deleted. */
  public IBaseResource deletedMarker(String type, String id, Version v) {
    IBaseResource r = ctx.getResourceDefinition(type).newInstance();
    r.setId(type + "/" + id + "/_history/" + v.version());
    ca.uhn.fhir.model.api.ResourceMetadataKeyEnum.DELETED_AT.put((IAnyResource) r,
        new InstantType(new Date(v.lastUpdated())));
    ca.uhn.fhir.model.api.ResourceMetadataKeyEnum.ENTRY_TRANSACTION_METHOD.put(
        (IAnyResource) r, ca.uhn.fhir.model.valueset.BundleEntryTransactionMethodEnum.DELETE);
    return r;
  }

  /** A record found by a search, read lazily. */
  public record Hit(String rec, String type) {}

  /** Current versions of a type, oldest update first, within [from, to] (ms, inclusive). */
  public List<Hit> byType(String type, long from, long to) {
    List<Hit> out = new ArrayList<>();
    String prefix = "t/" + type + "/";
    ledger.store().scanPrivate(PrivateFamily.FHIR, key(prefix),
        key(prefix + time(Math.max(0, from))), (k, v) -> {
          String ks = new String(k, StandardCharsets.UTF_8);
          if (!ks.startsWith(prefix)) {
            return false;
          }
          String[] parts = ks.split("/");
          if (Long.parseLong(parts[2]) > to) {
            return false;
          }
          out.add(new Hit(parts[3], type));
          return true;
        });
    return out;
  }

  /** The live records in a patient's compartment, optionally of one type. */
  public List<Hit> byPatient(String patientId, String typeOrNull) {
    return compartment(patientId, typeOrNull, false);
  }

  /**
   * The records of a patient's compartment, optionally of one type; with {@code withDeleted},
   * also those whose current version is a deletion (erasure takes them all).
   */
  public List<Hit> compartment(String patientId, String typeOrNull, boolean withDeleted) {
    return compartmentOf(patientPseudonym(patientId), typeOrNull, withDeleted);
  }

  /** As {@link #compartment}, by the patient's pseudonym (the patient API knows no FHIR id). */
  public List<Hit> compartmentOf(String pp, String typeOrNull, boolean withDeleted) {
    List<Hit> out = new ArrayList<>();
    ledger.store().scanPrivate(PrivateFamily.FHIR, key("p/" + pp + "/"), (k, v) -> {
      String ks = new String(k, StandardCharsets.UTF_8);
      String type = new String(v, StandardCharsets.UTF_8);
      if (typeOrNull == null || typeOrNull.equals(type)) {
        String rec = ks.substring(ks.lastIndexOf('/') + 1);
        JsonNode m = meta(rec);
        if (m != null && (withDeleted || Records.ACTIVE.equals(m.get("status").asText()))) {
          out.add(new Hit(rec, type));
        }
      }
      return true;
    });
    return out;
  }

  /** Reads a search hit's current version, checked; null if it is gone since. */
  public IBaseResource load(Hit hit) throws StoreException {
    JsonNode m = meta(hit.rec());
    if (m == null || !Records.ACTIVE.equals(m.get("status").asText())) {
      return null;
    }
    long version = m.get("version").asLong();
    JsonNode h = json(ledger.store().getPrivate(PrivateFamily.FHIR,
        historyKey(hit.rec(), version)));
    return parse(openChecked(hit.type(), "?", hit.rec(), version, h.get("patient").asText(),
        false));
  }

  /** A hit's current version: salt and exact bytes, checked against the ledger. */
  public byte[] saltedContent(Hit hit) throws StoreException {
    JsonNode m = meta(hit.rec());
    if (m == null || !Records.ACTIVE.equals(m.get("status").asText())) {
      throw new StoreException(StoreException.Kind.GONE, "the record is no longer available");
    }
    long version = m.get("version").asLong();
    JsonNode h = json(ledger.store().getPrivate(PrivateFamily.FHIR,
        historyKey(hit.rec(), version)));
    return openChecked(hit.type(), "?", hit.rec(), version, h.get("patient").asText(), true);
  }

  /** A hit's current version number, or 0. */
  public long versionOf(Hit hit) {
    JsonNode m = meta(hit.rec());
    return m == null ? 0 : m.get("version").asLong();
  }

  // ---------------------------------------------------------------------------- erasure

  /**
   * Erases records: every version's vault entry (data key and ciphertext) is destroyed and the
   * index forgets them, in the same batch as the ledger's erasure event. The commitments stay
   * on the ledger and reveal nothing.
   */
  public Erased erase(String requestedBy, String legalBasis, List<Hit> hits)
      throws StoreException {
    if (hits.isEmpty()) {
      throw new StoreException(StoreException.Kind.NOT_FOUND, "nothing to erase");
    }
    // the Patient record goes last: should a large erasure stop part way, the request can be
    // made again for the records that are left
    List<Hit> ordered = new ArrayList<>(hits);
    ordered.sort(java.util.Comparator.comparing(h -> "Patient".equals(h.type())));
    Map<String, JsonNode> metas = new java.util.LinkedHashMap<>();
    for (Hit hit : ordered) {
      JsonNode m = meta(hit.rec());
      if (m == null) {
        continue;
      }
      if (Records.ERASED.equals(m.get("status").asText())) {
        throw new StoreException(StoreException.Kind.GONE, "a record was already erased");
      }
      metas.put(hit.rec(), m);
    }
    if (metas.isEmpty()) {
      throw new StoreException(StoreException.Kind.NOT_FOUND, "nothing to erase");
    }
    // one ledger transaction names at most MAX_RECORDS_PER_TX records (a Synthea patient can
    // have tens of thousands); each carries the rows that destroy its records' entries
    List<String> all = new ArrayList<>(metas.keySet());
    List<String> txIds = new ArrayList<>();
    LedgerService.Outcome o = null;
    for (int from = 0; from < all.size(); from += CommandCodec.MAX_RECORDS_PER_TX) {
      List<String> recs = List.copyOf(
          all.subList(from, Math.min(all.size(), from + CommandCodec.MAX_RECORDS_PER_TX)));
      List<LedgerStore.Write> rows = new ArrayList<>();
      for (String rec : recs) {
        rows.addAll(erasureRows(rec, metas.get(rec)));
      }
      o = commit(new Command.EraseRecords(requestedBy, legalBasis, recs), rows);
      txIds.add(org.careledger.core.crypto.Codec.hex(
          ((TxResult.Committed) o.result()).txId()));
      compactor.execute(() -> compactErased(recs));
    }
    TxResult.Committed c = (TxResult.Committed) o.result();
    return new Erased(all.size(), List.copyOf(txIds), txIds.get(txIds.size() - 1),
        c.leafIndex(), o.height(), System.currentTimeMillis());
  }

  /** The node-private rows that erase a record: its vault entries and index entries. */
  private static List<LedgerStore.Write> erasureRows(String rec, JsonNode m) {
    List<LedgerStore.Write> rows = new ArrayList<>();
    for (long v = 1; v <= m.get("version").asLong(); v++) {
      rows.add(new LedgerStore.Write(PrivateFamily.VAULT, vaultKey(rec, v), null));
    }
    ObjectNode em = ((ObjectNode) m).deepCopy();
    em.put("status", Records.ERASED);
    rows.add(write(key("m/" + rec), em));
    rows.add(delete(key("t/" + m.get("type").asText() + "/"
        + time(m.get("lastUpdated").asLong()) + "/" + rec)));
    if (!m.path("patient").asText("").isEmpty()) {
      rows.add(delete(key("p/" + m.get("patient").asText() + "/" + rec)));
    }
    return rows;
  }

  /**
   * The rows that complete, on this node, a {@code records.erase} it applies without having
   * admitted it ({@link LedgerService#orphanRows}): the erasure rows of each of its records whose
   * index entry here is still live. That happens when the vault and index come from a backup
   * made before the erasure and the erasure comes back from the Raft log.
   */
  public static List<LedgerStore.Write> erasureRowsFor(LedgerStore store, Transaction tx) {
    JsonNode c = tx.command();
    if (!CommandCodec.RECORDS.equals(tx.contract()) || !"erase".equals(c.path("type").asText())) {
      return List.of();
    }
    List<LedgerStore.Write> rows = new ArrayList<>();
    for (JsonNode r : c.path("records")) {
      JsonNode m = json(store.getPrivate(PrivateFamily.FHIR, key("m/" + r.asText())));
      if (m != null && !Records.ERASED.equals(m.path("status").asText())) {
        rows.addAll(erasureRows(r.asText(), m));
      }
    }
    if (!rows.isEmpty()) {
      LOG.warn("erasure {} destroys vault entries this node still held (a vault restored from"
          + " an older backup)", tx.idHex());
    }
    return rows;
  }

  /** What {@link #rewrapVault} did: entries wrapped again, and entries left as they were. */
  public record Rewrapped(long entries, long left) {}

  /**
   * Wraps the data key of every vault entry again, under the key-encryption key that wraps now
   * ({@code careledger vault rotate-key}, on a stopped node), in batches that each commit whole;
   * the ciphertexts stay. Then the vault's table files are compacted, so they hold no data key
   * wrapped under the old key any more. An entry whose data key does not unwrap (it was damaged
   * before, and no read served it) or that has no index row is left as it was, and counted.
   */
  public static Rewrapped rewrapVault(LedgerStore store, Vault vault) throws java.io.IOException {
    long[] counts = new long[2];
    store.rewritePrivate(PrivateFamily.VAULT, store, (k, v) -> {
      String key = new String(k, StandardCharsets.UTF_8);
      int slash = key.lastIndexOf('/');
      String rec = key.substring(0, slash);
      long version = Long.parseLong(key.substring(slash + 1));
      JsonNode h = json(store.getPrivate(PrivateFamily.FHIR, historyKey(rec, version)));
      try {
        if (h == null) {
          throw new Vault.IntegrityException("it has no index row");
        }
        byte[] again = vault.rewrap(rec, version, h.get("patient").asText(), v);
        counts[0]++;
        return again;
      } catch (Vault.IntegrityException e) {
        counts[1]++;
        LOG.warn("the vault entry of record {} version {} was left as it was: {}", rec, version,
            e.getMessage());
        return null;
      }
    });
    store.flushToTables();
    store.compactVault(null, null);
    return new Rewrapped(counts[0], counts[1]);
  }

  /**
   * Destroys the vault entries of every record that the ledger says was erased but this
   * node's index still holds: a vault and index restored from a backup older than an erasure
   * (docs/operations.md, "Backups and restore"). Returns how many records it erased here.
   */
  public int sweepErased() throws java.io.IOException {
    long start = System.nanoTime();
    List<String> recs = new ArrayList<>();
    List<LedgerStore.Write> rows = new ArrayList<>();
    StateView state = ledger.store().state();
    long[] seen = new long[1];
    ledger.store().scanPrivate(PrivateFamily.FHIR, key("m/"), (k, v) -> {
      seen[0]++;
      JsonNode m = json(v);
      String rec = new String(k, StandardCharsets.UTF_8).substring(2);
      JsonNode onLedger = m == null || Records.ERASED.equals(m.path("status").asText()) ? null
          : Records.record(state, rec);
      if (onLedger != null && Records.ERASED.equals(onLedger.path("status").asText())) {
        recs.add(rec);
        rows.addAll(erasureRows(rec, m));
      }
      return true;
    });
    if (!recs.isEmpty()) {
      ledger.store().putPrivate(rows);
      LOG.warn("{}: destroyed the vault entries of {} record(s) that the ledger says were"
          + " erased (a vault restored from an older backup)", nodeName, recs.size());
      compactor.execute(() -> compactErased(recs));
    }
    LOG.info("{}: checked the {} record(s) of the vault's index against the ledger's erasures"
        + " in {} ms", nodeName, seen[0], (System.nanoTime() - start) / 1_000_000);
    return recs.size();
  }

  /** Runs {@link #sweepErased} on the vault's maintenance thread; reads are guarded meanwhile. */
  public void sweepErasedLater() {
    compactor.execute(() -> {
      try {
        sweepErased();
      } catch (java.io.IOException | RuntimeException e) {
        LOG.error("{}: could not check the vault against the ledger's erasures: {}", nodeName,
            e.getClass().getSimpleName());
      }
    });
  }

  // erased rows are deleted in the erasure's block; compaction then drops their bytes from the
  // table files, off the request thread and one erasure at a time
  private final java.util.concurrent.ExecutorService compactor =
      java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "vault-compaction");
        t.setDaemon(true);
        return t;
      });

  private void compactErased(List<String> recs) {
    try {
      if (recs.size() > 64) {
        ledger.store().compactVault(null, null);
      } else {
        for (String rec : recs) {
          // keys "<rec>/<version>": '/' is 0x2f and '0' 0x30, so [rec/, rec0) is exactly them
          ledger.store().compactVault(key(rec + "/"), key(rec + "0"));
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      LOG.warn("{}: vault compaction after an erasure failed ({}); RocksDB will compact later",
          nodeName, e.getClass().getSimpleName());
    }
  }

  /** Waits (up to a minute) for pending vault compactions; call before the store closes. */
  public void close() {
    compactor.shutdown();
    try {
      if (!compactor.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS)) {
        LOG.warn("{}: vault compaction still running at shutdown", nodeName);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The hit for one record, or null if it is unknown. */
  public Hit hit(String type, String id) {
    String rec = recordPseudonym(type, id);
    JsonNode m = meta(rec);
    return m == null || !type.equals(m.get("type").asText()) ? null : new Hit(rec, type);
  }

  /** The ledger anchor of a version: its commitment and the transaction that anchored it. */
  public JsonNode anchor(String type, String id, long version) {
    return Records.version(ledger.store().state(), recordPseudonym(type, id), version);
  }

  /** The current version number of a record, or 0. */
  public long currentVersion(String type, String id) {
    JsonNode m = meta(recordPseudonym(type, id));
    return m == null ? 0 : m.get("version").asLong();
  }

  public LedgerService ledger() {
    return ledger;
  }

  // ---------------------------------------------------------------------------- helpers

  static byte[] key(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static byte[] vaultKey(String rec, long version) {
    return key(rec + "/" + String.format("%020d", version));
  }

  static byte[] historyKey(String rec, long version) {
    return key("h/" + rec + "/" + String.format("%020d", version));
  }

  static String time(long ms) {
    return String.format("%015d", ms);
  }

  private static LedgerStore.Write write(byte[] k, ObjectNode v) {
    return new LedgerStore.Write(PrivateFamily.FHIR, k, CanonicalJson.canonicalize(v));
  }

  private static LedgerStore.Write delete(byte[] k) {
    return new LedgerStore.Write(PrivateFamily.FHIR, k, null);
  }

  private static JsonNode json(byte[] b) {
    if (b == null) {
      return null;
    }
    try {
      return CanonicalJson.parse(b);
    } catch (CanonicalJson.InvalidJsonException e) {
      throw new IllegalStateException("index entry is not JSON");
    }
  }
}
