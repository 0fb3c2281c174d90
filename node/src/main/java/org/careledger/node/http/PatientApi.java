package org.careledger.node.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.careledger.client.Sharing;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.ledger.AccessLog;
import org.careledger.core.ledger.Consents;
import org.careledger.core.ledger.Membership;
import org.careledger.core.ledger.Patients;
import org.careledger.core.ledger.Records;
import org.careledger.core.ledger.StateView;
import org.careledger.core.ledger.TxResult;
import org.careledger.core.tx.Transaction;
import org.careledger.core.tx.TxCodec;
import org.careledger.node.LedgerService;
import org.careledger.node.Receipts;
import org.careledger.node.access.Gatekeeper;
import org.careledger.node.auth.TokenService;
import org.careledger.node.fhir.FhirSetup;
import org.careledger.node.fhir.PatientRecords;
import org.careledger.node.fhir.RecordStore;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;

/**
 * The patient-facing and consent-facing part of {@code /api/v1}: enrollment offers and their
 * redemption, a patient's own view (links, grants, access events with proofs, a live event
 * stream, all their records as a FHIR Bundle, erasure), the auditor's view of access events,
 * and cross-organization sharing re-encrypted to the requester's HPKE key. Every path that
 * releases PHI goes through the {@link Gatekeeper}.
 */
final class PatientApi {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final char[] BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".toCharArray();
  private static final long OFFER_MS = 7L * 24 * 60 * 60 * 1000;
  /** How long one event-stream response stays open; clients reconnect with Last-Event-ID. */
  static final long STREAM_MS = 5 * 60 * 1000;
  private static final int MAX_BODY = 1 << 20;

  private final ApiHandler api;
  private final LedgerService ledger;
  private final RecordStore records;
  private final Gatekeeper gate;

  PatientApi(ApiHandler api, LedgerService ledger, RecordStore records, Gatekeeper gate) {
    this.api = api;
    this.ledger = ledger;
    this.records = records;
    this.gate = gate;
  }

  /** True if the path is this API's. */
  static boolean owns(String path) {
    return path.equals("/api/v1/enroll") || path.equals("/api/v1/enrollments")
        || path.startsWith("/api/v1/patients/") || path.equals("/api/v1/access-events")
        || path.equals("/api/v1/share");
  }

  /** Handles an authenticated request ({@code session} null only for /api/v1/enroll). */
  void handle(String path, String method, Request request, Response response, Callback callback,
      TokenService.Session session) throws Exception {
    switch (path) {
      case "/api/v1/enrollments" -> {
        post(method);
        ApiHandler.json(response, callback, 200, offer(session, body(request)));
      }
      case "/api/v1/patients/me" -> {
        get(method);
        ApiHandler.json(response, callback, 200, me(patient(session)));
      }
      case "/api/v1/patients/me/consents" -> {
        get(method);
        ArrayNode a = CanonicalJson.object().arrayNode();
        Consents.grants(this::scan, patient(session).id()).forEach(a::add);
        ObjectNode o = CanonicalJson.object();
        o.set("grants", a);
        o.put("atHeight", ledger.latest().header().height());
        ApiHandler.json(response, callback, 200, o);
      }
      case "/api/v1/patients/me/access-events" -> {
        get(method);
        Fields q = Request.extractQueryParameters(request);
        ApiHandler.json(response, callback, 200, events(pseudonyms(patient(session)), page(q)));
      }
      case "/api/v1/access-events" -> {
        get(method);
        ApiHandler.json(response, callback, 200, auditorEvents(session, request));
      }
      case "/api/v1/patients/me/stream" -> {
        get(method);
        stream(patient(session), request, response, callback);
      }
      case "/api/v1/patients/me/timeline" -> {
        get(method);
        ApiHandler.json(response, callback, 200, timeline(session));
      }
      case "/api/v1/patients/me/records" -> {
        get(method);
        export(session, request, response, callback);
      }
      case "/api/v1/patients/me/measurements/new" -> {
        get(method);
        ApiHandler.json(response, callback, 200, newMeasurement(patient(session)));
      }
      case "/api/v1/patients/me/measurements" -> {
        post(method);
        ApiHandler.json(response, callback, 201, contribute(patient(session), body(request)));
      }
      case "/api/v1/patients/me/requests" -> {
        get(method);
        ApiHandler.json(response, callback, 200, requests(patient(session)));
      }
      case "/api/v1/patients/lookup" -> {
        get(method);
        ApiHandler.json(response, callback, 200, lookup(session, request));
      }
      case "/api/v1/patients/me/erasure" -> {
        post(method);
        ApiHandler.json(response, callback, 200, erasure(patient(session), body(request)));
      }
      case "/api/v1/share" -> {
        post(method);
        ApiHandler.json(response, callback, 200, share(session, request, body(request)));
      }
      default -> throw new ApiHandler.Problem(404, "not-found", "Not found",
          "no resource at " + path);
    }
  }

  /** Redeems an enrollment: the body is a {@code patients.enroll} transaction, no token. */
  void enroll(String method, Request request, Response response, Callback callback)
      throws Exception {
    post(method);
    byte[] bytes = body(request);
    requireCommand(bytes, CommandCodec.PATIENTS, "enroll");
    ApiHandler.bytes(response, callback, 200, "application/json", commitSigned(bytes));
  }

  // ------------------------------------------------------------------------ enrollment

  private JsonNode offer(TokenService.Session s, byte[] body) throws Exception {
    if (!Gatekeeper.mayWrite(s, gate.org())) {
      throw new ApiHandler.Problem(403, "forbidden", "Not allowed", "only an admin,"
          + " practitioner or service of this organization may offer an enrollment");
    }
    JsonNode b = json(body);
    String patientId = b.path("patient").asText("");
    if (!patientId.matches("[A-Za-z0-9\\-.]{1,64}")) {
      throw new ApiHandler.Problem(400, "bad-request", "Invalid request",
          "'patient' must be the id of a Patient this node holds");
    }
    if (records.hit("Patient", patientId) == null) {
      throw new ApiHandler.Problem(404, "not-found", "No such patient",
          "this node holds no Patient with that id");
    }
    String recover = b.hasNonNull("recover") ? b.get("recover").asText() : null;
    String code = newCode();
    long expires = System.currentTimeMillis() + OFFER_MS;
    Command.OfferEnrollment cmd = new Command.OfferEnrollment(Patients.codeHash(code),
        records.patientPseudonym(patientId), expires, s.identity(), recover);
    LedgerService.Outcome o = commitAsNode(cmd);
    ObjectNode out = CanonicalJson.object();
    out.put("code", code);
    out.put("org", gate.org());
    out.put("expires", expires);
    out.put("offerTx", Codec.hex(((TxResult.Committed) o.result()).txId()));
    if (recover != null) {
      out.put("recover", recover);
    }
    return out;
  }

  static String newCode() {
    StringBuilder sb = new StringBuilder(29);
    for (int i = 0; i < 24; i++) {
      if (i > 0 && i % 4 == 0) {
        sb.append('-');
      }
      sb.append(BASE32[RANDOM.nextInt(32)]);
    }
    return sb.toString();
  }

  // ------------------------------------------------------------------------ patient view

  private Membership.Identity patient(TokenService.Session s) {
    Membership.Identity p = Gatekeeper.patientOf(s, ledger.store().state());
    if (p == null) {
      throw new ApiHandler.Problem(403, "forbidden", "Patients only",
          "this resource is a patient's own view; sign in with a patient identity");
    }
    return p;
  }

  private JsonNode me(Membership.Identity p) {
    ObjectNode o = p.toJson();
    ArrayNode links = o.putArray("links");
    for (JsonNode l : Patients.links(this::scan, p.id())) {
      ObjectNode lo = links.addObject();
      lo.put("org", l.get("org").asText());
      lo.put("since", l.get("since").asLong());
      lo.put("tx", l.get("tx").asText());
    }
    ArrayNode events = o.putArray("events");
    scan(Patients.eventPrefix(p.id()), (k, v) -> {
      events.add(parse(v));
      return true;
    });
    o.put("atHeight", ledger.latest().header().height());
    return o;
  }

  /** The pseudonyms of a patient: one per organization they are linked to. */
  private List<String> pseudonyms(Membership.Identity p) {
    List<String> out = new ArrayList<>();
    for (JsonNode l : Patients.links(this::scan, p.id())) {
      out.add(l.get("patient").asText());
    }
    return out;
  }

  private static long after(String s) {
    if (s == null) {
      return 0;
    }
    if (!s.matches("\\d{1,15}")) {
      throw new ApiHandler.Problem(400, "bad-parameter", "Invalid parameter",
          "'after' must be a time in ms");
    }
    return Long.parseLong(s);
  }

  /**
   * Which access events to answer: those after {@code after} (ms) and, when {@code before} is
   * set (an {@code older} cursor of an earlier answer), before that event; of those, the
   * {@code limit} newest.
   */
  record Page(long after, String beforeOrNull, int limit) {}

  /** The default and the largest number of access events in one answer. */
  static final int EVENTS_PAGE = 200;
  static final int EVENTS_PAGE_MAX = 1000;

  private static Page page(Fields q) {
    String before = q.getValue("before");
    if (before != null && !before.matches("\\d{15}/[0-9a-f]{64}/\\d{4}")) {
      throw new ApiHandler.Problem(400, "bad-parameter", "Invalid parameter",
          "'before' must be the 'older' cursor of an earlier answer");
    }
    String limit = q.getValue("limit");
    if (limit != null && (!limit.matches("\\d{1,4}") || Integer.parseInt(limit) < 1
        || Integer.parseInt(limit) > EVENTS_PAGE_MAX)) {
      throw new ApiHandler.Problem(400, "bad-parameter", "Invalid parameter",
          "'limit' must be 1 to " + EVENTS_PAGE_MAX);
    }
    return new Page(after(q.getValue("after")), before,
        limit == null ? EVENTS_PAGE : Integer.parseInt(limit));
  }

  /** An event's place in the order of events: time, transaction, index within it. */
  private static String cursor(JsonNode e) {
    return String.format("%015d", e.get("time").asLong()) + "/" + e.get("tx").asText() + "/"
        + String.format("%04d", e.get("index").asLong());
  }

  /**
   * Access events about these pseudonyms, oldest first, each with the receipt of the
   * transaction that recorded it: the newest {@code page.limit()} of those the page selects,
   * and, when there are older ones, {@code older}: the cursor that asks for them.
   */
  private JsonNode events(List<String> pseudonyms, Page page) {
    String before = page.beforeOrNull();
    List<JsonNode> all = new ArrayList<>();
    for (String pp : pseudonyms) {
      scan(AccessLog.prefix(pp), (k, v) -> {
        JsonNode e = parse(v);
        if (e.get("time").asLong() > page.after()
            && (before == null || cursor(e).compareTo(before) < 0)) {
          all.add(e);
        }
        return true;
      });
    }
    all.sort(java.util.Comparator.comparing(PatientApi::cursor));
    List<JsonNode> shown = all.subList(Math.max(0, all.size() - page.limit()), all.size());
    ObjectNode o = CanonicalJson.object();
    ArrayNode events = o.putArray("events");
    Map<String, JsonNode> receipts = new HashMap<>();
    for (JsonNode e : shown) {
      ObjectNode eo = ((ObjectNode) e).deepCopy();
      eo.set("receipt", receipts.computeIfAbsent(e.get("tx").asText(), this::receipt));
      events.add(eo);
    }
    if (shown.size() < all.size()) {
      o.put("older", cursor(shown.get(0)));
    }
    o.put("atHeight", ledger.latest().header().height());
    return o;
  }

  private JsonNode receipt(String txHex) {
    byte[] r = Receipts.latest(ledger, Codec.unhex(txHex));
    return r == null ? null : parse(r);
  }

  private JsonNode auditorEvents(TokenService.Session s, Request request) {
    Fields q = Request.extractQueryParameters(request);
    String who = q.getValue("patient");
    if (s.role() == Role.PATIENT) {
      if (who != null && !who.equals(s.identity())) {
        throw new ApiHandler.Problem(403, "forbidden", "Not allowed",
            "a patient sees the access events about themselves only");
      }
      return events(pseudonyms(patient(s)), page(q));
    }
    if (s.role() != Role.AUDITOR) {
      throw new ApiHandler.Problem(403, "forbidden", "Not allowed",
          "access events are for the patient they concern and for auditors");
    }
    if (who == null || !who.matches("[a-z0-9][a-z0-9._-]{0,63}")) {
      throw new ApiHandler.Problem(400, "bad-parameter", "Invalid parameter",
          "'patient' must name a patient identity");
    }
    Membership.Identity p = Membership.identity(ledger.store().state(), who);
    if (p == null || p.role() != Role.PATIENT) {
      throw new ApiHandler.Problem(404, "not-found", "No such patient",
          "no patient identity " + who);
    }
    return events(pseudonyms(p), page(q));
  }

  /**
   * Server-sent events: each new access event about the patient as one {@code access} event
   * (id = its time, so a reconnect with Last-Event-ID resumes), break-glass ones also as
   * {@code break-glass}; a comment every 15 s keeps the connection open.
   */
  private void stream(Membership.Identity p, Request request, Response response,
      Callback callback) throws Exception {
    long after = 0;
    String last = request.getHeaders().get("Last-Event-ID");
    if (last != null && last.matches("\\d{1,15}")) {
      after = Long.parseLong(last);
    } else {
      after = after(Request.extractQueryParameters(request).getValue("after"));
      if (after == 0) {
        after = System.currentTimeMillis();
      }
    }
    response.setStatus(200);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    long end = System.currentTimeMillis() + STREAM_MS;
    long lastWrite = 0;
    List<String> pseudonyms = pseudonyms(p);
    try {
      write(response, ": careledger access events for " + p.id() + "\n\n", false);
      while (System.currentTimeMillis() < end) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode e : events(pseudonyms, new Page(after, null, Integer.MAX_VALUE))
            .get("events")) {
          long t = e.get("time").asLong();
          String data = new String(CanonicalJson.canonicalize(e), StandardCharsets.UTF_8);
          sb.append("id: ").append(t).append("\nevent: ")
              .append(e.get("breakGlass").asBoolean() ? "break-glass" : "access")
              .append("\ndata: ").append(data).append("\n\n");
          after = Math.max(after, t);
        }
        if (sb.length() > 0 || System.currentTimeMillis() - lastWrite > 15_000) {
          write(response, sb.length() > 0 ? sb.toString() : ": keep-alive\n\n", false);
          lastWrite = System.currentTimeMillis();
        }
        Thread.sleep(250);
      }
      response.write(true, null, callback);
    } catch (java.io.IOException e) {
      // the subscriber went away
      callback.failed(e);
    }
  }

  private static void write(Response response, String s, boolean last)
      throws java.io.IOException {
    try (Blocker.Callback cb = Blocker.callback()) {
      response.write(last, ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8)), cb);
      cb.block();
    }
  }

  /** All the patient's records at this node as a FHIR Bundle (a recorded release). */
  private void export(TokenService.Session s, Request request, Response response,
      Callback callback) throws Exception {
    Membership.Identity p = patient(s);
    String pp = Patients.pseudonymAt(ledger.store().state(), p.id(), gate.org());
    List<RecordStore.Hit> hits = pp == null ? List.of() : records.compartmentOf(pp, null,
        false);
    Gatekeeper.Caller caller = Gatekeeper.caller(s, "PATRQT", null);
    Set<String> ok = new java.util.HashSet<>();
    gate.admit(caller, "export", records.targets(hits), false).allowed()
        .forEach(t -> ok.add(t.rec()));
    Bundle b = new Bundle();
    b.setType(Bundle.BundleType.COLLECTION);
    b.setTimestamp(new java.util.Date());
    for (RecordStore.Hit h : hits) {
      if (!ok.contains(h.rec())) {
        continue;
      }
      IBaseResource r = records.load(h);
      if (r != null) {
        b.addEntry().setFullUrl(r.getIdElement().toUnqualifiedVersionless().getValue())
            .setResource((Resource) r);
      }
    }
    byte[] out = FhirSetup.CONTEXT.newJsonParser().encodeResourceToString(b)
        .getBytes(StandardCharsets.UTF_8);
    response.getHeaders().put("Content-Disposition",
        "attachment; filename=\"careledger-records-" + gate.org() + ".json\"");
    ApiHandler.bytes(response, callback, 200, "application/fhir+json", out);
  }

  /**
   * Every record of the signed-in patient at this organization, for the portal's timeline:
   * per record its salted bytes (32-byte salt, then the exact stored resource) and the id of
   * the transaction that anchored that version; per anchoring transaction one receipt (the
   * transaction, its inclusion proof and a signed tree head). The page checks SHA-256(salted)
   * against the commitment in the transaction and the proof against the head itself. The read
   * is one access event like any other.
   */
  private JsonNode timeline(TokenService.Session s) throws Exception {
    Membership.Identity p = patient(s);
    String pp = Patients.pseudonymAt(ledger.store().state(), p.id(), gate.org());
    List<RecordStore.Hit> hits = pp == null ? List.of() : records.compartmentOf(pp, null,
        false);
    Set<String> ok = new java.util.HashSet<>();
    if (!hits.isEmpty()) {
      gate.admit(Gatekeeper.caller(s, "PATRQT", null), "everything", records.targets(hits),
          false).allowed().forEach(t -> ok.add(t.rec()));
    }
    ObjectNode o = CanonicalJson.object();
    o.put("custodian", gate.org());
    o.put("chain", ledger.chain());
    ArrayNode out = o.putArray("records");
    ObjectNode anchors = o.putObject("anchors");
    StateView state = ledger.store().state();
    for (RecordStore.Hit h : hits) {
      if (!ok.contains(h.rec())) {
        continue;
      }
      byte[] salted;
      try {
        salted = records.saltedContent(h);
      } catch (RecordStore.StoreException e) {
        continue;
      }
      long version = records.versionOf(h);
      String tx = Records.version(state, h.rec(), version).get("tx").asText();
      ObjectNode r = out.addObject();
      r.put("record", h.rec());
      r.put("version", version);
      r.put("resourceType", h.type());
      r.put("anchorTx", tx);
      r.put("salted", Codec.b64(salted));
      JsonNode summary = Records.record(state, h.rec());
      if (summary != null && summary.has("author")) {
        r.put("author", summary.get("author").asText());
      }
      if (!anchors.has(tx)) {
        anchors.set(tx, receipt(tx));
      }
    }
    o.put("atHeight", ledger.latest().header().height());
    return o;
  }

  /**
   * The patient's erasure request: the body is their signed {@code patients.request-erasure}
   * for this organization; once it is committed, this node erases every record of theirs
   * (data keys and ciphertext destroyed) and anchors the erasure with the patient as requester.
   */
  private JsonNode erasure(Membership.Identity p, byte[] bytes) throws Exception {
    Transaction tx = requireCommand(bytes, CommandCodec.PATIENTS, "request-erasure");
    if (!tx.signer().equals(p.keyId())) {
      throw new ApiHandler.Problem(403, "forbidden", "Not allowed",
          "an erasure request is signed by the signed-in patient's own key");
    }
    if (!gate.org().equals(tx.command().path("org").asText())) {
      throw new ApiHandler.Problem(400, "bad-request", "Wrong organization",
          "this node erases the records of " + gate.org() + " only");
    }
    JsonNode request = parse(commitSigned(bytes));
    String pp = Patients.pseudonymAt(ledger.store().state(), p.id(), gate.org());
    List<RecordStore.Hit> hits = records.compartmentOf(pp, null, true);
    ObjectNode o = CanonicalJson.object();
    o.set("request", request);
    if (hits.isEmpty()) {
      o.put("erasedRecords", 0);
      return o;
    }
    RecordStore.Erased e = records.erase(p.id(), "patient request " + request.get("txId")
        .asText().substring(0, 16) + ": " + tx.command().get("legalBasis").asText(), hits);
    o.put("erasedRecords", e.records());
    if (e.txIds().size() > 1) {
      // more records than one ledger transaction names: every transaction, in order
      e.txIds().forEach(o.putArray("erasureTxIds")::add);
    }
    o.set("erasure", receipt(e.txId()));
    return o;
  }

  // ------------------------------------------------------------------------ measurements

  /** The FHIR id of the patient's Patient record here, read from the vault (checked). */
  private String patientFhirId(String pp) throws Exception {
    for (RecordStore.Hit h : records.compartmentOf(pp, "Patient", false)) {
      return records.load(h).getIdElement().getIdPart();
    }
    throw new ApiHandler.Problem(404, "not-found", "No patient record",
        "this organization holds no Patient record for you");
  }

  private String linkedHere(Membership.Identity p) {
    String pp = Patients.pseudonymAt(ledger.store().state(), p.id(), gate.org());
    if (pp == null) {
      throw new ApiHandler.Problem(404, "not-found", "Not linked here",
          "your identity is not linked to records at " + gate.org());
    }
    return pp;
  }

  /**
   * What the browser needs to write a measurement: a new record id, its pseudonym (which the
   * patient signs) and the reference to the patient's own Patient record.
   */
  private JsonNode newMeasurement(Membership.Identity p) throws Exception {
    String pp = linkedHere(p);
    String id = RecordStore.newId();
    ObjectNode o = CanonicalJson.object();
    o.put("org", gate.org());
    o.put("resourceType", "Observation");
    o.put("id", id);
    o.put("record", records.recordPseudonym("Observation", id));
    o.put("subject", "Patient/" + patientFhirId(pp));
    o.put("now", System.currentTimeMillis());
    return o;
  }

  /**
   * Stores a measurement the patient wrote and signed: the body holds their signed
   * {@code patients.contribute} transaction ({@code tx}, base64url) and the salted resource
   * bytes it commits to ({@code salted}, base64url). Nothing is stored unless both check out
   * and the transaction commits.
   */
  private JsonNode contribute(Membership.Identity p, byte[] body) throws Exception {
    JsonNode b = json(body);
    byte[] txBytes;
    byte[] salted;
    try {
      txBytes = Codec.unb64(b.path("tx").asText(""));
      salted = Codec.unb64(b.path("salted").asText(""));
    } catch (IllegalArgumentException e) {
      throw new ApiHandler.Problem(400, "bad-request", "Invalid request",
          "tx and salted must be base64url");
    }
    Transaction tx = requireCommand(txBytes, CommandCodec.PATIENTS, "contribute");
    if (!tx.signer().equals(p.keyId())) {
      throw new ApiHandler.Problem(403, "forbidden", "Not allowed",
          "a measurement is signed by the signed-in patient's own key");
    }
    JsonNode c = tx.command();
    if (!gate.org().equals(c.path("org").asText())) {
      throw new ApiHandler.Problem(400, "bad-request", "Wrong organization",
          "this node holds the records of " + gate.org() + " only");
    }
    if (!Codec.hex(Sha256.hash(salted))
        .equals(c.path("commitment").asText())) {
      throw new ApiHandler.Problem(400, "bad-commitment", "Commitment mismatch",
          "the signed commitment is not SHA-256 of the salted bytes sent");
    }
    String pp = linkedHere(p);
    String patientId = patientFhirId(pp);
    long now = System.currentTimeMillis();
    PatientRecords.Checked checked;
    try {
      checked = PatientRecords.check(salted, patientId, now);
    } catch (PatientRecords.Invalid e) {
      throw new ApiHandler.Problem(422, "invalid-resource", "Invalid measurement",
          e.getMessage());
    }
    if (!records.recordPseudonym("Observation", checked.id()).equals(c.path("record").asText())
        || !"Observation".equals(c.path("resourceType").asText())) {
      throw new ApiHandler.Problem(400, "bad-request", "Wrong record",
          "the signed record is not the Observation sent (its id must be the one assigned)");
    }
    LedgerService.Outcome o;
    try {
      o = records.contribute(tx, checked.type(), checked.id(), pp,
          List.copyOf(checked.codes()), salted, checked.lastUpdated());
    } catch (RecordStore.StoreException e) {
      throw new ApiHandler.Problem(e.kind() == RecordStore.StoreException.Kind.UNAVAILABLE
          ? 503 : 409, "refused", "Not stored", e.getMessage());
    }
    if (o.result() instanceof TxResult.Refused r) {
      throw new ApiHandler.Problem(409, r.refusal().reason().code(), "Refused",
          r.refusal().detail());
    }
    ObjectNode out = CanonicalJson.object();
    out.put("resourceType", checked.type());
    out.put("id", checked.id());
    out.put("record", c.path("record").asText());
    out.set("receipt", receipt(tx.idHex()));
    return out;
  }

  // ------------------------------------------------------------------------ access requests

  /** The requests made to the patient, each with its state: open, granted, declined, expired. */
  private JsonNode requests(Membership.Identity p) {
    long now = System.currentTimeMillis();
    List<JsonNode> grants = Consents.grants(this::scan, p.id());
    ArrayNode a = CanonicalJson.object().arrayNode();
    for (JsonNode r : Consents.requests(this::scan, p.id())) {
      ObjectNode o = ((ObjectNode) r).deepCopy();
      String state = r.get("status").asText();
      if (Consents.OPEN.equals(state)) {
        if (answeredBy(r, grants)) {
          state = "granted";
        } else if (r.get("end").asLong() < now) {
          state = "expired";
        }
      }
      o.put("state", state);
      a.add(o);
    }
    ObjectNode o = CanonicalJson.object();
    o.set("requests", a);
    o.put("atHeight", ledger.latest().header().height());
    return o;
  }

  /** True if an active grant made after the request gives the requester what they asked. */
  private static boolean answeredBy(JsonNode request, List<JsonNode> grants) {
    String grantee = "identity:" + request.get("requester").asText();
    for (JsonNode g : grants) {
      if (!Consents.ACTIVE.equals(g.path("status").asText())
          || !grantee.equals(g.path("grantee").asText())
          || g.path("time").asLong() < request.get("time").asLong()) {
        continue;
      }
      Set<String> purposes = new java.util.HashSet<>();
      g.path("purposes").forEach(x -> purposes.add(x.asText()));
      boolean all = true;
      for (JsonNode x : request.get("purposes")) {
        all &= purposes.contains(x.asText());
      }
      if (all) {
        return true;
      }
    }
    return false;
  }

  /**
   * For a practitioner (of any member organization): the pseudonym under which a patient of
   * this organization (by FHIR id) is known on the ledger, and whether they have enrolled, so
   * the practitioner can sign a request for access. Reveals no record.
   */
  private JsonNode lookup(TokenService.Session s, Request request) {
    Membership.Identity who = Membership.identity(ledger.store().state(), s.identity());
    if (who == null || who.role() != Role.PRACTITIONER) {
      throw new ApiHandler.Problem(403, "forbidden", "Practitioners only",
          "only practitioners may look up a patient to ask for access");
    }
    String id = Request.extractQueryParameters(request).getValue("id");
    if (id == null || !id.matches("[A-Za-z0-9\\-.]{1,64}")) {
      throw new ApiHandler.Problem(400, "bad-parameter", "Invalid parameter",
          "id must be a FHIR id");
    }
    String pp = records.patientPseudonym(id);
    ObjectNode o = CanonicalJson.object();
    o.put("patient", pp);
    o.put("org", gate.org());
    o.put("enrolled", Patients.owner(ledger.store().state(), gate.org(), pp) != null);
    return o;
  }

  // ------------------------------------------------------------------------ sharing

  /**
   * A requester (typically at another organization) asks for a patient's records held here,
   * naming the patient's network identity and an HPKE public key. Each record is decided by
   * the gatekeeper, the decisions committed, and the allowed ones returned encrypted to that
   * key with the transaction that anchors them.
   */
  private JsonNode share(TokenService.Session s, Request request, byte[] body)
      throws Exception {
    JsonNode b = json(body);
    String who = b.path("patient").asText("");
    byte[] recipient;
    try {
      recipient = Codec.unb64(b.path("recipientKey").asText(""));
    } catch (IllegalArgumentException e) {
      recipient = new byte[0];
    }
    if (!who.matches("[a-z0-9][a-z0-9._-]{0,63}") || recipient.length == 0) {
      throw new ApiHandler.Problem(400, "bad-request", "Invalid share request",
          "'patient' (a patient identity) and 'recipientKey' (a base64url Tink HPKE public"
              + " keyset) are required");
    }
    Set<String> types = new java.util.HashSet<>();
    b.path("types").forEach(t -> types.add(t.asText()));
    Gatekeeper.Caller caller;
    try {
      caller = Gatekeeper.caller(s, request.getHeaders().get("X-Purpose-Of-Use"),
          request.getHeaders().get("X-Break-Glass-Reason"));
    } catch (IllegalArgumentException e) {
      throw new ApiHandler.Problem(400, "bad-parameter", "Invalid purpose", e.getMessage());
    }
    String pp = Patients.pseudonymAt(ledger.store().state(), who, gate.org());
    List<RecordStore.Hit> hits = new ArrayList<>();
    if (pp != null) {
      for (RecordStore.Hit h : records.compartmentOf(pp, null, false)) {
        if (types.isEmpty() || types.contains(h.type())) {
          hits.add(h);
        }
      }
    }
    Gatekeeper.Admitted admitted = gate.admit(caller, "share", records.targets(hits), false);
    if (s == null) {
      throw new ApiHandler.Problem(401, "unauthenticated", "Authentication required",
          "send 'Authorization: Bearer <token>' from /api/v1/auth/token");
    }
    Set<String> ok = new java.util.HashSet<>();
    admitted.allowed().forEach(t -> ok.add(t.rec()));
    ObjectNode o = CanonicalJson.object();
    o.put("custodian", gate.org());
    o.put("chain", ledger.chain());
    o.put("patient", who);
    o.put("refused", admitted.refused());
    if (admitted.txIdOrNull() != null) {
      o.put("accessEventTx", admitted.txIdOrNull());
    }
    ArrayNode out = o.putArray("records");
    StateView state = ledger.store().state();
    for (RecordStore.Hit h : hits) {
      if (!ok.contains(h.rec())) {
        continue;
      }
      long version = records.versionOf(h);
      byte[] salted = records.saltedContent(h);
      byte[] ct;
      try {
        ct = Sharing.seal(recipient, salted, Sharing.info(ledger.chain(), h.rec(), version));
      } catch (GeneralSecurityException e) {
        throw new ApiHandler.Problem(400, "bad-recipient-key", "Invalid recipient key",
            e.getMessage());
      } finally {
        java.util.Arrays.fill(salted, (byte) 0);
      }
      ObjectNode r = out.addObject();
      r.put("record", h.rec());
      r.put("version", version);
      r.put("resourceType", h.type());
      r.put("anchorTx", Records.version(state, h.rec(), version).get("tx").asText());
      r.put("ciphertext", Codec.b64(ct));
    }
    return o;
  }

  // ------------------------------------------------------------------------ helpers

  private LedgerService.Outcome commitAsNode(Command c) throws ApiHandler.Problem {
    try {
      return records.commit(c, List.of());
    } catch (RecordStore.StoreException e) {
      throw new ApiHandler.Problem(e.kind() == RecordStore.StoreException.Kind.UNAVAILABLE
          ? 503 : 409, "refused", "Refused", e.getMessage());
    }
  }

  /** Submits a client-signed transaction and waits for its receipt (or its problem). */
  private byte[] commitSigned(byte[] bytes) throws Exception {
    try {
      return api.admitOne(bytes, System.nanoTime()).get(70, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof ApiHandler.Problem p) {
        throw p;
      }
      throw new ApiHandler.Problem(503, "not-ordered", "Transaction not ordered",
          "the transaction could not be ordered");
    }
  }

  private static Transaction requireCommand(byte[] bytes, String contract, String type) {
    if (TxCodec.decode(bytes) instanceof TxCodec.Decoded.Ok ok
        && contract.equals(ok.tx().contract())
        && type.equals(ok.tx().command().path("type").asText())) {
      return ok.tx();
    }
    throw new ApiHandler.Problem(400, "bad-request", "Wrong transaction",
        "the body must be one signed " + contract + "." + type + " transaction");
  }

  private void scan(String prefix, java.util.function.BiPredicate<String, byte[]> visitor) {
    ledger.store().scanState(prefix, visitor);
  }

  private static byte[] body(Request request) throws InterruptedException {
    return ApiHandler.smallBody(request, MAX_BODY, "Request refused");
  }

  private static JsonNode json(byte[] body) {
    try {
      JsonNode n = CanonicalJson.parse(body);
      if (!n.isObject()) {
        throw new CanonicalJson.InvalidJsonException("not an object");
      }
      return n;
    } catch (CanonicalJson.InvalidJsonException e) {
      throw new ApiHandler.Problem(400, "not-json", "Invalid request",
          "the body must be a JSON object");
    }
  }

  private static JsonNode parse(byte[] b) {
    try {
      return CanonicalJson.parse(b);
    } catch (CanonicalJson.InvalidJsonException e) {
      throw new IllegalStateException("stored JSON is damaged");
    }
  }

  private static void get(String method) {
    if (!"GET".equals(method)) {
      throw new ApiHandler.Problem(405, "method-not-allowed", "Method not allowed", "use GET");
    }
  }

  private static void post(String method) {
    if (!"POST".equals(method)) {
      throw new ApiHandler.Problem(405, "method-not-allowed", "Method not allowed",
          "use POST");
    }
  }
}
