package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.careledger.client.ApiClient;
import org.careledger.client.Sharing;
import org.careledger.client.Transactions;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.NetworkInit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The authorization matrix through a real node: every role x every PHI-releasing endpoint x
 * every consent state gives the expected allow or deny, search results are filtered record by
 * record, nothing is released without a decision, and every single attempt, allowed or not,
 * commits exactly one access event naming the caller and what was decided.
 */
class AccessMatrixTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String CHAIN = "careledger-test";
  static final List<String> STATES = List.of("none", "granted", "other-purpose", "expired",
      "revoked", "excluded", "break-glass");
  static final List<String> ROLES = List.of("patient", "own-practitioner", "service",
      "other-practitioner", "auditor", "insurer", "researcher", "admin", "anonymous");

  @TempDir static Path tmp;
  static NodeProcess node;
  static ApiClient admin;
  static Ed25519.KeyPair admin2;
  static final Map<String, Ed25519.KeyPair> keys = new LinkedHashMap<>();
  static final Map<String, String> tokens = new LinkedHashMap<>();
  /** Per state: the patient's identity and the FHIR ids of Patient, Observation, Condition. */
  static final Map<String, Fixture> fixtures = new LinkedHashMap<>();

  record Fixture(String identity, Ed25519.KeyPair key, String patient, String observation,
      String condition) {}

  @BeforeAll
  static void start() throws Exception {
    node = NodeProcess.init(tmp.resolve("node"),
        List.of(new NetworkInit.Member("org2", "Clinic Two"))).start();
    admin = new ApiClient(node.url(), node.adminKey());
    admin2 = KeyFile.read(node.dir.resolve("keys/org2-admin.key"), null);
    keys.put("own-practitioner", register(node.adminKey(), "dr-own", Role.PRACTITIONER));
    keys.put("service", node.serviceKey());
    keys.put("auditor", register(node.adminKey(), "auditor-1", Role.AUDITOR));
    keys.put("admin", node.adminKey());
    keys.put("other-practitioner", register(admin2, "dr-other", Role.PRACTITIONER));
    keys.put("insurer", register(admin2, "insurer-2", Role.INSURER));
    keys.put("researcher", register(admin2, "researcher-2", Role.RESEARCHER));
    for (var e : keys.entrySet()) {
      tokens.put(e.getKey(), new ApiClient(node.url(), e.getValue()).token());
    }
    FhirHttp service = new FhirHttp(node.url(), tokens.get("service"));
    ApiClient serviceApi = new ApiClient(node.url(), keys.get("service"));
    long now = System.currentTimeMillis();
    for (String state : STATES) {
      String p = FhirIntegrityTest.id(service.post("/Patient",
          "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Matrix\"}]}"));
      String o = FhirIntegrityTest.id(service.post("/Observation", "{\"resourceType\":"
          + "\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"weight\"},\"subject\":"
          + "{\"reference\":\"Patient/" + p + "\"},\"valueQuantity\":{\"value\":70,\"unit\":"
          + "\"kg\"}}"));
      String c = FhirIntegrityTest.id(service.post("/Condition", "{\"resourceType\":"
          + "\"Condition\",\"meta\":{\"security\":[{\"system\":\"http://terminology.hl7.org/"
          + "CodeSystem/v3-ActCode\",\"code\":\"PSY\"}]},\"code\":{\"text\":\"depression\"},"
          + "\"subject\":{\"reference\":\"Patient/" + p + "\"}}"));
      String identity = "pat-" + state;
      Ed25519.KeyPair pk = enroll(serviceApi, p, identity);
      fixtures.put(state, new Fixture(identity, pk, p, o, c));
      ApiClient patient = new ApiClient(node.url(), pk);
      String grant = grantId(state);
      switch (state) {
        case "granted" -> patient.submit(grant(pk, grant, List.of("TREAT"), now - 1000,
            now + 3_600_000, List.of()));
        case "other-purpose" -> patient.submit(grant(pk, grant, List.of("HPAYMT"), now - 1000,
            now + 3_600_000, List.of()));
        case "expired" -> patient.submit(grant(pk, grant, List.of("TREAT"), now - 7_200_000,
            now - 3_600_000, List.of()));
        case "revoked" -> {
          patient.submit(grant(pk, grant, List.of("TREAT"), now - 1000, now + 3_600_000,
              List.of()));
          patient.submit(sign(pk, new Command.RevokeGrant(grant)));
        }
        case "excluded" -> patient.submit(grant(pk, grant, List.of("TREAT"), now - 1000,
            now + 3_600_000, List.of("PSY")));
        default -> { }
      }
      tokens.put("patient:" + state, patient.token());
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) {
      node.stop();
    }
  }

  static Ed25519.KeyPair register(Ed25519.KeyPair by, String id, Role role) throws Exception {
    Ed25519.KeyPair k = Ed25519.KeyPair.generate();
    new ApiClient(node.url(), by).submit(sign(by, new Command.Register(id, role,
        k.publicKey(), null)));
    return k;
  }

  static byte[] sign(Ed25519.KeyPair k, Command c) {
    return Transactions.sign(CHAIN, k, c, System.currentTimeMillis(),
        Transactions.DEFAULT_VALIDITY_MS);
  }

  static String grantId(String state) {
    return Codec.hex(org.careledger.core.crypto.Sha256.hash(state.getBytes())).substring(0, 32);
  }

  static byte[] grant(Ed25519.KeyPair k, String id, List<String> purposes, long start, long end,
      List<String> exclude) {
    return sign(k, new Command.Grant(id, "org:org2", List.of("*"), List.of(), purposes, start,
        end, exclude));
  }

  /** A custodian offers an enrollment for Patient {@code patientId}; the patient redeems it. */
  static Ed25519.KeyPair enroll(ApiClient custodian, String patientId, String identity)
      throws Exception {
    JsonNode offer = custodian.post("/api/v1/enrollments",
        ("{\"patient\":\"" + patientId + "\"}").getBytes(StandardCharsets.UTF_8));
    Ed25519.KeyPair pk = Ed25519.KeyPair.generate();
    new ApiClient(node.url(), null).postPublic("/api/v1/enroll", sign(pk,
        new Command.Enroll(offer.get("code").asText(), identity, pk.publicKey())));
    return pk;
  }

  /** The expected decision: may this role read this kind of record in this consent state. */
  static boolean allowed(String role, String state, String kind) {
    return switch (role) {
      case "patient", "own-practitioner", "service" -> true;
      case "other-practitioner" -> state.equals("granted") || state.equals("break-glass")
          || (state.equals("excluded") && !kind.equals("Condition"));
      case "insurer" -> state.equals("other-purpose");
      default -> false;
    };
  }

  static String caller(String role) {
    return switch (role) {
      case "patient" -> null;
      case "own-practitioner" -> "dr-own";
      case "service" -> "records-service";
      case "other-practitioner" -> "dr-other";
      case "auditor" -> "auditor-1";
      case "insurer" -> "insurer-2";
      case "researcher" -> "researcher-2";
      case "admin" -> "admin";
      default -> "anonymous";
    };
  }

  static String token(String role, String state) {
    return role.equals("anonymous") ? null
        : tokens.get(role.equals("patient") ? "patient:" + state : role);
  }

  static String[] headers(String state) {
    return state.equals("break-glass")
        ? new String[] {"X-Break-Glass-Reason", "unconscious in the emergency department"}
        : new String[0];
  }

  static long logSize() throws Exception {
    return admin.get("/api/v1/tree-head").get("header").get("logSize").asLong();
  }

  /** The command of the last transaction in the log. */
  static JsonNode lastCommand() throws Exception {
    JsonNode head = admin.get("/api/v1/tree-head");
    JsonNode block = admin.get("/api/v1/blocks/" + head.get("header").get("height").asLong());
    JsonNode ids = block.get("txIds");
    JsonNode r = admin.get("/api/v1/transactions/" + ids.get(ids.size() - 1).asText());
    return r.get("tx").get("payload");
  }

  @Test
  void everyRoleEndpointAndConsentStateGetsTheExpectedDecisionAndOneEvent() throws Exception {
    int attempts = 0;
    int releases = 0;
    List<String> failures = new ArrayList<>();
    for (String state : STATES) {
      Fixture f = fixtures.get(state);
      Map<String, String> kinds = Map.of("Patient", f.patient(), "Observation",
          f.observation(), "Condition", f.condition());
      for (String role : ROLES) {
        FhirHttp fhir = new FhirHttp(node.url(), token(role, state), headers(state));
        String who = role.equals("patient") ? f.identity() : caller(role);
        // single-record endpoints, on each kind of record
        for (String kind : List.of("Observation", "Condition", "Patient")) {
          String id = kinds.get(kind);
          for (String path : List.of("/" + kind + "/" + id, "/" + kind + "/" + id
              + "/_history/1", "/" + kind + "/" + id + "/_history",
              "/" + kind + "/" + id + "/$proof")) {
            long before = logSize();
            HttpResponse<String> r = fhir.get(path);
            boolean expect = allowed(role, state, kind);
            int want = expect ? 200 : role.equals("anonymous") ? 401 : 403;
            String label = role + " / " + state + " / GET " + path.replace(id, "{id}");
            if (r.statusCode() != want) {
              failures.add(label + ": " + r.statusCode() + " instead of " + want);
            }
            if (r.statusCode() == 200) {
              releases++;
              assertThat(r.body()).as(label).contains(path.endsWith("$proof") ? "commitment" : id);
            } else {
              assertThat(r.body()).as(label).doesNotContain("Matrix").doesNotContain("weight")
                  .doesNotContain("depression");
            }
            checkEvent(label, before, who, expect ? 1 : 0, expect ? 0 : 1, failures);
            attempts++;
          }
        }
        // searches, filtered record by record
        for (String kind : List.of("Observation", "Condition")) {
          long before = logSize();
          HttpResponse<String> r = fhir.get("/" + kind + "?patient=" + f.patient());
          String label = role + " / " + state + " / search " + kind;
          boolean expect = allowed(role, state, kind);
          searchResult(label, r, role, expect ? Set.of(kinds.get(kind)) : Set.of(), failures);
          checkEvent(label, before, who, expect ? 1 : 0, expect ? 0 : 1, failures);
          attempts++;
        }
        long before = logSize();
        HttpResponse<String> all = fhir.get("/Patient/" + f.patient() + "/$everything");
        Set<String> want = new HashSet<>();
        kinds.forEach((kind, id) -> {
          if (allowed(role, state, kind)) {
            want.add(id);
          }
        });
        String label = role + " / " + state + " / $everything";
        searchResult(label, all, role, want, failures);
        checkEvent(label, before, who, want.size(), 3 - want.size(), failures);
        attempts++;
        // the JSON API: cross-organization share, HPKE to a one-time key
        before = logSize();
        HttpResponse<String> shared = share(token(role, state), f.identity(), state);
        label = role + " / " + state + " / share";
        if (role.equals("anonymous")) {
          if (shared.statusCode() != 401) {
            failures.add(label + ": " + shared.statusCode());
          }
        } else {
          JsonNode body = JSON.readTree(shared.body());
          if (shared.statusCode() != 200 || body.get("records").size() != want.size()) {
            failures.add(label + ": " + shared.statusCode() + " " + body.path("records").size()
                + " records instead of " + want.size());
          }
          releases += body.path("records").size();
        }
        checkEvent(label, before, who, want.size(), 3 - want.size(), failures);
        attempts++;
      }
    }
    assertThat(failures).isEmpty();
    assertThat(attempts).isEqualTo(STATES.size() * ROLES.size() * 16);
    assertThat(releases).isGreaterThan(100);
  }

  static HttpResponse<String> share(String token, String patient, String state)
      throws Exception {
    byte[] key = Sharing.publicKeyset(Sharing.newRecipient());
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.url() + "/api/v1/share"))
        .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(
            "{\"patient\":\"" + patient + "\",\"recipientKey\":\"" + Codec.b64(key) + "\"}"));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    String[] h = headers(state);
    for (int i = 0; i + 1 < h.length; i += 2) {
      b.header(h[i], h[i + 1]);
    }
    return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static void searchResult(String label, HttpResponse<String> r, String role, Set<String> want,
      List<String> failures) throws Exception {
    if (role.equals("anonymous")) {
      if (r.statusCode() != 401) {
        failures.add(label + ": " + r.statusCode() + " instead of 401");
      }
      return;
    }
    if (r.statusCode() != 200) {
      failures.add(label + ": " + r.statusCode());
      return;
    }
    Set<String> got = new HashSet<>();
    JSON.readTree(r.body()).path("entry").forEach(e -> got.add(e.get("resource").get("id")
        .asText()));
    if (!got.equals(want)) {
      failures.add(label + ": got " + got.size() + " records, expected " + want.size());
    }
  }

  /** Exactly one new transaction: an access event by this caller with these decisions. */
  static void checkEvent(String label, long before, String accessor, int allowedRecords,
      int refusedRecords, List<String> failures) throws Exception {
    long after = logSize();
    if (after != before + 1) {
      failures.add(label + ": " + (after - before) + " transactions instead of 1 access event");
      return;
    }
    JsonNode p = lastCommand();
    JsonNode cmd = p.get("command");
    if (!p.get("contract").asText().equals("access")
        || !cmd.get("accessor").asText().equals(accessor)) {
      failures.add(label + ": last transaction is " + p.get("contract") + " by "
          + cmd.path("accessor"));
      return;
    }
    int allowed = 0;
    int refused = 0;
    for (JsonNode e : cmd.get("events")) {
      if (e.get("decision").asText().equals("allow")) {
        allowed += e.get("records").size();
      } else {
        refused += e.get("records").size();
      }
    }
    if (allowed != allowedRecords || refused != refusedRecords) {
      failures.add(label + ": event says " + allowed + " allowed / " + refused
          + " refused, expected " + allowedRecords + " / " + refusedRecords);
    }
  }
}
