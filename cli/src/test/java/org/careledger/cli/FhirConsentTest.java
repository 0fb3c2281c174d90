package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.careledger.client.ApiClient;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.NetworkInit;
import org.careledger.node.fhir.ConsentMapping;
import org.careledger.node.fhir.FhirSetup;
import org.hl7.fhir.r4.model.Consent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Grants created and revoked through {@code /fhir/Consent}: only with the patient's own
 * signature, only when the resource says what the signed command says, and then exactly as
 * effective as a grant sent to {@code /api/v1}.
 */
class FhirConsentTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  @Test
  void grantsThroughFhirNeedThePatientsSignatureAndMatchingTerms() throws Exception {
    NodeProcess node = NodeProcess.init(tmp.resolve("node"),
        List.of(new NetworkInit.Member("org2", "Clinic Two"))).start();
    try {
      run(node);
    } finally {
      node.stop();
    }
    CliTest.Run verify = CliTest.cli("verify", "--data", node.dir.toString());
    assertThat(verify.code()).as(verify.out()).isZero();
  }

  private void run(NodeProcess node) throws Exception {
    String url = node.url();
    Path service = node.dir.resolve("keys/service.key");
    node.serviceKey();
    FhirHttp records = new FhirHttp(url, node.serviceToken());
    String patientId = FhirIntegrityTest.id(records.post("/Patient",
        "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Signing\"}]}"));
    String obs = FhirIntegrityTest.id(records.post("/Observation", "{\"resourceType\":"
        + "\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"weight\"},\"subject\":"
        + "{\"reference\":\"Patient/" + patientId + "\"},\"valueQuantity\":{\"value\":71,"
        + "\"unit\":\"kg\"}}"));
    String code = CliTest.offerCode(url, service, patientId);
    Path patientKey = tmp.resolve("patient.key");
    assertThat(CliTest.cli("patient", "enroll", "--node", url, "--code", code, "--id",
        "pat-sam", "--key", patientKey.toString()).code()).isZero();
    Ed25519.KeyPair pat = KeyFile.read(patientKey, null);
    ApiClient patientApi = new ApiClient(url, pat);
    FhirHttp patient = new FhirHttp(url, patientApi.token());

    Ed25519.KeyPair admin2 = KeyFile.read(node.dir.resolve("keys/org2-admin.key"), null);
    Ed25519.KeyPair drKey = Ed25519.KeyPair.generate();
    new ApiClient(url, admin2).submit(AccessMatrixTest.sign(admin2, new Command.Register(
        "dr-cy", Role.PRACTITIONER, drKey.publicKey(), null)));
    Path drFile = tmp.resolve("dr.key");
    KeyFile.write(drFile, drKey, null);
    FhirHttp dr = new FhirHttp(url, new ApiClient(url, drKey).token());
    assertThat(dr.get("/Observation/" + obs).statusCode()).isEqualTo(403);

    long now = System.currentTimeMillis();
    Command.Grant terms = new Command.Grant("00112233445566778899aabbccddeeff",
        "identity:dr-cy", List.of("Observation"), List.of(), List.of("TREAT"), now,
        now + 3_600_000, List.of());

    // a grant-shaped Consent without a signature is refused, not filed as a record
    HttpResponse<String> unsigned = patient.post("/Consent",
        encode(ConsentMapping.toFhir(terms, patientId)));
    assertThat(unsigned.statusCode()).as(unsigned.body()).isEqualTo(422);
    assertThat(unsigned.body()).contains("requires the patient's signature")
        .contains("OperationOutcome");

    // signed by someone else: the clinician, the node, another registered identity
    Ed25519.KeyPair nodeKey = KeyFile.read(node.dir.resolve("keys/node.key"), null);
    for (Ed25519.KeyPair forger : List.of(drKey, nodeKey, node.adminKey())) {
      HttpResponse<String> r = patient.post("/Consent", encode(ConsentMapping.sign(
          ConsentMapping.toFhir(terms, patientId), AccessMatrixTest.sign(forger, terms))));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
      assertThat(r.body()).contains("not by the patient's own identity");
    }

    // the patient's signature, but the resource's terms differ from the signed ones
    Consent wider = ConsentMapping.toFhir(terms, patientId);
    wider.getProvision().getPeriod().setEnd(new java.util.Date(now + 86_400_000L * 365));
    wider.getProvision().getClass_().clear();
    HttpResponse<String> mismatch = patient.post("/Consent", encode(ConsentMapping.sign(wider,
        AccessMatrixTest.sign(pat, terms))));
    assertThat(mismatch.statusCode()).as(mismatch.body()).isEqualTo(422);
    assertThat(mismatch.body()).contains("provision.period.end").contains("provision.class");

    // a revocation cannot create a grant
    HttpResponse<String> wrongCommand = patient.post("/Consent", encode(ConsentMapping.sign(
        ConsentMapping.toFhir(terms, patientId), AccessMatrixTest.sign(pat,
            new Command.RevokeGrant(terms.id())))));
    assertThat(wrongCommand.statusCode()).isEqualTo(422);

    // none of that created anything, and the clinician still cannot read
    assertThat(patientApi.get("/api/v1/patients/me/consents").get("grants")).isEmpty();
    assertThat(dr.get("/Observation/" + obs).statusCode()).isEqualTo(403);

    // a signed grant inside a transaction Bundle is refused: grants are posted on their own
    String bundle = "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{"
        + "\"resource\":" + encode(ConsentMapping.sign(ConsentMapping.toFhir(terms, patientId),
            AccessMatrixTest.sign(pat, terms)))
        + ",\"request\":{\"method\":\"POST\",\"url\":\"Consent\"}}]}";
    HttpResponse<String> inBundle = records.post("", bundle);
    assertThat(inBundle.statusCode()).as(inBundle.body()).isEqualTo(422);
    assertThat(inBundle.body()).contains("not inside a Bundle");

    // the real thing, posted by hand: 201, the grant is on the ledger and takes effect
    HttpResponse<String> created = patient.post("/Consent", encode(ConsentMapping.sign(
        ConsentMapping.toFhir(terms, patientId), AccessMatrixTest.sign(pat, terms))));
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    assertThat(created.headers().firstValue("Location").orElseThrow())
        .contains("Consent/grant-" + terms.id());
    JsonNode grants = patientApi.get("/api/v1/patients/me/consents").get("grants");
    assertThat(grants).hasSize(1);
    assertThat(grants.get(0).get("grantee").asText()).isEqualTo("identity:dr-cy");
    assertThat(grants.get(0).get("end").asLong()).isEqualTo(terms.end());
    assertThat(dr.get("/Observation/" + obs).statusCode()).isEqualTo(200);
    // the same grant twice is a conflict, not a second grant
    HttpResponse<String> again = patient.post("/Consent", encode(ConsentMapping.sign(
        ConsentMapping.toFhir(terms, patientId), AccessMatrixTest.sign(pat, terms))));
    assertThat(again.statusCode()).as(again.body()).isEqualTo(409);

    // the grant reads back as a Consent, for the patient only
    HttpResponse<String> read = patient.get("/Consent/grant-" + terms.id());
    assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
    assertThat(JSON.readTree(read.body()).get("status").asText()).isEqualTo("active");
    assertThat(dr.get("/Consent/grant-" + terms.id()).statusCode()).isEqualTo(403);

    // revocation through FHIR needs the signed revoke; a changed status alone is refused
    Consent unsignedRevoke = ConsentMapping.toFhir(terms, patientId)
        .setStatus(Consent.ConsentState.INACTIVE);
    HttpResponse<String> noSig = patient.put("/Consent/grant-" + terms.id(),
        encode(unsignedRevoke));
    assertThat(noSig.statusCode()).isEqualTo(422);
    assertThat(dr.get("/Observation/" + obs).statusCode()).isEqualTo(200);

    // the CLI does both through FHIR: revoke the hand-made grant, grant and revoke anew
    CliTest.Run revoke = CliTest.cli("consent", "revoke", "--fhir", "--node", url, "--key",
        patientKey.toString(), "--id", terms.id());
    assertThat(revoke.code()).as(revoke.out()).isZero();
    assertThat(dr.get("/Observation/" + obs).statusCode()).isEqualTo(403);
    CliTest.Run grant = CliTest.cli("consent", "grant", "--fhir", "--node", url, "--key",
        patientKey.toString(), "--grantee", "identity:dr-cy", "--types", "Observation",
        "--purpose", "TREAT", "--days", "2");
    assertThat(grant.code()).as(grant.out()).isZero();
    assertThat(grant.out()).contains("through FHIR as Consent/grant-");
    assertThat(dr.get("/Observation/" + obs).statusCode()).isEqualTo(200);
    String id = grant.out().replaceAll("(?s).*\\ngrant ([0-9a-f]{32}).*", "$1");
    HttpResponse<String> view = patient.get("/Consent?patient=" + patientId);
    assertThat(view.body()).contains("grant-" + id).contains("grant-" + terms.id());
    assertThat(CliTest.cli("consent", "revoke", "--fhir", "--node", url, "--key",
        patientKey.toString(), "--id", id).code()).isZero();
    assertThat(dr.get("/Observation/" + obs).statusCode()).isEqualTo(403);
    // revoking twice: one line, non-zero
    CliTest.Run twice = CliTest.cli("consent", "revoke", "--fhir", "--node", url, "--key",
        patientKey.toString(), "--id", id);
    assertThat(twice.code()).isEqualTo(Main.FAILED);
    assertThat(twice.out()).contains("already revoked");

    // a hospital's own consent document (no grantee identity, no signature) is a record
    HttpResponse<String> document = records.post("/Consent", "{\"resourceType\":\"Consent\","
        + "\"status\":\"active\",\"scope\":{\"text\":\"treatment\"},\"category\":[{\"text\":"
        + "\"paper form\"}],\"patient\":{\"reference\":\"Patient/" + patientId + "\"}}");
    assertThat(document.statusCode()).as(document.body()).isEqualTo(201);
    assertThat(patientApi.get("/api/v1/patients/me/consents").get("grants")).hasSize(2);
  }

  private static String encode(Consent c) {
    return FhirSetup.CONTEXT.newJsonParser().encodeResourceToString(c);
  }
}
