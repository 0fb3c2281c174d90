package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.crypto.tink.KeysetHandle;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.careledger.client.ApiClient;
import org.careledger.client.ApiException;
import org.careledger.client.GenesisFile;
import org.careledger.client.ProofCheck;
import org.careledger.client.Sharing;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.NetworkInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A patient's consent end to end through the CLI and a real node: enrollment with a code,
 * grant, a clinician of another organization reads, the patient sees the event with a proof,
 * revocation applies to the very next read, break-glass is allowed, flagged and pushed to the
 * patient's event stream, grants not signed by the patient are refused, a cross-organization
 * share is verified by the requester and tampering is caught, the patient downloads and then
 * erases their records, and a lost key is recovered.
 */
class ConsentFlowTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  @Test
  void patientControlsWhoSeesTheirRecordsAndSeesEveryAccess() throws Exception {
    NodeProcess node = NodeProcess.init(tmp.resolve("node"),
        List.of(new NetworkInit.Member("org2", "Clinic Two"))).start();
    try {
      run(node, tmp, node.dir.resolve("genesis.json"));
    } finally {
      node.stop();
    }
    CliTest.Run verify = CliTest.cli("verify", "--data", node.dir.toString());
    assertThat(verify.code()).as(verify.out()).isZero();
  }

  private static void run(NodeProcess node, Path tmp, Path genesis) throws Exception {
    String url = node.url();
    Path service = node.dir.resolve("keys/service.key");
    node.serviceKey();
    FhirHttp records = new FhirHttp(url, node.serviceToken());
    String patientId = FhirIntegrityTest.id(records.post("/Patient",
        "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Consenting\"}]}"));
    String obs = FhirIntegrityTest.id(records.post("/Observation", "{\"resourceType\":"
        + "\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"glucose\"},\"subject\":"
        + "{\"reference\":\"Patient/" + patientId + "\"},\"valueQuantity\":{\"value\":5,"
        + "\"unit\":\"mmol/L\"}}"));
    String psy = FhirIntegrityTest.id(records.post("/Condition", "{\"resourceType\":"
        + "\"Condition\",\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/"
        + "CodeSystem/v3-ActCode\",\"code\":\"PSY\"}]}],\"code\":{\"text\":\"anxiety\"},"
        + "\"subject\":{\"reference\":\"Patient/" + patientId + "\"}}"));

    // enrollment: the custodian offers a code, the patient redeems it with a new key
    CliTest.Run offer = CliTest.cli("patient", "offer", "--node", url, "--key",
        service.toString(), "--patient", patientId);
    assertThat(offer.code()).as(offer.out()).isZero();
    String code = offer.out().replaceAll("(?s).*enrollment code ([A-Z2-7-]{29}).*", "$1");
    Path patientKey = tmp.resolve("patient.key");
    CliTest.Run enroll = CliTest.cli("patient", "enroll", "--node", url, "--code", code,
        "--id", "pat-ann", "--key", patientKey.toString());
    assertThat(enroll.code()).as(enroll.out()).isZero();
    assertThat(CliTest.cli("patient", "enroll", "--node", url, "--code", code, "--id",
        "pat-eve", "--key", tmp.resolve("eve.key").toString()).code()).isEqualTo(Main.FAILED);

    // a clinician of the other organization
    Ed25519.KeyPair admin2 = KeyFile.read(node.dir.resolve("keys/org2-admin.key"), null);
    Ed25519.KeyPair drKey = Ed25519.KeyPair.generate();
    new ApiClient(url, admin2).submit(AccessMatrixTest.sign(admin2, new Command.Register(
        "dr-bea", Role.PRACTITIONER, drKey.publicKey(), null)));
    Path drFile = tmp.resolve("dr.key");
    KeyFile.write(drFile, drKey, null);
    FhirHttp dr = new FhirHttp(url, new ApiClient(url, drKey).token());
    assertThat(dr.get("/Observation/" + obs).statusCode()).isEqualTo(403);

    // grants signed by anyone but the patient are refused, the node's own key included
    Ed25519.KeyPair nodeKey = KeyFile.read(node.dir.resolve("keys/node.key"), null);
    for (Ed25519.KeyPair forger : List.of(drKey, nodeKey, node.adminKey())) {
      Command.Grant g = new Command.Grant("0123456789abcdef0123456789abcdef",
          "identity:dr-bea", List.of("*"), List.of(), List.of("TREAT"),
          System.currentTimeMillis(), System.currentTimeMillis() + 3_600_000, List.of());
      assertThatThrownBy(() -> new ApiClient(url, drKey).submit(AccessMatrixTest.sign(forger,
          g))).isInstanceOf(ApiException.class).hasMessageContaining("may not issue");
    }
    assertThat(dr.get("/Observation/" + obs).statusCode()).isEqualTo(403);

    // the clinician asks the patient for access; the patient sees it and declines it
    CliTest.Run ask = CliTest.cli("consent", "request", "--node", url, "--key",
        drFile.toString(), "--patient", patientId, "--purpose", "TREAT", "--reason",
        "second opinion");
    assertThat(ask.code()).as(ask.out()).isZero();
    String askId = ask.out().replaceAll("(?s).*request ([0-9a-f]{32}).*", "$1");
    assertThat(CliTest.cli("consent", "request", "--node", url, "--key", drFile.toString(),
        "--patient", "no-such-patient", "--reason", "x").code()).isEqualTo(Main.FAILED);
    CliTest.Run asks = CliTest.cli("consent", "requests", "--node", url, "--key",
        patientKey.toString());
    assertThat(asks.out()).contains("request " + askId + "  open  from dr-bea at org2")
        .contains("second opinion");
    assertThat(CliTest.cli("consent", "decline", "--node", url, "--key", drFile.toString(),
        "--id", askId).code()).isEqualTo(Main.FAILED);
    assertThat(CliTest.cli("consent", "decline", "--node", url, "--key", patientKey.toString(),
        "--id", askId).code()).isZero();
    assertThat(CliTest.cli("consent", "requests", "--node", url, "--key",
        patientKey.toString()).out()).contains("request " + askId + "  declined");
    assertThat(dr.get("/Observation/" + obs).statusCode()).isEqualTo(403);

    // the patient grants TREAT to dr-bea, except PSY-labelled records
    CliTest.Run grant = CliTest.cli("consent", "grant", "--node", url, "--key",
        patientKey.toString(), "--grantee", "identity:dr-bea", "--purpose", "TREAT",
        "--exclude", "PSY", "--days", "7");
    assertThat(grant.code()).as(grant.out()).isZero();
    String grantId = grant.out().replaceAll("(?s).*grant ([0-9a-f]{32}).*", "$1");
    assertThat(dr.get("/Observation/" + obs).statusCode()).isEqualTo(200);
    assertThat(dr.get("/Condition/" + psy).statusCode()).isEqualTo(403);
    HttpResponse<String> forPay = new FhirHttp(url, new ApiClient(url, drKey).token(),
        "X-Purpose-Of-Use", "HPAYMT").get("/Observation/" + obs);
    assertThat(forPay.statusCode()).isEqualTo(403);

    // the patient's event stream, opened before the break-glass read below
    ApiClient patient = new ApiClient(url, KeyFile.read(patientKey, null));
    CompletableFuture<String> breakGlassEvent = subscribe(url, patient.token());

    // cross-organization share: HPKE to a one-time key, each record checked on the ledger
    CliTest.Run share = CliTest.cli("share", "--node", url, "--key", drFile.toString(),
        "--patient", "pat-ann", "--genesis", genesis.toString(), "--out",
        tmp.resolve("shared").toString());
    assertThat(share.code()).as(share.out()).isZero();
    assertThat(share.out()).contains("2 record(s) from org1 verified").contains("1 refused");
    try (Stream<Path> files = Files.list(tmp.resolve("shared"))) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .anyMatch(n -> n.startsWith("Observation-")).anyMatch(n -> n.startsWith("Patient-"));
    }
    tamperedSharesAreDetected(url, drKey, genesis);

    // revocation applies to the very next read
    assertThat(CliTest.cli("consent", "revoke", "--node", url, "--key",
        patientKey.toString(), "--id", grantId).code()).isZero();
    assertThat(dr.get("/Observation/" + obs).statusCode()).isEqualTo(403);
    CliTest.Run list = CliTest.cli("consent", "list", "--node", url, "--key",
        patientKey.toString());
    assertThat(list.out()).contains(grantId + "  revoked");

    // break-glass: allowed with a reason, flagged, pushed to the patient
    FhirHttp emergency = new FhirHttp(url, new ApiClient(url, drKey).token(),
        "X-Break-Glass-Reason", "unconscious on arrival");
    assertThat(emergency.get("/Observation/" + obs).statusCode()).isEqualTo(200);
    assertThat(new FhirHttp(url, new ApiClient(url, drKey).token(), "X-Break-Glass-Reason",
        "x", "X-Purpose-Of-Use", "TREAT").get("/Observation/" + obs).statusCode())
        .isEqualTo(400);
    assertThat(breakGlassEvent.get(30, TimeUnit.SECONDS)).contains("\"breakGlass\":true")
        .contains("unconscious on arrival").contains("dr-bea");

    // the patient sees every access, each with a proof that checks against a signed head
    CliTest.Run events = CliTest.cli("patient", "events", "--node", url, "--key",
        patientKey.toString(), "--genesis", genesis.toString());
    assertThat(events.code()).as(events.out()).isZero();
    assertThat(events.out()).contains("ALLOW  dr-bea@org2  read").contains("DENY  dr-bea@org2")
        .contains("BREAK-GLASS: unconscious on arrival").contains("share")
        .doesNotContain("PROOF FAILS");
    JsonNode list2 = patient.get("/api/v1/patients/me/access-events");
    List<byte[]> trusted = GenesisFile.parse(Files.readAllBytes(genesis)).nodeKeys();
    for (JsonNode e : list2.get("events")) {
      assertThat(ProofCheck.receipt(e.get("receipt"), trusted)).isEmpty();
    }
    // the events come a page at a time, newest first; the pages together are the whole list
    List<String> whole = new java.util.ArrayList<>();
    list2.get("events").forEach(e -> whole.add(e.get("tx").asText() + e.get("index")));
    assertThat(list2.has("older")).isFalse();
    List<String> paged = new java.util.ArrayList<>();
    String older = null;
    int pages = 0;
    do {
      JsonNode page = patient.get("/api/v1/patients/me/access-events?limit=2"
          + (older == null ? "" : "&before=" + older));
      assertThat(page.get("events").size()).isBetween(1, 2);
      List<String> ids = new java.util.ArrayList<>();
      page.get("events").forEach(e -> ids.add(e.get("tx").asText() + e.get("index")));
      paged.addAll(0, ids);
      older = page.has("older") ? page.get("older").asText() : null;
      pages++;
    } while (older != null);
    assertThat(paged).isEqualTo(whole);
    assertThat(pages).isEqualTo((whole.size() + 1) / 2);
    assertThatThrownBy(() -> patient.get("/api/v1/patients/me/access-events?limit=0"))
        .hasMessageContaining("'limit' must be 1 to 1000");
    assertThatThrownBy(() -> patient.get("/api/v1/patients/me/access-events?before=x"))
        .hasMessageContaining("'older' cursor");
    // the proof check is real: a doctored tree head fails it
    ObjectNode doctored = (ObjectNode) list2.get("events").get(0).get("receipt").deepCopy();
    ((ObjectNode) doctored.get("treeHead").get("header")).put("logSize", 1);
    assertThat(ProofCheck.receipt(doctored, trusted)).isNotEmpty();
    // ... and an auditor sees them too, a clinician does not
    Ed25519.KeyPair auditor = Ed25519.KeyPair.generate();
    new ApiClient(url, node.adminKey()).submit(AccessMatrixTest.sign(node.adminKey(),
        new Command.Register("auditor-a", Role.AUDITOR, auditor.publicKey(), null)));
    assertThat(new ApiClient(url, auditor).get("/api/v1/access-events?patient=pat-ann")
        .get("events").size()).isEqualTo(list2.get("events").size());
    assertThatThrownBy(() -> new ApiClient(url, drKey).get(
        "/api/v1/access-events?patient=pat-ann")).hasMessageContaining("auditors");

    // the same as FHIR: AuditEvent and Consent views of the ledger, for the patient only
    FhirHttp mine = new FhirHttp(url, patient.token());
    JsonNode audit = JSON.readTree(mine.get("/AuditEvent?patient=" + patientId).body());
    assertThat(audit.get("total").asInt()).isEqualTo(list2.get("events").size());
    assertThat(audit.toString()).contains("\"code\":\"BTG\"").contains("dr-bea @ org2")
        .contains("unconscious on arrival");
    JsonNode consents = JSON.readTree(mine.get("/Consent?patient=" + patientId).body());
    assertThat(consents.get("entry").get(0).get("resource").get("status").asText())
        .isEqualTo("inactive");
    assertThat(consents.toString()).contains("identity:dr-bea").contains("PSY");
    assertThat(dr.get("/AuditEvent?patient=" + patientId).statusCode()).isEqualTo(403);

    // download all my records
    Path bundle = tmp.resolve("mine.json");
    CliTest.Run export = CliTest.cli("patient", "export", "--node", url, "--key",
        patientKey.toString(), "--out", bundle.toString());
    assertThat(export.code()).as(export.out()).isZero();
    JsonNode b = JSON.readTree(bundle.toFile());
    assertThat(b.get("resourceType").asText()).isEqualTo("Bundle");
    assertThat(b.get("entry").size()).isEqualTo(3);

    // a lost key: the custodian offers a recovery, the old key stops working
    CliTest.Run rec = CliTest.cli("patient", "offer", "--node", url, "--key",
        service.toString(), "--patient", patientId, "--recover", "pat-ann");
    assertThat(rec.code()).as(rec.out()).isZero();
    String recCode = rec.out().replaceAll("(?s).*enrollment code ([A-Z2-7-]{29}).*", "$1");
    Path newKey = tmp.resolve("patient-new.key");
    assertThat(CliTest.cli("patient", "enroll", "--node", url, "--code", recCode, "--id",
        "pat-ann", "--key", newKey.toString()).code()).isZero();
    assertThat(CliTest.cli("patient", "show", "--node", url, "--key", patientKey.toString())
        .code()).isEqualTo(Main.FAILED);
    CliTest.Run show = CliTest.cli("patient", "show", "--node", url, "--key",
        newKey.toString());
    assertThat(show.out()).contains("key-recovered at org1").contains("enrolled at org1");

    // erasure at the patient's request: both are ledger events; reads are gone
    CliTest.Run erase = CliTest.cli("patient", "erase", "--node", url, "--key",
        newKey.toString(), "--org", "org1");
    assertThat(erase.code()).as(erase.out()).isZero();
    assertThat(erase.out()).contains("erased 3 record(s)");
    assertThat(records.get("/Observation/" + obs).statusCode()).isEqualTo(410);
    assertThat(CliTest.cli("patient", "show", "--node", url, "--key", newKey.toString()).out())
        .contains("erasure-requested at org1").contains("erased at org1");
  }

  /** Opens the patient's event stream; completes with the first break-glass event. */
  static CompletableFuture<String> subscribe(String url, String token) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create(url + "/api/v1/patients/me/stream"))
        .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(120)).build();
    CompletableFuture<String> found = new CompletableFuture<>();
    HttpResponse<Stream<String>> r = HttpClient.newHttpClient().send(req,
        HttpResponse.BodyHandlers.ofLines());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type").orElse("")).contains("event-stream");
    Thread t = new Thread(() -> {
      boolean next = false;
      for (java.util.Iterator<String> it = r.body().iterator(); it.hasNext(); ) {
        String line = it.next();
        if (line.equals("event: break-glass")) {
          next = true;
        } else if (next && line.startsWith("data: ")) {
          found.complete(line);
          return;
        }
      }
    });
    t.setDaemon(true);
    t.start();
    return found;
  }

  /** A requester detects a share whose record was replaced or whose ciphertext was changed. */
  static void tamperedSharesAreDetected(String url, Ed25519.KeyPair drKey, Path genesis)
      throws Exception {
    ApiClient dr = new ApiClient(url, drKey);
    GenesisFile g = GenesisFile.parse(Files.readAllBytes(genesis));
    KeysetHandle mine = Sharing.newRecipient();
    JsonNode r = dr.post("/api/v1/share", ("{\"patient\":\"pat-ann\",\"recipientKey\":\""
        + Codec.b64(Sharing.publicKeyset(mine)) + "\",\"types\":[\"Observation\"]}")
        .getBytes(StandardCharsets.UTF_8));
    assertThat(Sharing.open(mine, g.chain(), r, id -> dr.get("/api/v1/transactions/" + id),
        g.nodeKeys())).hasSize(1);
    // a flipped ciphertext byte
    ObjectNode flipped = r.deepCopy();
    ObjectNode rec = (ObjectNode) flipped.get("records").get(0);
    byte[] ct = Codec.unb64(rec.get("ciphertext").asText());
    ct[ct.length - 5] ^= 1;
    rec.put("ciphertext", Codec.b64(ct));
    assertThatThrownBy(() -> Sharing.open(mine, g.chain(), flipped,
        id -> dr.get("/api/v1/transactions/" + id), g.nodeKeys()))
        .hasMessageContaining("does not decrypt");
    // other content, validly encrypted to the requester's key (HPKE does not authenticate
    // the sender): caught by the commitment on the ledger
    ObjectNode swapped = r.deepCopy();
    ObjectNode rec2 = (ObjectNode) swapped.get("records").get(0);
    byte[] fake = new byte[64];
    rec2.put("ciphertext", Codec.b64(Sharing.seal(Sharing.publicKeyset(mine), fake,
        Sharing.info(g.chain(), rec2.get("record").asText(), rec2.get("version").asLong()))));
    assertThatThrownBy(() -> Sharing.open(mine, g.chain(), swapped,
        id -> dr.get("/api/v1/transactions/" + id), g.nodeKeys()))
        .hasMessageContaining("does not match its commitment");
  }
}
