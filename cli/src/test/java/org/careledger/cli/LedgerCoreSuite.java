package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.careledger.client.ApiClient;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.tx.TxCodec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ledger-core suite, run unchanged against every backend (a one-node network and a
 * three-node network of real node processes): valid transactions, every refusal reason with
 * its status and problem type and no change to the ledger (the log size stays the same),
 * tokens and client assertions, batches, and receipts and proofs that check offline.
 */
abstract class LedgerCoreSuite extends BackendSuite {
  static ApiClient admin;
  static Ed25519.KeyPair adminKey;
  /** The identity id of the admin the suite signs as. */
  static String adminId;
  static Ed25519.KeyPair practitioner;
  static Ed25519.KeyPair auditor;
  static final HttpClient HTTP = HttpClient.newHttpClient();
  static final ObjectMapper JSON = new ObjectMapper();

  @BeforeAll
  void setUp() throws Exception {
    adminKey = node.adminKey();
    admin = new ApiClient(node.url(), adminKey);
    adminId = admin.get("/api/v1/status").get("you").asText();
    practitioner = register("dr-test", Role.PRACTITIONER);
    auditor = register("auditor-test", Role.AUDITOR);
  }

  static Ed25519.KeyPair register(String id, Role role) throws Exception {
    Ed25519.KeyPair k = Ed25519.KeyPair.generate();
    admin.submit(TxFixture.signedBy(adminKey)
        .command(new Command.Register(id, role, k.publicKey(), null)).bytes());
    return k;
  }

  static long logSize() throws Exception {
    return admin.get("/api/v1/tree-head").get("header").get("logSize").asLong();
  }

  static HttpResponse<String> post(String path, byte[] body, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.url() + path))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Submits bytes and checks the refusal: status, problem type, and an unchanged log. */
  static void assertRefused(byte[] tx, int status, String code) throws Exception {
    long before = logSize();
    HttpResponse<String> r = post("/api/v1/transactions", tx, admin.token());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    JsonNode p = JSON.readTree(r.body());
    assertThat(p.get("type").asText()).isEqualTo("urn:careledger:problem:" + code);
    assertThat(p.get("status").asInt()).isEqualTo(status);
    assertThat(p.get("detail").asText()).isNotBlank().doesNotContain("Exception");
    assertThat(logSize()).isEqualTo(before);
  }

  @Test
  void acceptsAValidTransaction() throws Exception {
    long before = logSize();
    JsonNode receipt = admin.submit(TxFixture.signedBy(practitioner).bytes());
    assertThat(receipt.get("leafIndex").asLong()).isEqualTo(before);
    assertThat(logSize()).isEqualTo(before + 1);
  }

  @Test
  void refusesBytesThatAreNotJson() throws Exception {
    assertRefused("{\"payload\":".getBytes(StandardCharsets.UTF_8), 400, "not-json");
    assertRefused(new byte[] {(byte) 0xff, (byte) 0xfe}, 400, "not-json");
  }

  @Test
  void refusesNonCanonicalJson() throws Exception {
    byte[] tx = TxFixture.signedBy(practitioner).bytes();
    String spaced = new String(tx, StandardCharsets.UTF_8).replaceFirst(":", ": ");
    assertRefused(spaced.getBytes(StandardCharsets.UTF_8), 400, "not-canonical");
    JsonNode parsed = CanonicalJson.parse(tx);
    byte[] reordered = ("{\"sig\":" + parsed.get("sig").toString() + ",\"payload\":"
        + parsed.get("payload").toString() + "}").getBytes(StandardCharsets.UTF_8);
    assertRefused(reordered, 400, "not-canonical");
  }

  @Test
  void refusesOversizedTransactions() throws Exception {
    var cmd = CanonicalJson.object();
    cmd.put("type", "anchor");
    cmd.put("digest", "00".repeat(32));
    cmd.put("label", "x".repeat(TxCodec.MAX_TX_BYTES));
    assertRefused(TxFixture.signedBy(practitioner).command(cmd).bytes(), 413, "too-large");
  }

  /**
   * Sends headers that declare {@code declared} body bytes, then only {@code sent}, then ends
   * its side of the connection; returns the status line and the body of the answer.
   */
  static String[] truncatedPost(String path, int declared, byte[] sent) throws Exception {
    URI u = URI.create(node.url());
    try (java.net.Socket s = new java.net.Socket(u.getHost(), u.getPort())) {
      s.setSoTimeout(20_000);
      String head = "POST " + path + " HTTP/1.1\r\nHost: " + u.getAuthority()
          + "\r\nAuthorization: Bearer " + admin.token()
          + "\r\nContent-Type: application/json\r\nContent-Length: " + declared
          + "\r\nConnection: close\r\n\r\n";
      s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().write(sent);
      s.getOutputStream().flush();
      s.shutdownOutput();
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return new String[] {answer.substring(0, answer.indexOf("\r\n")),
          answer.substring(answer.indexOf("\r\n\r\n") + 4)};
    }
  }

  @Test
  void aBodyThatEndsBeforeItsLengthIsABadRequest() throws Exception {
    byte[] tx = TxFixture.signedBy(practitioner).bytes();
    byte[] half = Arrays.copyOf(tx, tx.length / 2);
    for (String path : List.of("/api/v1/transactions", "/api/v1/transactions/batch",
        "/api/v1/network/leader")) {
      long before = logSize();
      String[] answer = truncatedPost(path, tx.length, half);
      assertThat(answer[0]).as(path).contains(" 400 ");
      JsonNode p = JSON.readTree(answer[1]);
      assertThat(p.get("type").asText()).as(path)
          .isEqualTo("urn:careledger:problem:incomplete-body");
      assertThat(p.get("detail").asText()).as(path)
          .isEqualTo("the request body ended before the length it declared");
      assertThat(logSize()).as(path).isEqualTo(before);
    }
  }

  @Test
  void refusesABadSignature() throws Exception {
    byte[] tx = TxFixture.signedBy(practitioner).bytes();
    String s = new String(tx, StandardCharsets.UTF_8);
    int at = s.indexOf("\"sig\":\"") + 10;
    char c = s.charAt(at);
    String flipped = s.substring(0, at) + (c == 'A' ? 'B' : 'A') + s.substring(at + 1);
    assertRefused(flipped.getBytes(StandardCharsets.UTF_8), 400, "bad-signature");
    // a valid signature by another key
    assertRefused(TxFixture.signedBy(auditor).signerId(practitioner.keyId()).bytes(), 400,
        "bad-signature");
  }

  @Test
  void refusesUnknownAndRevokedSigners() throws Exception {
    assertRefused(TxFixture.signedBy(Ed25519.KeyPair.generate()).bytes(), 403,
        "unknown-signer");
    Ed25519.KeyPair gone = register("leaver", Role.SERVICE);
    admin.submit(TxFixture.signedBy(adminKey).command(new Command.Revoke("leaver", "left"))
        .bytes());
    assertRefused(TxFixture.signedBy(gone).bytes(), 403, "revoked-signer");
    Ed25519.KeyPair old = register("rotator", Role.SERVICE);
    Ed25519.KeyPair fresh = Ed25519.KeyPair.generate();
    admin.submit(TxFixture.signedBy(old).command(new Command.Rotate("rotator",
        fresh.publicKey())).bytes());
    assertRefused(TxFixture.signedBy(old).bytes(), 403, "revoked-signer");
    admin.submit(TxFixture.signedBy(fresh).bytes());
  }

  @Test
  void refusesTheWrongChain() throws Exception {
    assertRefused(TxFixture.signedBy(practitioner).chain("other-chain").bytes(), 400,
        "wrong-chain");
  }

  @Test
  void refusesTransactionsOutsideTheirWindow() throws Exception {
    long now = System.currentTimeMillis();
    assertRefused(TxFixture.signedBy(practitioner).window(now + 600_000, now + 700_000).bytes(),
        400, "outside-window");
    assertRefused(TxFixture.signedBy(practitioner).window(now - 700_000, now - 600_000).bytes(),
        400, "outside-window");
    assertRefused(TxFixture.signedBy(practitioner).window(now - 1000, now + 2L * 86_400_000)
        .bytes(), 400, "outside-window");
  }

  @Test
  void refusesADuplicate() throws Exception {
    byte[] tx = TxFixture.signedBy(practitioner).bytes();
    admin.submit(tx);
    assertRefused(tx, 409, "duplicate");
  }

  @Test
  void refusesUnknownContractsAndCommands() throws Exception {
    assertRefused(TxFixture.signedBy(practitioner).contract("lottery").bytes(), 400,
        "unknown-contract");
    var cmd = CanonicalJson.object();
    cmd.put("type", "shred");
    assertRefused(TxFixture.signedBy(practitioner).command(cmd).bytes(), 400,
        "unknown-command");
    var bad = CanonicalJson.object();
    bad.put("type", "anchor");
    bad.put("digest", "not hex");
    bad.put("label", "x");
    assertRefused(TxFixture.signedBy(practitioner).command(bad).bytes(), 400, "malformed");
  }

  @Test
  void refusesCommandsTheSignersRoleMayNotIssue() throws Exception {
    assertRefused(TxFixture.signedBy(auditor).bytes(), 403, "role-not-allowed");
    assertRefused(TxFixture.signedBy(practitioner).command(new Command.Register("someone",
        Role.ADMIN, Ed25519.KeyPair.generate().publicKey(), null)).bytes(), 403,
        "role-not-allowed");
    assertRefused(TxFixture.signedBy(practitioner).command(new Command.Revoke(adminId, "x"))
        .bytes(), 403, "role-not-allowed");
  }

  @Test
  void everyApiCallNeedsAToken() throws Exception {
    for (String path : new String[] {"/api/v1/tree-head", "/api/v1/status", "/api/v1/blocks/0",
        "/api/v1/membership/identities/admin"}) {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(node.url() + path))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(path).isEqualTo(401);
      assertThat(JSON.readTree(r.body()).get("type").asText())
          .isEqualTo("urn:careledger:problem:unauthenticated");
    }
    long before = logSize();
    assertThat(post("/api/v1/transactions", TxFixture.signedBy(practitioner).bytes(), null)
        .statusCode()).isEqualTo(401);
    assertThat(logSize()).isEqualTo(before);
  }

  static HttpResponse<String> tokenRequest(String assertion) throws Exception {
    String form = "grant_type=client_credentials&client_assertion_type="
        + URLEncoder.encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            StandardCharsets.UTF_8)
        + "&client_assertion=" + URLEncoder.encode(assertion, StandardCharsets.UTF_8);
    return HTTP.send(HttpRequest.newBuilder(URI.create(node.url() + ApiClient.TOKEN_PATH))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(form)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void refusesAReplayedClientAssertion() throws Exception {
    String a = ApiClient.clientAssertion(practitioner,
        URI.create(node.url() + ApiClient.TOKEN_PATH), System.currentTimeMillis());
    assertThat(tokenRequest(a).statusCode()).isEqualTo(200);
    HttpResponse<String> again = tokenRequest(a);
    assertThat(again.statusCode()).isEqualTo(401);
    assertThat(again.body()).contains("jti");
  }

  @Test
  void refusesAssertionsSignedByUnknownKeysOrForAnotherAudience() throws Exception {
    String unknown = ApiClient.clientAssertion(Ed25519.KeyPair.generate(),
        URI.create(node.url() + ApiClient.TOKEN_PATH), System.currentTimeMillis());
    assertThat(tokenRequest(unknown).statusCode()).isEqualTo(401);
    String otherAud = ApiClient.clientAssertion(practitioner,
        URI.create("https://elsewhere.example/token"), System.currentTimeMillis());
    assertThat(tokenRequest(otherAud).statusCode()).isEqualTo(401);
    // an assertion made for another node (same path, another address) is useless here
    String otherNode = ApiClient.clientAssertion(practitioner, URI.create("http://127.0.0.1:"
        + NodeProcess.freePort() + ApiClient.TOKEN_PATH), System.currentTimeMillis());
    assertThat(tokenRequest(otherNode).statusCode()).isEqualTo(401);
    // a loopback alias of this node's own address is the same endpoint
    String alias = ApiClient.clientAssertion(practitioner, URI.create("http://localhost:"
        + node.httpPort + ApiClient.TOKEN_PATH), System.currentTimeMillis());
    assertThat(tokenRequest(alias).statusCode()).isEqualTo(200);
    String expired = ApiClient.clientAssertion(practitioner,
        URI.create(node.url() + ApiClient.TOKEN_PATH), System.currentTimeMillis() - 600_000);
    assertThat(tokenRequest(expired).statusCode()).isEqualTo(401);
    assertThat(tokenRequest("not.a.jwt").statusCode()).isEqualTo(401);
  }

  @Test
  void aRevokedIdentitysTokenStopsWorking() throws Exception {
    Ed25519.KeyPair k = register("short-lived", Role.SERVICE);
    ApiClient c = new ApiClient(node.url(), k);
    assertThat(c.get("/api/v1/status").get("you").asText()).isEqualTo("short-lived");
    admin.submit(TxFixture.signedBy(adminKey).command(new Command.Revoke("short-lived", "done"))
        .bytes());
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> c.get("/api/v1/status"))
        .isInstanceOf(org.careledger.client.ApiException.class)
        .extracting(e -> ((org.careledger.client.ApiException) e).status()).isEqualTo(401);
  }

  @Test
  void batchSubmissionsReportEachTransaction() throws Exception {
    byte[] good = TxFixture.signedBy(practitioner).bytes();
    byte[] bad = TxFixture.signedBy(auditor).bytes();
    byte[] body = (new String(good, StandardCharsets.UTF_8) + "\n"
        + new String(bad, StandardCharsets.UTF_8) + "\n").getBytes(StandardCharsets.UTF_8);
    long before = logSize();
    HttpResponse<String> r = post("/api/v1/transactions/batch", body, admin.token());
    assertThat(r.statusCode()).isEqualTo(200);
    String[] lines = r.body().split("\n");
    assertThat(lines).hasSize(2);
    assertThat(JSON.readTree(lines[0]).get("txId").asText()).hasSize(64);
    assertThat(JSON.readTree(lines[1]).get("type").asText())
        .isEqualTo("urn:careledger:problem:role-not-allowed");
    assertThat(logSize()).isEqualTo(before + 1);
  }

  @Test
  void receiptsAndReadsCarryProofsThatCheckOffline() throws Exception {
    JsonNode receipt = admin.submit(TxFixture.signedBy(practitioner).bytes());
    var keys = org.careledger.client.GenesisFile.parse(
        java.nio.file.Files.readAllBytes(node.dir.resolve("genesis.json"))).nodeKeys();
    assertThat(org.careledger.client.ProofCheck.receipt(receipt, keys)).isEmpty();
    JsonNode read = admin.get("/api/v1/transactions/" + receipt.get("txId").asText());
    assertThat(org.careledger.client.ProofCheck.receipt(read, keys)).isEmpty();
    ((com.fasterxml.jackson.databind.node.ObjectNode) read.get("tx").get("payload"))
        .put("nonce", "tampered-nonce");
    assertThat(org.careledger.client.ProofCheck.receipt(read, keys)).isNotEmpty();
    JsonNode c = admin.get("/api/v1/proofs/consistency?fromHeight=1");
    assertThat(org.careledger.client.ProofCheck.consistency(c, keys)).isEmpty();
    assertThat(org.careledger.client.ProofCheck.receipt(receipt,
        java.util.List.of(Ed25519.KeyPair.generate().publicKey()))).isNotEmpty();
    assertThat(Arrays.asList(admin.get("/api/v1/blocks/" + receipt.get("height").asLong())
        .get("txIds").toString())).anyMatch(s -> s.contains(receipt.get("txId").asText()));
  }
}
