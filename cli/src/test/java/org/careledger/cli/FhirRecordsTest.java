package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.careledger.client.ApiClient;
import org.careledger.client.GenesisFile;
import org.careledger.client.ProofCheck;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.LedgerVerifier;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FHIR records through a real node process: every official example and every Synthea bundle
 * goes in and comes back equal with a commitment that checks; bad input changes nothing.
 */
class FhirRecordsTest {
  @TempDir static Path tmp;
  static NodeProcess node;
  static FhirHttp fhir;
  static ApiClient admin;
  static final FhirContext CTX = FhirContext.forR4Cached();
  static final ObjectMapper JSON = new ObjectMapper();

  @BeforeAll
  static void start() throws Exception {
    node = NodeProcess.init(tmp.resolve("node")).start();
    admin = new ApiClient(node.url(), node.adminKey());
    fhir = new FhirHttp(node.url(), node.serviceToken());
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  static Path data(String sub) throws Exception {
    return Path.of(FhirRecordsTest.class.getResource("/testdata/" + sub).toURI());
  }

  static List<Path> jsonFiles(String sub) throws Exception {
    try (Stream<Path> s = Files.walk(data(sub))) {
      return s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    }
  }

  static IParser parser() {
    return CTX.newJsonParser();
  }

  /** The resource without server-assigned parts: id, meta.versionId, meta.lastUpdated. */
  static Resource normalized(Resource r) {
    Resource c = r.copy();
    c.setIdElement(null);
    c.getMeta().setVersionId(null);
    c.getMeta().setLastUpdated(null);
    return c;
  }

  static long logSize() throws Exception {
    return admin.get("/api/v1/tree-head").get("header").get("logSize").asLong();
  }

  /** Checks $proof: commitment = SHA-256(salt || content), content = what read returns. */
  static void assertProofChecks(String typeAndId) throws Exception {
    HttpResponse<String> r = fhir.get("/" + typeAndId + "/$proof");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    Parameters p = parser().parseResource(Parameters.class, r.body());
    byte[] salt = Base64.getDecoder().decode(p.getParameter("salt").getValue().primitiveValue());
    byte[] content = Base64.getDecoder().decode(
        p.getParameter("content").getValue().primitiveValue());
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    md.update(salt);
    md.update(content);
    assertThat(Codec.hex(md.digest()))
        .isEqualTo(p.getParameter("commitment").getValue().primitiveValue());
    JsonNode receipt = JSON.readTree(p.getParameter("receipt").getValue().primitiveValue());
    var keys = GenesisFile.parse(Files.readAllBytes(node.dir.resolve("genesis.json")))
        .nodeKeys();
    assertThat(ProofCheck.receipt(receipt, keys)).isEmpty();
    assertThat(receipt.get("tx").toString()).contains(
        p.getParameter("commitment").getValue().primitiveValue());
    Resource read = (Resource) parser().parseResource(fhir.get("/" + typeAndId).body());
    Resource proved = (Resource) parser().parseResource(new String(content,
        java.nio.charset.StandardCharsets.UTF_8));
    assertThat(proved.equalsDeep(read)).isTrue();
  }

  @Test
  void everyOfficialExampleGoesInAndComesBackEqual() throws Exception {
    List<Path> files = jsonFiles("fhir-r4-examples");
    assertThat(files).hasSize(49);
    for (Path f : files) {
      Resource original = (Resource) parser().parseResource(Files.readString(f));
      String type = original.fhirType();
      HttpResponse<String> created = fhir.post("/" + type, Files.readString(f));
      assertThat(created.statusCode()).as(f.getFileName() + ": " + created.body())
          .isEqualTo(201);
      String location = created.headers().firstValue("Location").orElseThrow();
      String id = location.replaceAll(".*/" + type + "/([^/]+)/_history/.*", "$1");
      HttpResponse<String> read = fhir.get("/" + type + "/" + id);
      assertThat(read.statusCode()).isEqualTo(200);
      Resource back = (Resource) parser().parseResource(read.body());
      assertThat(normalized(back).equalsDeep(normalized(original)))
          .as(f.getFileName().toString()).isTrue();
      assertThat(back.getMeta().getVersionId()).isEqualTo("1");
      assertProofChecks(type + "/" + id);
    }
  }

  @Test
  void everySyntheaBundleImportsWholeAndReadsBackEqual() throws Exception {
    List<Path> files = jsonFiles("synthea-r4");
    assertThat(files).hasSize(21);
    int resources = 0;
    for (Path f : files) {
      String text = Files.readString(f);
      Bundle original = parser().parseResource(Bundle.class, text);
      HttpResponse<String> r = fhir.post("", text);
      assertThat(r.statusCode()).as(f.getFileName() + ": " + r.body()).isEqualTo(200);
      Bundle response = parser().parseResource(Bundle.class, r.body());
      assertThat(response.getEntry()).hasSize(original.getEntry().size());
      Map<String, String> assigned = new HashMap<>();
      for (int i = 0; i < original.getEntry().size(); i++) {
        String loc = response.getEntry().get(i).getResponse().getLocation();
        assertThat(response.getEntry().get(i).getResponse().getStatus()).startsWith("201");
        assigned.put(original.getEntry().get(i).getFullUrl(), loc.split("/_history")[0]);
      }
      for (int i = 0; i < original.getEntry().size(); i++) {
        Resource want = original.getEntry().get(i).getResource();
        for (Reference ref : CTX.newTerser().getAllPopulatedChildElementsOfType(want,
            Reference.class)) {
          String target = ref.getReference();
          if (assigned.containsKey(target)) {
            ref.setReference(assigned.get(target));
          } else if (target != null && target.contains("?identifier=")) {
            // documented: an unresolvable conditional reference becomes a logical reference
            String token = java.net.URLDecoder.decode(target.split("\\?identifier=")[1],
                java.nio.charset.StandardCharsets.UTF_8);
            ref.setReference(null);
            ref.setType(target.split("\\?")[0]);
            ref.setIdentifier(new org.hl7.fhir.r4.model.Identifier()
                .setSystem(token.substring(0, token.indexOf('|')))
                .setValue(token.substring(token.indexOf('|') + 1)));
          }
        }
        String where = assigned.get(original.getEntry().get(i).getFullUrl());
        Resource got = (Resource) parser().parseResource(fhir.get("/" + where).body());
        assertThat(normalized(got).equalsDeep(normalized(want))).as(where).isTrue();
        resources++;
      }
      String patient = assigned.values().stream().filter(s -> s.startsWith("Patient/"))
          .findFirst().orElseThrow();
      assertProofChecks(patient);
      Bundle everything = parser().parseResource(Bundle.class,
          fhir.get("/" + patient + "/$everything?_count=500").body());
      long compartment = original.getEntry().stream()
          .filter(e -> !List.of("Organization", "Practitioner")
              .contains(e.getResource().fhirType())).count();
      assertThat(everything.getTotal()).as(f.getFileName().toString())
          .isEqualTo((int) compartment);
    }
    assertThat(resources).isEqualTo(2144);
    assertThat(LedgerVerifier.verify(node.dir).problem()).isNull();
  }

  record Bad(String name, String path, String body, int status, String diagnostic) {}

  @Test
  void badInputIsRefusedWithAnOutcomeAndChangesNothing() throws Exception {
    String tenMb = "{\"resourceType\":\"Patient\",\"name\":[{\"text\":\""
        + "x".repeat(10 * 1024 * 1024) + "\"}]}";
    List<Bad> bad = List.of(
        new Bad("malformed JSON", "/Patient", "{\"resourceType\":\"Patient\",", 400,
            "not well-formed"),
        new Bad("wrong resourceType", "/Patient",
            "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"}}",
            400, ""),
        new Bad("missing required elements", "/Observation",
            "{\"resourceType\":\"Observation\",\"valueString\":\"x\"}", 422,
            "Observation.status: required element is missing"),
        new Bad("unknown element", "/Patient",
            "{\"resourceType\":\"Patient\",\"favouriteColour\":\"blue\"}", 422,
            "unknown element 'favouriteColour'"),
        new Bad("wrong datatype", "/Patient",
            "{\"resourceType\":\"Patient\",\"birthDate\":\"not-a-date\"}", 422,
            "invalid value"),
        new Bad("bad code", "/Observation",
            "{\"resourceType\":\"Observation\",\"status\":\"maybe\",\"code\":{\"text\":\"x\"}}",
            422, "invalid value"),
        new Bad("broken reference in a bundle", "",
            "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"fullUrl\":"
                + "\"urn:uuid:11111111-1111-1111-1111-111111111111\",\"resource\":{"
                + "\"resourceType\":\"Patient\"},\"request\":{\"method\":\"POST\",\"url\":"
                + "\"Patient\"}},{\"resource\":{\"resourceType\":\"Observation\",\"status\":"
                + "\"final\",\"code\":{\"text\":\"x\"},\"subject\":{\"reference\":"
                + "\"urn:uuid:22222222-2222-2222-2222-222222222222\"}},\"request\":{\"method\":"
                + "\"POST\",\"url\":\"Observation\"}}]}", 422, "not in the bundle"),
        new Bad("10 MB resource", "/Patient", tenMb, 413, "exceeds"));
    int patients = total("/Patient");
    // reads add their access events; bad writes must add nothing at all
    long before = logSize();
    for (Bad b : bad) {
      HttpResponse<String> r = fhir.post(b.path(), b.body());
      assertThat(r.statusCode()).as(b.name() + ": " + r.body()).isEqualTo(b.status());
      JsonNode oo = JSON.readTree(r.body());
      assertThat(oo.get("resourceType").asText()).as(b.name()).isEqualTo("OperationOutcome");
      assertThat(oo.toString()).as(b.name()).contains(b.diagnostic())
          .doesNotContain("Exception").doesNotContain("not-a-date").doesNotContain("blue");
    }
    assertThat(logSize()).isEqualTo(before);
    assertThat(total("/Patient")).isEqualTo(patients);
  }

  static int total(String search) throws Exception {
    return JSON.readTree(fhir.get(search + "?_count=1").body()).get("total").asInt();
  }

  @Test
  void updatesDeletesAndHistory() throws Exception {
    HttpResponse<String> c = fhir.put("/Patient/pat-history-1",
        "{\"resourceType\":\"Patient\",\"id\":\"pat-history-1\",\"gender\":\"female\"}");
    assertThat(c.statusCode()).isEqualTo(201);
    HttpResponse<String> u = fhir.put("/Patient/pat-history-1",
        "{\"resourceType\":\"Patient\",\"id\":\"pat-history-1\",\"gender\":\"other\"}");
    assertThat(u.statusCode()).isEqualTo(200);
    assertThat(fhir.get("/Patient/pat-history-1").body()).contains("\"versionId\":\"2\"")
        .contains("other");
    assertThat(fhir.get("/Patient/pat-history-1/_history/1").body()).contains("female");
    assertThat(fhir.delete("/Patient/pat-history-1").statusCode()).isIn(200, 204);
    assertThat(fhir.get("/Patient/pat-history-1").statusCode()).isEqualTo(410);
    Bundle h = parser().parseResource(Bundle.class,
        fhir.get("/Patient/pat-history-1/_history").body());
    assertThat(h.getTotal()).isEqualTo(3);
    assertThat(fhir.get("/Patient/no-such-patient").statusCode()).isEqualTo(404);
    assertThat(fhir.put("/Patient/pat-history-2",
        "{\"resourceType\":\"Patient\",\"id\":\"another-id\"}").statusCode()).isEqualTo(400);
  }

  /** A transaction bundle creating {@code n} Goals of one patient. */
  static String goals(String patient, int n) {
    StringBuilder b = new StringBuilder("{\"resourceType\":\"Bundle\",\"type\":"
        + "\"transaction\",\"entry\":[");
    for (int i = 0; i < n; i++) {
      b.append(i == 0 ? "" : ",").append("{\"resource\":{\"resourceType\":\"Goal\","
          + "\"lifecycleStatus\":\"active\",\"description\":{\"text\":\"walk ")
          .append(i).append(" steps\"},\"subject\":{\"reference\":\"Patient/")
          .append(patient).append("\"}},\"request\":{\"method\":\"POST\",\"url\":"
              + "\"Goal\"}}");
    }
    return b.append("]}").toString();
  }

  @Test
  void aSearchAndAnErasureOverTensOfThousandsOfRecords() throws Exception {
    String patient = FhirIntegrityTest.id(fhir.post("/Patient",
        "{\"resourceType\":\"Patient\",\"gender\":\"male\"}"));
    // one ledger transaction anchors at most 3000 resources: a larger bundle is refused whole
    long before = logSize();
    HttpResponse<String> big = fhir.post("", goals(patient, 3001));
    assertThat(big.statusCode()).as(big.body()).isEqualTo(413);
    assertThat(big.body()).contains("OperationOutcome").contains("at most 3000 resources");
    assertThat(logSize()).isEqualTo(before);
    for (int i = 0; i < 14; i++) {
      HttpResponse<String> r = fhir.post("", goals(patient, 3000));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
    // every match's access is on the ledger before the first page is answered: 42,000 record
    // pseudonyms, more than one transaction may hold, so in several
    long written = logSize();
    HttpResponse<String> found = fhir.get("/Goal?_count=5");
    assertThat(found.statusCode()).as(found.body()).isEqualTo(200);
    Bundle page = parser().parseResource(Bundle.class, found.body());
    assertThat(page.getTotal()).isEqualTo(42_000);
    assertThat(page.getEntry()).hasSize(5);
    assertThat(logSize() - written).isGreaterThan(1);
    String event = found.headers().firstValue("X-Access-Event").orElseThrow();
    assertThat(admin.get("/api/v1/transactions/" + event).toString())
        .contains("\"action\":\"search\"");

    // and the patient's erasure takes all 42,001 records, in transactions of at most 5,000
    FhirHttp operator = new FhirHttp(node.url(), admin.token());
    HttpResponse<String> erased = operator.post("/Patient/" + patient + "/$erase-patient",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"legalBasis\","
            + "\"valueString\":\"GDPR Art. 17(1)(a)\"}]}");
    assertThat(erased.statusCode()).as(erased.body()).isEqualTo(200);
    Parameters receipt = parser().parseResource(Parameters.class, erased.body());
    assertThat(receipt.getParameter("erasedRecords").getValue().primitiveValue())
        .isEqualTo("42001");
    List<String> txs = receipt.getParameter().stream()
        .filter(x -> x.getName().equals("erasureTxId"))
        .map(x -> x.getValue().primitiveValue()).toList();
    assertThat(txs).hasSize(9).doesNotHaveDuplicates();
    assertThat(txs.get(8)).isEqualTo(receipt.getParameter("txId").getValue().primitiveValue());
    assertThat(fhir.get("/Patient/" + patient).statusCode()).isEqualTo(410);
    assertThat(parser().parseResource(Bundle.class, fhir.get("/Goal?_count=5").body())
        .getTotal()).isZero();
  }

  @Test
  void everyCallNeedsACustodianTokenAndErasureNeedsAnAdmin() throws Exception {
    FhirHttp anonymous = new FhirHttp(node.url(), null);
    HttpResponse<String> r = anonymous.get("/Patient");
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.body()).contains("OperationOutcome");
    assertThat(anonymous.post("/Patient", "{\"resourceType\":\"Patient\"}").statusCode())
        .isEqualTo(401);
    assertThat(anonymous.get("/metadata").statusCode()).isEqualTo(200);
    Ed25519.KeyPair clerk = Ed25519.KeyPair.generate();
    admin.submit(TxFixture.signedBy(node.adminKey()).chain("careledger-test")
        .command(new Command.Register("records-clerk", Role.SERVICE, clerk.publicKey(), null))
        .bytes());
    FhirHttp service = new FhirHttp(node.url(), new ApiClient(node.url(), clerk).token());
    HttpResponse<String> created = service.post("/Patient", "{\"resourceType\":\"Patient\"}");
    assertThat(created.statusCode()).isEqualTo(201);
    String id = created.headers().firstValue("Location").orElseThrow()
        .replaceAll(".*/Patient/([^/]+)/_history/.*", "$1");
    HttpResponse<String> erase = service.post("/Patient/" + id + "/$erase",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"legalBasis\","
            + "\"valueString\":\"test\"}]}");
    assertThat(erase.statusCode()).isEqualTo(403);
    assertThat(service.get("/Patient/" + id).statusCode()).isEqualTo(200);
  }

  @Test
  void capabilityStatementListsWhatIsServed() throws Exception {
    JsonNode cs = JSON.readTree(new FhirHttp(node.url(), null).get("/metadata").body());
    List<String> types = new ArrayList<>();
    cs.get("rest").get(0).get("resource").forEach(r -> types.add(r.get("type").asText()));
    assertThat(types).contains("Patient", "Observation", "Claim", "ExplanationOfBenefit",
        "Provenance", "ImagingStudy");
    assertThat(cs.toString()).contains("everything").contains("\"patient\"")
        .contains("_lastUpdated");
    assertThat(fhir.get("/Patient?_format=xml").body()).startsWith("<Bundle");
  }

  /** The content under the commitment of a resource's current version, from $proof. */
  static String provedContent(String typeAndId) throws Exception {
    Parameters p = parser().parseResource(Parameters.class,
        fhir.get("/" + typeAndId + "/$proof").body());
    return new String(Base64.getDecoder().decode(
        p.getParameter("content").getValue().primitiveValue()),
        java.nio.charset.StandardCharsets.UTF_8);
  }

  @Test
  void aStoredVersionIsTheSendersJsonWithTheServersIdAndMeta() throws Exception {
    String sent = "{\"resourceType\":\"Observation\",\"status\":\"final\","
        + "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"29463-7\"}]},"
        + "\"valueQuantity\":{\"value\":72.50,\"unit\":\"kg\"},"
        + "\"subject\":{\"reference\":\"urn:uuid:4e2f6c1a-8b3d-4f5e-9a7b-1c2d3e4f5a6b\"}}";
    String bundle = "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
        + "{\"fullUrl\":\"urn:uuid:4e2f6c1a-8b3d-4f5e-9a7b-1c2d3e4f5a6b\",\"resource\":"
        + "{\"resourceType\":\"Patient\",\"gender\":\"male\"},"
        + "\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
        + "{\"resource\":" + sent + ",\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}]}";
    HttpResponse<String> r = fhir.post("", bundle);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    Bundle response = parser().parseResource(Bundle.class, r.body());
    String patient = response.getEntry().get(0).getResponse().getLocation().split("/_history")[0];
    String obs = response.getEntry().get(1).getResponse().getLocation().split("/_history")[0];
    JsonNode stored = JSON.readTree(provedContent(obs));
    // what was sent, number precision included, with the bundle's reference resolved ...
    var expected = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(sent);
    ((com.fasterxml.jackson.databind.node.ObjectNode) expected.get("subject"))
        .put("reference", patient);
    assertThat(provedContent(obs)).contains("\"value\":72.50");
    // ... and the server's id and meta
    assertThat(stored.get("id").asText()).isEqualTo(obs.split("/")[1]);
    assertThat(stored.at("/meta/versionId").asText()).isEqualTo("1");
    var withoutServerParts = ((com.fasterxml.jackson.databind.node.ObjectNode) stored.deepCopy());
    withoutServerParts.remove(List.of("id", "meta"));
    assertThat(withoutServerParts).isEqualTo(expected);
    assertProofChecks(obs);
  }

  @Test
  void aJsonReadSendsTheCommittedBytesAndAnythingShapedGoesThroughHapi() throws Exception {
    // in the sender's order, not HAPI's: an encoding by HAPI would not give these bytes
    String sent = "{\"resourceType\":\"Observation\",\"valueQuantity\":{\"unit\":\"/min\","
        + "\"value\":61.0},\"code\":{\"coding\":[{\"code\":\"8867-4\","
        + "\"system\":\"http://loinc.org\"}]},\"status\":\"final\"}";
    HttpResponse<String> created = fhir.post("/Observation", sent);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    String obs = created.headers().firstValue("Location").orElseThrow()
        .replaceAll(".*/fhir/", "").replaceAll("/_history/.*", "");
    String committed = provedContent(obs);
    var http = java.net.http.HttpClient.newHttpClient();
    String token = node.serviceToken();
    java.util.function.BiFunction<String, String, HttpResponse<String>> get = (path, accept) -> {
      var b = java.net.http.HttpRequest.newBuilder(java.net.URI.create(node.url() + "/fhir/"
          + path)).header("Authorization", "Bearer " + token);
      if (accept != null) {
        b.header("Accept", accept);
      }
      try {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    };
    // read and vread, with or without a JSON Accept or _format: the committed bytes, exactly
    for (HttpResponse<String> r : List.of(get.apply(obs, null),
        get.apply(obs, "application/fhir+json"), get.apply(obs + "?_format=json", null),
        get.apply(obs + "/_history/1", "application/json"))) {
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.body()).isEqualTo(committed).contains("\"value\":61.0");
      assertThat(r.headers().firstValue("ETag")).hasValue("W/\"1\"");
      assertThat(r.headers().firstValue("Last-Modified")).isPresent();
      assertThat(r.headers().firstValue("Content-Type").orElseThrow())
          .startsWith("application/fhir+json");
      assertThat(r.headers().firstValue("X-Access-Event")).isPresent();
    }
    // what HAPI shapes is HAPI's: XML, a summary, pretty printing
    assertThat(get.apply(obs, "application/fhir+xml").body()).startsWith("<Observation");
    assertThat(get.apply(obs + "?_summary=true", null).body()).contains("SUBSETTED");
    assertThat(get.apply(obs + "?_elements=status", null).body()).contains("\"final\"")
        .doesNotContain("8867-4");
    HttpResponse<String> pretty = get.apply(obs + "?_pretty=true", null);
    assertThat(pretty.body()).isNotEqualTo(committed).contains("\n  \"status\": \"final\"");
    assertThat(((Resource) parser().parseResource(pretty.body()))
        .equalsDeep((Resource) parser().parseResource(committed))).isTrue();
    // a conditional read still answers 304, and a later version is served as stored too
    var conditional = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
            node.url() + "/fhir/" + obs)).header("Authorization", "Bearer " + token)
        .header("If-None-Match", "W/\"1\"").build(), HttpResponse.BodyHandlers.ofString());
    assertThat(conditional.statusCode()).isEqualTo(304);
    String id = obs.split("/")[1];
    assertThat(fhir.put("/" + obs, sent.replace("{\"resourceType\":\"Observation\",",
        "{\"resourceType\":\"Observation\",\"id\":\"" + id + "\",").replace("61.0", "62.0"))
        .statusCode())
        .isEqualTo(200);
    HttpResponse<String> v2 = get.apply(obs, null);
    assertThat(v2.body()).isEqualTo(provedContent(obs)).contains("\"versionId\":\"2\"")
        .contains("62.0");
    assertThat(v2.headers().firstValue("ETag")).hasValue("W/\"2\"");
    assertThat(get.apply(obs + "/_history/1", null).body()).isEqualTo(committed);
  }

  @Test
  void xmlGoesInAndComesOut() throws Exception {
    var http = java.net.http.HttpClient.newHttpClient();
    HttpResponse<String> created = http.send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create(node.url() + "/fhir/Patient"))
        .header("Authorization", "Bearer " + node.serviceToken())
        .header("Content-Type", "application/fhir+xml")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("<Patient xmlns=\"http://hl7.org/"
            + "fhir\"><gender value=\"female\"/><birthDate value=\"1970-01-01\"/></Patient>"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertThat(created.statusCode()).isEqualTo(201);
    String where = created.headers().firstValue("Location").orElseThrow()
        .replaceAll(".*/fhir/", "").replaceAll("/_history/.*", "");
    HttpResponse<String> xml = http.send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create(node.url() + "/fhir/" + where))
        .header("Authorization", "Bearer " + node.serviceToken())
        .header("Accept", "application/fhir+xml").build(), HttpResponse.BodyHandlers.ofString());
    assertThat(xml.body()).startsWith("<Patient").contains("<birthDate value=\"1970-01-01\"/>");
    HttpResponse<String> bad = http.send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create(node.url() + "/fhir/Patient"))
        .header("Authorization", "Bearer " + node.serviceToken())
        .header("Content-Type", "application/fhir+xml")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("<Patient xmlns=\"http://hl7.org/"
            + "fhir\"><gender value=\"sometimes\"/><colour value=\"x\"/></Patient>"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertThat(bad.statusCode()).isEqualTo(422);
    assertThat(bad.body()).contains("unknown element 'colour'").doesNotContain("sometimes");
  }

  @Test
  void validateRunsTheFullValidatorAndDeclaredProfilesAreOnlyWarnings() throws Exception {
    String good = Files.readString(data("fhir-r4-examples").resolve("Observation-f001.json"));
    HttpResponse<String> ok = fhir.post("/Observation/$validate", good);
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    JsonNode oo = JSON.readTree(ok.body());
    assertThat(oo.get("resourceType").asText()).isEqualTo("OperationOutcome");
    oo.get("issue").forEach(i -> assertThat(i.get("severity").asText()).as(i.toString())
        .isIn("information", "warning"));
    // a profile the node does not have (US Core, as Synthea declares) is a warning
    HttpResponse<String> profiled = fhir.post("/Patient/$validate", "{\"resourceType\":"
        + "\"Patient\",\"meta\":{\"profile\":[\"http://hl7.org/fhir/us/core/StructureDefinition/"
        + "us-core-patient\"]},\"gender\":\"female\"}");
    JsonNode p = JSON.readTree(profiled.body());
    assertThat(p.toString()).contains("us-core-patient");
    p.get("issue").forEach(i -> assertThat(i.get("severity").asText()).as(i.toString())
        .isNotIn("error", "fatal"));
    // a rule only the full validator knows (obs-6: no dataAbsentReason with a value)
    HttpResponse<String> bad = fhir.post("/Observation/$validate", "{\"resourceType\":"
        + "\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},\"valueString\":\"y\","
        + "\"dataAbsentReason\":{\"text\":\"unknown\"}}");
    assertThat(JSON.readTree(bad.body()).toString()).contains("\"severity\":\"error\"")
        .contains("obs-6");
    long before = logSize();
    fhir.post("/Observation/$validate", good);
    assertThat(logSize()).isEqualTo(before);
  }
}
