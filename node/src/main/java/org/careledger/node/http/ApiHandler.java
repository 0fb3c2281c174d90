package org.careledger.node.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.careledger.core.crypto.Codec;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.ledger.Block;
import org.careledger.core.ledger.Membership;
import org.careledger.core.ledger.TxResult;
import org.careledger.core.tx.Refusal;
import org.careledger.core.tx.Transaction;
import org.careledger.core.tx.TxCodec;
import org.careledger.node.LedgerService;
import org.careledger.node.store.LedgerStore;
import org.careledger.node.auth.TokenService;
import org.careledger.node.Receipts;
import org.careledger.node.Submitter;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.FormFields;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JSON API ({@code /api/v1}), health ({@code /health}) and metrics ({@code /metrics}).
 * Every {@code /api/v1} route but the token endpoint needs a bearer token. Errors are RFC 9457
 * problem documents whose detail never carries an exception message or a payload.
 */
public final class ApiHandler extends Handler.Abstract {
  private static final Logger LOG = LoggerFactory.getLogger(ApiHandler.class);
  private static final String PROBLEM = "urn:careledger:problem:";
  private static final Pattern TX = Pattern.compile("/api/v1/transactions/([0-9a-f]{64})");
  private static final Pattern BLOCK = Pattern.compile("/api/v1/blocks/(\\d{1,18})");
  private static final Pattern IDENTITY =
      Pattern.compile("/api/v1/membership/identities/([a-z0-9._-]{1,64})");
  private static final Pattern KEY = Pattern.compile("/api/v1/membership/keys/([0-9a-f]{32})");
  private static final Pattern ORG =
      Pattern.compile("/api/v1/membership/organizations/([a-z0-9._-]{1,64})");

  private final String nodeName;
  private final String nodeId;
  private final LedgerService ledger;
  private final Submitter submitter;
  private final TokenService tokens;
  private final java.util.function.BooleanSupplier isLeader;
  private volatile java.util.function.Supplier<String> leaderId = () -> null;
  private volatile java.util.function.Supplier<java.util.Map<String, Object>> network =
      java.util.Map::of;
  private volatile ObjectNode lastVerify;
  private static final com.fasterxml.jackson.databind.ObjectMapper MAPPER =
      new com.fasterxml.jackson.databind.ObjectMapper();
  private volatile java.util.Set<String> corsOrigins = java.util.Set.of();
  private final PrometheusMeterRegistry metrics;
  private final Timer commitLatency;
  private final Counter committed;

  public ApiHandler(String nodeName, String nodeId, LedgerService ledger, Submitter submitter,
      TokenService tokens, java.util.function.BooleanSupplier isLeader,
      PrometheusMeterRegistry metrics) {
    this.nodeName = nodeName;
    this.nodeId = nodeId;
    this.ledger = ledger;
    this.submitter = submitter;
    this.tokens = tokens;
    this.isLeader = isLeader;
    this.metrics = metrics;
    this.commitLatency = Timer.builder("careledger_commit_latency")
        .description("time from admission to commit acknowledgement")
        .publishPercentiles(0.5, 0.99).register(metrics);
    this.committed = Counter.builder("careledger_tx_committed").register(metrics);
    metrics.gauge("careledger_block_height", ledger, l -> l.latest().header().height());
    metrics.gauge("careledger_log_size", ledger, l -> l.latest().header().logSize());
  }

  /** An error to report as a problem document. */
  static final class Problem extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int status;
    final String code;
    final String title;

    Problem(int status, String code, String title, String detail) {
      super(detail, null, false, false);
      this.status = status;
      this.code = code;
      this.title = title;
    }
  }

  /** Where {@code /api/v1/network} learns this node's view of the Raft group. */
  public void network(java.util.function.Supplier<java.util.Map<String, Object>> source) {
    this.network = source;
  }

  /** The result of the ledger check this node ran at start, shown in the status. */
  public void verifiedAtStart(ObjectNode result) {
    this.lastVerify = result;
  }

  /**
   * The origins (the other organizations' nodes, {@code network-urls}) whose portal pages may
   * call this API with a bearer token; cookies are never sent across origins, so cross-origin
   * calls carry no session of this node.
   */
  public void corsOrigins(java.util.Collection<String> origins) {
    this.corsOrigins = java.util.Set.copyOf(origins);
  }

  /** Hands the Raft leadership to a member node ({@code POST /api/v1/network/leader}). */
  public interface LeaderTransfer {
    void to(String nodeId) throws java.io.IOException;
  }

  private LeaderTransfer leaderTransfer;

  /** Writes a backup of this node's data dir ({@code POST /api/v1/backup}). */
  public interface BackupHook {
    /** The backup's directory and the ledger height it holds. */
    record Taken(java.nio.file.Path dir, long height) {}

    Taken take() throws java.io.IOException;
  }

  private BackupHook backup;
  private String backupOrg;

  /** Lets an admin of {@code org}, this node's organization, ask for a backup. */
  public void backup(BackupHook hook, String org) {
    this.backup = hook;
    this.backupOrg = org;
  }

  public void leaderTransfer(LeaderTransfer t) {
    this.leaderTransfer = t;
  }

  /** Where health and status learn the current Raft leader's node id. */
  public void leaderId(java.util.function.Supplier<String> source) {
    this.leaderId = source;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String path = Request.getPathInContext(request);
    String method = request.getMethod();
    try {
      String origin = request.getHeaders().get(HttpHeader.ORIGIN);
      if (origin != null && path.startsWith("/api/v1/") && corsOrigins.contains(origin)) {
        response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        response.getHeaders().add(HttpHeader.VARY, "Origin");
        if (HttpMethod.OPTIONS.is(method)) {
          response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_METHODS, "GET, POST");
          response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_HEADERS,
              "Authorization, Content-Type");
          response.getHeaders().put(HttpHeader.ACCESS_CONTROL_MAX_AGE, "600");
          response.setStatus(204);
          callback.succeeded();
          return true;
        }
      }
      if (path.equals("/health")) {
        ObjectNode o = CanonicalJson.object();
        o.put("status", "ok");
        o.put("chain", ledger.chain());
        o.put("node", nodeId);
        o.put("leader", isLeader.getAsBoolean());
        String leader = leaderId.get();
        if (leader != null) {
          o.put("leaderId", leader);
        }
        o.put("height", ledger.latest().header().height());
        o.put("logSize", ledger.latest().header().logSize());
        json(response, callback, 200, o);
        return true;
      }
      if (path.equals("/metrics")) {
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; version=0.0.4");
        response.write(true, ByteBuffer.wrap(metrics.scrape().getBytes(StandardCharsets.UTF_8)),
            callback);
        return true;
      }
      if (path.equals("/") && (HttpMethod.GET.is(method) || HttpMethod.HEAD.is(method))) {
        response.setStatus(302);
        response.getHeaders().put(HttpHeader.LOCATION, "/portal/");
        callback.succeeded();
        return true;
      }
      if (!path.startsWith("/api/v1/")) {
        throw new Problem(404, "not-found", "Not found", "no resource at " + path);
      }
      if (ledger.installingSnapshot()) {
        throw new Problem(503, "unavailable", "Installing a snapshot", LedgerService.INSTALLING);
      }
      if (path.equals("/api/v1/auth/token")) {
        requireMethod(method, HttpMethod.POST);
        token(request, response, callback);
        return true;
      }
      if (path.equals("/api/v1/enroll") && patients != null) {
        patients.enroll(method, request, response, callback);
        return true;
      }
      if (path.equals("/api/v1/share") && patients != null) {
        // an attempt without a valid token is refused after it is recorded, like any other
        patients.handle(path, method, request, response, callback, sessionOrNull(request));
        return true;
      }
      TokenService.Session session = authenticate(request);
      if (patients != null && PatientApi.owns(path)) {
        patients.handle(path, method, request, response, callback, session);
        return true;
      }
      if (path.equals("/api/v1/transactions")) {
        requireMethod(method, HttpMethod.POST);
        submit(request, response, callback);
        return true;
      }
      if (path.equals("/api/v1/backup") && backup != null) {
        requireMethod(method, HttpMethod.POST);
        takeBackup(response, callback, session);
        return true;
      }
      if (path.equals("/api/v1/network/leader") && leaderTransfer != null) {
        requireMethod(method, HttpMethod.POST);
        transferLeader(request, response, callback, session);
        return true;
      }
      if (path.equals("/api/v1/transactions/batch")) {
        requireMethod(method, HttpMethod.POST);
        submitBatch(request, response, callback);
        return true;
      }
      requireMethod(method, HttpMethod.GET);
      json(response, callback, 200, read(path, request, session));
    } catch (Problem p) {
      problem(response, callback, p);
    } catch (org.careledger.node.fhir.RecordStore.StoreException e) {
      problem(response, callback, switch (e.kind()) {
        case NOT_FOUND -> new Problem(404, "not-found", "Not found", e.getMessage());
        case GONE -> new Problem(410, "gone", "Gone", e.getMessage());
        case CONFLICT, REFUSED -> new Problem(409, "conflict", "Refused", e.getMessage());
        case INTEGRITY -> new Problem(500, "integrity", "Integrity check failed",
            e.getMessage());
        case UNAVAILABLE -> new Problem(503, "unavailable", "Ledger unavailable",
            e.getMessage());
        case TOO_LARGE -> new Problem(413, "too-large", "Too large", e.getMessage());
      });
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      problem(response, callback,
          new Problem(503, "unavailable", "Interrupted", "the node is stopping"));
    } catch (Exception e) {
      LOG.error("{}: {} {} failed: {}", nodeName, method, path, e.getClass().getName());
      problem(response, callback,
          new Problem(500, "internal", "Internal error", "the node could not answer"));
    }
    return true;
  }

  /** How long a request body may take to arrive. */
  static final int BODY_SECONDS = 30;

  /**
   * The problem for a request body that could not be read: 408 if it did not arrive within
   * {@value #BODY_SECONDS} s, 400 if it ended before the length it declared, and otherwise 413
   * with {@code tooLargeCode} (it is larger than {@code max} bytes).
   */
  static Problem unreadBody(Throwable err, long max, String tooLargeCode, String title) {
    for (Throwable t = err; t != null; t = t.getCause()) {
      if (t instanceof TimeoutException) {
        return new Problem(408, "body-timeout", title,
            "the request body did not arrive within " + BODY_SECONDS + " s");
      }
      if (t instanceof java.io.EOFException) {
        return new Problem(400, "incomplete-body", title,
            "the request body ended before the length it declared");
      }
    }
    return new Problem(413, tooLargeCode, title, "the request body exceeds " + max + " bytes");
  }

  /** Reads a small request body (at most {@code max} bytes) or throws its {@link Problem}. */
  static byte[] smallBody(Request request, int max, String title) throws InterruptedException {
    try {
      return Content.Source.asByteArrayAsync(request, max).get(BODY_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw unreadBody(e, max, "too-large", title);
    } catch (java.util.concurrent.ExecutionException e) {
      throw unreadBody(e.getCause(), max, "too-large", title);
    }
  }

  private PatientApi patients;
  private boolean auditReads = true;

  /** Adds the patient, consent-view and sharing endpoints; call before the server starts. */
  public void attach(org.careledger.node.fhir.RecordStore records,
      org.careledger.node.access.Gatekeeper gate) {
    this.patients = new PatientApi(this, ledger, records, gate);
    this.auditReads = gate.auditing();
  }

  private static void requireMethod(String method, HttpMethod expected) {
    if (!expected.is(method)) {
      throw new Problem(405, "method-not-allowed", "Method not allowed",
          "use " + expected.asString());
    }
  }

  private TokenService.Session sessionOrNull(Request request) {
    return tokens.fromRequest(request.getHeaders().get(HttpHeader.AUTHORIZATION),
        request.getHeaders().get(HttpHeader.COOKIE),
        request.getHeaders().get(TokenService.CSRF_HEADER), ledger.store().state(),
        System.currentTimeMillis());
  }

  private TokenService.Session authenticate(Request request) {
    String h = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    boolean cookie = h == null && request.getHeaders().get(HttpHeader.COOKIE) != null;
    if (!cookie && (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7))) {
      throw new Problem(401, "unauthenticated", "Authentication required",
          "send 'Authorization: Bearer <token>' from " + "/api/v1/auth/token");
    }
    TokenService.Session s = sessionOrNull(request);
    if (s == null) {
      throw new Problem(401, "unauthenticated", "Authentication required", cookie
          ? "the session is unknown, expired or revoked, or the request lacks its "
              + TokenService.CSRF_HEADER
          : "the bearer token is unknown, expired or revoked");
    }
    return s;
  }

  private void token(Request request, Response response, Callback callback) {
    Fields form;
    try {
      form = FormFields.getFields(request);
    } catch (RuntimeException e) {
      throw new Problem(400, "invalid-request", "Invalid token request",
          "expected an application/x-www-form-urlencoded body");
    }
    if (!"client_credentials".equals(form.getValue("grant_type"))) {
      throw oauth(400, "unsupported_grant_type", "grant_type must be client_credentials");
    }
    if (!"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        .equals(form.getValue("client_assertion_type"))) {
      throw oauth(400, "invalid_request", "client_assertion_type must be "
          + "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    }
    String assertion = form.getValue("client_assertion");
    if (assertion == null) {
      throw oauth(400, "invalid_request", "client_assertion is required");
    }
    Map.Entry<String, TokenService.Session> t;
    try {
      t = tokens.exchange(assertion, ledger.store().state(),
          System.currentTimeMillis());
    } catch (TokenService.AuthException e) {
      throw oauth(401, "invalid_client", e.getMessage());
    }
    ObjectNode o = CanonicalJson.object();
    o.put("access_token", t.getKey());
    o.put("token_type", "bearer");
    o.put("expires_in", TokenService.TOKEN_TTL_MS / 1000);
    o.put("scope", "system/*.*");
    o.put("identity", t.getValue().identity());
    o.put("role", t.getValue().role().wireName());
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    json(response, callback, 200, o);
  }

  private static Problem oauth(int status, String error, String detail) {
    return new Problem(status, "auth-" + error.replace('_', '-'), "Token request refused",
        detail);
  }

  private void submit(Request request, Response response, Callback callback) {
    long start = System.nanoTime();
    Content.Source.asByteArrayAsync(request, TxCodec.MAX_TX_BYTES + 1)
        .whenComplete((bytes, err) -> {
          try {
            if (err != null) {
              throw unreadBody(err, TxCodec.MAX_TX_BYTES, Refusal.Reason.TOO_LARGE.code(),
                  "Transaction refused");
            }
            admitAndWait(bytes, start, response, callback);
          } catch (Problem p) {
            problem(response, callback, p);
          } catch (RuntimeException e) {
            LOG.error("{}: submit failed: {}", nodeName, e.getClass().getName());
            problem(response, callback,
                new Problem(500, "internal", "Internal error", "the node could not answer"));
          }
        });
  }

  private void admitAndWait(byte[] bytes, long start, Response response, Callback callback) {
    admitOne(bytes, start).whenComplete((body, err) -> {
      if (err == null) {
        bytes(response, callback, 200, "application/json", body);
      } else if (err instanceof Problem p) {
        problem(response, callback, p);
      } else {
        LOG.error("{}: submit failed: {}", nodeName, err.getClass().getName());
        problem(response, callback,
            new Problem(500, "internal", "Internal error", "the node could not answer"));
      }
    });
  }

  /**
   * Admits one transaction and completes with its receipt bytes once it is committed, or
   * exceptionally with a {@link Problem}.
   */
  CompletableFuture<byte[]> admitOne(byte[] bytes, long start) {
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    Transaction tx = switch (TxCodec.decode(bytes)) {
      case TxCodec.Decoded.Ok ok -> ok.tx();
      case TxCodec.Decoded.Refused r -> {
        result.completeExceptionally(refusal(r.refusal()));
        yield null;
      }
    };
    if (tx == null) {
      return result;
    }
    CompletableFuture<LedgerService.Outcome> outcome;
    try {
      outcome = submitter.submit(tx, List.of());
    } catch (Submitter.NotQueued e) {
      result.completeExceptionally(e.refusalOrNull() != null ? refusal(e.refusalOrNull())
          : new Problem(503, "overloaded", "Node overloaded",
              "too many transactions are waiting to be ordered; retry later"));
      return result;
    }
    outcome.orTimeout(60, TimeUnit.SECONDS).whenComplete((o, err) -> {
      try {
        if (err != null) {
          Throwable cause = err instanceof CompletionException ? err.getCause() : err;
          throw new Problem(503, "not-ordered", "Transaction not ordered",
              cause instanceof TimeoutException
                  ? "the transaction was not committed within 60 s; query it by id later"
                  : "the transaction could not be ordered; it was not committed");
        }
        switch (o.result()) {
          case TxResult.Refused r -> throw refusal(r.refusal());
          case TxResult.Committed c -> {
            commitLatency.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            committed.increment();
            result.complete(Receipts.receipt(ledger, bytes, c.txId(), c.leafIndex(), o.height(),
                ledger.block(o.height())));
          }
        }
      } catch (RuntimeException e) {
        result.completeExceptionally(e);
      }
    });
    return result;
  }

  /**
   * NDJSON in (one signed transaction per line, exact bytes), NDJSON out: per line, in order,
   * the receipt or the problem document of that transaction.
   */
  private void submitBatch(Request request, Response response, Callback callback) {
    long start = System.nanoTime();
    Content.Source.asByteArrayAsync(request, MAX_BATCH_BYTES + 1).whenComplete((body, err) -> {
      try {
        if (err != null) {
          throw unreadBody(err, MAX_BATCH_BYTES, Refusal.Reason.TOO_LARGE.code(),
              "Batch refused");
        }
        List<byte[]> lines = new ArrayList<>();
        int from = 0;
        for (int i = 0; i <= body.length; i++) {
          if (i == body.length || body[i] == '\n') {
            if (i > from) {
              lines.add(Arrays.copyOfRange(body, from, i));
            }
            from = i + 1;
          }
        }
        if (lines.isEmpty() || lines.size() > MAX_BATCH_LINES) {
          throw new Problem(400, "bad-batch", "Batch refused",
              "send 1 to " + MAX_BATCH_LINES + " transactions, one per line");
        }
        List<CompletableFuture<byte[]>> results = new ArrayList<>(lines.size());
        for (byte[] line : lines) {
          results.add(admitOne(line, start).exceptionally(e -> {
            Throwable c = e instanceof CompletionException ? e.getCause() : e;
            return problemBytes(c instanceof Problem p ? p
                : new Problem(500, "internal", "Internal error", "the node could not answer"));
          }));
        }
        CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).thenRun(() -> {
          java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
          for (CompletableFuture<byte[]> r : results) {
            out.writeBytes(r.join());
            out.write('\n');
          }
          bytes(response, callback, 200, "application/x-ndjson", out.toByteArray());
        });
      } catch (Problem p) {
        problem(response, callback, p);
      } catch (RuntimeException e) {
        LOG.error("{}: batch failed: {}", nodeName, e.getClass().getName());
        problem(response, callback,
            new Problem(500, "internal", "Internal error", "the node could not answer"));
      }
    });
  }

  /** An admin of a member organization asks for the leadership to move to {@code node}. */
  private void takeBackup(Response response, Callback callback, TokenService.Session session) {
    if (session.role() != org.careledger.core.contract.Role.ADMIN
        || !session.org().equals(backupOrg)) {
      throw new Problem(403, "role-not-allowed", "Not allowed",
          "only an admin of this node's organization takes its backups");
    }
    BackupHook.Taken t;
    try {
      t = backup.take();
    } catch (java.nio.file.FileAlreadyExistsException e) {
      throw new Problem(409, "conflict", "Backup not taken",
          "a backup was taken this second; ask again");
    } catch (java.io.IOException e) {
      LOG.error("{}: a backup failed: {}", nodeName, e.getMessage());
      throw new Problem(500, "internal", "Backup not taken",
          "the node could not write the backup; its log says why");
    }
    LOG.info("{}: {} of {} took a backup at height {} in {}", nodeName, session.identity(),
        session.org(), t.height(), t.dir());
    ObjectNode o = CanonicalJson.object();
    o.put("dir", t.dir().toString());
    o.put("height", t.height());
    json(response, callback, 200, o);
  }

  private void transferLeader(Request request, Response response, Callback callback,
      TokenService.Session session) throws Exception {
    if (session.role() != org.careledger.core.contract.Role.ADMIN
        || Membership.removedOrg(ledger.store().state(), session.org())) {
      throw new Problem(403, "role-not-allowed", "Not allowed",
          "only an admin of a member organization moves the Raft leadership");
    }
    byte[] body = smallBody(request, 4096, "Leadership not moved");
    String node;
    try {
      node = CanonicalJson.parse(body).path("node").textValue();
    } catch (CanonicalJson.InvalidJsonException e) {
      node = null;
    }
    if (node == null || !node.matches("[a-zA-Z0-9._-]{1,64}")) {
      throw new Problem(400, "invalid-request", "Invalid request",
          "send {\"node\": NODE-ID}, the id of a node in the Raft group");
    }
    try {
      leaderTransfer.to(node);
    } catch (IllegalArgumentException e) {
      throw new Problem(404, "not-found", "No such node", e.getMessage());
    } catch (java.io.IOException e) {
      throw new Problem(503, "unavailable", "Leadership not moved", e.getMessage());
    }
    LOG.info("{}: {} of {} moved the Raft leadership to {}", nodeName, session.identity(),
        session.org(), node);
    ObjectNode o = CanonicalJson.object();
    o.put("leader", node);
    json(response, callback, 200, o);
  }

  static Problem refusal(Refusal r) {
    return new Problem(r.reason().httpStatus(), r.reason().code(), "Transaction refused",
        r.detail());
  }

  private ObjectNode inclusion(long leaf, long size) {
    ObjectNode p = CanonicalJson.object();
    p.put("leafIndex", leaf);
    p.put("treeSize", size);
    ArrayNode hashes = p.putArray("hashes");
    ledger.tree().inclusionProof(leaf, size).forEach(h -> hashes.add(Codec.hex(h)));
    return p;
  }

  private static final int MAX_BATCH_LINES = 10_000;
  private static final int MAX_BATCH_BYTES = 16 * 1024 * 1024;

  private JsonNode read(String path, Request request, TokenService.Session session) {
    Matcher m;
    Fields q = Request.extractQueryParameters(request);
    if (path.equals("/api/v1/tree-head")) {
      String quorum = q.getValue("quorum");
      if (quorum == null) {
        return ledger.latest().toJson();
      }
      if (!quorum.equals("majority")) {
        throw new Problem(400, "bad-parameter", "Invalid parameter", "quorum must be 'majority'");
      }
      Block b = ledger.quorumHead();
      if (b == null) {
        throw new Problem(503, "no-quorum-head", "No majority-signed head yet",
            "no recent block carries the signatures of a majority of the network's nodes yet");
      }
      ObjectNode o = b.toJson();
      o.put("nodes", ledger.nodeKeys().size());
      o.put("majority", ledger.majority());
      return o;
    }
    if (path.equals("/api/v1/state-digest")) {
      LedgerStore.StateDigest d = ledger.store().stateDigest();
      ObjectNode o = CanonicalJson.object();
      o.put("height", d.height());
      o.put("stateDigest", Codec.hex(d.digest()));
      Block b = ledger.store().block(d.height());
      o.put("logSize", b.header().logSize());
      o.put("logRoot", Codec.hex(b.header().logRoot()));
      return o;
    }
    if (path.equals("/api/v1/status")) {
      Block head = ledger.latest();
      ObjectNode o = CanonicalJson.object();
      o.put("chain", ledger.chain());
      o.put("node", nodeId);
      o.put("nodeKeyId", ledger.nodeKeyId());
      o.put("leader", isLeader.getAsBoolean());
      String leaderNow = leaderId.get();
      if (leaderNow != null) {
        o.put("leaderId", leaderNow);
      }
      o.put("height", head.header().height());
      o.put("logSize", head.header().logSize());
      o.put("logRoot", Codec.hex(head.header().logRoot()));
      o.put("nodes", ledger.nodeKeys().size());
      o.put("majority", ledger.majority());
      Block quorum = ledger.quorumHead();
      o.put("quorumHeight", quorum == null ? -1 : quorum.header().height());
      o.put("appliedIndex", ledger.appliedIndex());
      o.put("you", session.identity());
      o.put("auditReads", auditReads);
      if (lastVerify != null) {
        o.set("lastVerify", lastVerify);
      }
      return o;
    }
    if (path.equals("/api/v1/network/proposals")) {
      // the network contract's state: member organizations and every proposal, newest first
      ObjectNode o = CanonicalJson.object();
      ArrayNode members = o.putArray("organizations");
      java.util.List<JsonNode> proposals = new java.util.ArrayList<>();
      var state = ledger.store().state();
      ledger.store().scanState("org/", (k, v) -> {
        Membership.Organization org = Membership.organization(state, k.substring(4));
        if (org != null) {
          ObjectNode mo = members.addObject();
          mo.put("id", org.id());
          mo.put("name", org.name());
          mo.put("status", org.member() ? "member" : org.statusOrNull());
        }
        return true;
      });
      ledger.store().scanState("proposal/", (k, v) -> {
        try {
          proposals.add(CanonicalJson.parse(v));
        } catch (CanonicalJson.InvalidJsonException e) {
          throw new IllegalStateException("state entry " + k + " is not valid JSON", e);
        }
        return true;
      });
      proposals.sort(java.util.Comparator.comparingLong(
          (JsonNode j) -> j.get("created").asLong()).reversed());
      proposals.forEach(o.putArray("proposals")::add);
      o.put("height", ledger.latest().header().height());
      return o;
    }
    if (path.equals("/api/v1/network")) {
      ObjectNode o = (ObjectNode) MAPPER.valueToTree(network.get());
      ArrayNode orgs = o.putArray("nodes");
      var state = ledger.store().state();
      for (String keyId : new java.util.TreeSet<>(ledger.nodeKeys().keySet())) {
        Membership.KeyRecord k = Membership.key(state, keyId);
        Membership.Identity n = k == null ? null : Membership.identity(state, k.identity());
        ObjectNode no = orgs.addObject();
        no.put("keyId", keyId);
        if (n != null) {
          no.put("id", n.id());
          no.put("org", n.org());
          no.put("status", n.status());
        }
      }
      o.put("height", ledger.latest().header().height());
      o.put("majority", ledger.majority());
      return o;
    }
    if ((m = TX.matcher(path)).matches()) {
      byte[] r = Receipts.latest(ledger, Codec.unhex(m.group(1)));
      if (r == null) {
        throw new Problem(404, "not-found", "No such transaction",
            "no committed transaction " + m.group(1));
      }
      try {
        return CanonicalJson.parse(r);
      } catch (CanonicalJson.InvalidJsonException e) {
        throw new IllegalStateException("receipt is not JSON");
      }
    }
    if ((m = BLOCK.matcher(path)).matches()) {
      long h = Long.parseLong(m.group(1));
      Block b = ledger.store().block(h);
      if (b == null) {
        throw new Problem(404, "not-found", "No such block", "no block at height " + h);
      }
      ObjectNode o = b.toJson();
      ArrayNode ids = o.putArray("txIds");
      for (long leaf = b.header().firstLeaf(); leaf < b.header().logSize(); leaf++) {
        ids.add(Codec.hex(org.careledger.core.crypto.Sha256.hash(ledger.store().txBytes(leaf))));
      }
      return o;
    }
    if (path.equals("/api/v1/proofs/consistency")) {
      return consistency(q);
    }
    if (path.equals("/api/v1/proofs/inclusion")) {
      long leaf = number(q, "leaf");
      long size = q.get("size") == null ? ledger.latest().header().logSize() : number(q, "size");
      if (leaf < 0 || leaf >= size || size > ledger.latest().header().logSize()) {
        throw new Problem(400, "bad-range", "Invalid proof request",
            "need 0 <= leaf < size <= " + ledger.latest().header().logSize());
      }
      ObjectNode o = inclusion(leaf, size);
      o.put("root", Codec.hex(ledger.tree().root(size)));
      return o;
    }
    if ((m = IDENTITY.matcher(path)).matches()) {
      Membership.Identity i = Membership.identity(ledger.store().state(), m.group(1));
      if (i == null) {
        throw new Problem(404, "not-found", "No such identity", "no identity " + m.group(1));
      }
      return withHeight(i.toJson());
    }
    if ((m = KEY.matcher(path)).matches()) {
      Membership.KeyRecord k = Membership.key(ledger.store().state(), m.group(1));
      if (k == null) {
        throw new Problem(404, "not-found", "No such key", "no key " + m.group(1));
      }
      return withHeight(k.toJson());
    }
    if ((m = ORG.matcher(path)).matches()) {
      Membership.Organization org = Membership.organization(ledger.store().state(), m.group(1));
      if (org == null) {
        throw new Problem(404, "not-found", "No such organization",
            "no organization " + m.group(1));
      }
      ObjectNode o = CanonicalJson.object();
      o.put("id", org.id());
      o.put("name", org.name());
      return withHeight(o);
    }
    throw new Problem(404, "not-found", "Not found", "no resource at " + path);
  }

  private ObjectNode withHeight(ObjectNode o) {
    o.put("atHeight", ledger.latest().header().height());
    return o;
  }

  private JsonNode consistency(Fields q) {
    Block head = ledger.latest();
    if (q.get("fromHeight") != null) {
      long a = number(q, "fromHeight");
      long b = q.get("toHeight") == null ? head.header().height() : number(q, "toHeight");
      Block first = a >= 0 && a <= b ? ledger.store().block(a) : null;
      Block second = first == null ? null : ledger.store().block(b);
      if (first == null || second == null) {
        throw new Problem(400, "bad-range", "Invalid proof request",
            "need 0 <= fromHeight <= toHeight <= " + head.header().height());
      }
      ObjectNode o = CanonicalJson.object();
      o.set("first", first.toJson());
      o.set("second", second.toJson());
      ArrayNode hashes = o.putArray("hashes");
      ledger.tree().consistencyProof(first.header().logSize(), second.header().logSize())
          .forEach(h -> hashes.add(Codec.hex(h)));
      return o;
    }
    long a = number(q, "first");
    long b = q.get("second") == null ? head.header().logSize() : number(q, "second");
    if (a <= 0 || a > b || b > head.header().logSize()) {
      throw new Problem(400, "bad-range", "Invalid proof request",
          "need 0 < first <= second <= " + head.header().logSize());
    }
    ObjectNode o = CanonicalJson.object();
    o.put("firstSize", a);
    o.put("secondSize", b);
    o.put("firstRoot", Codec.hex(ledger.tree().root(a)));
    o.put("secondRoot", Codec.hex(ledger.tree().root(b)));
    ArrayNode hashes = o.putArray("hashes");
    ledger.tree().consistencyProof(a, b).forEach(h -> hashes.add(Codec.hex(h)));
    return o;
  }

  private static long number(Fields q, String name) {
    String v = q.getValue(name);
    if (v == null || !v.matches("\\d{1,18}")) {
      throw new Problem(400, "bad-parameter", "Invalid parameter",
          "query parameter '" + name + "' must be a non-negative integer");
    }
    return Long.parseLong(v);
  }

  static void json(Response response, Callback callback, int status, JsonNode body) {
    bytes(response, callback, status, "application/json", CanonicalJson.canonicalize(body));
  }

  static void bytes(Response response, Callback callback, int status, String type,
      byte[] body) {
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
    response.write(true, ByteBuffer.wrap(body), callback);
  }

  private static byte[] problemBytes(Problem p) {
    ObjectNode o = CanonicalJson.object();
    o.put("type", PROBLEM + p.code);
    o.put("title", p.title);
    o.put("status", p.status);
    o.put("detail", p.getMessage());
    return CanonicalJson.canonicalize(o);
  }

  static void problemTo(Response response, Callback callback, Problem p) {
    problem(response, callback, p);
  }

  private static void problem(Response response, Callback callback, Problem p) {
    if (p.status == 401) {
      response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
    }
    bytes(response, callback, p.status, "application/problem+json", problemBytes(p));
  }
}
