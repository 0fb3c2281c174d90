package org.careledger.node.fhir;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.hl7.fhir.r4.model.Observation;
import org.junit.jupiter.api.Test;

/**
 * The sender's JSON as a stored version: exactly what was sent apart from the server's id and
 * meta and the references a transaction resolved, and nothing used that could say something
 * other than HAPI's model.
 */
class SourceJsonTest {
  private static final String OBS = "{\"resourceType\":\"Observation\",\"id\":\"client-id\","
      + "\"meta\":{\"versionId\":\"9\",\"profile\":[\"http://example.org/p\"]},"
      + "\"status\":\"final\",\"code\":{\"text\":\"weight\"},"
      + "\"subject\":{\"reference\":\"urn:uuid:0b8a2f7e-6d43-4d61-9c1e-5f0d8a3c2b11\"},"
      + "\"performer\":[{\"reference\":\"Practitioner?identifier=http://x|42\"},"
      + "{\"reference\":\"urn:uuid:0b8a2f7e-6d43-4d61-9c1e-5f0d8a3c2b11\"}],"
      + "\"valueQuantity\":{\"value\":72.50,\"unit\":\"kg\"}}";

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void onlyOneWholeJsonObjectIsUsed() {
    assertThat(SourceJson.parse(bytes(OBS))).isNotNull();
    assertThat(SourceJson.parse(bytes("  \n" + OBS))).isNotNull();
    assertThat(SourceJson.parse(bytes("<Observation xmlns=\"http://hl7.org/fhir\"/>"))).isNull();
    assertThat(SourceJson.parse(bytes("{\"a\":1,\"a\":2}"))).isNull();
    assertThat(SourceJson.parse(bytes(OBS + " {}"))).isNull();
    assertThat(SourceJson.parse(bytes("{\"a\":"))).isNull();
    assertThat(SourceJson.parse(bytes("[]"))).isNull();
    assertThat(SourceJson.parse(null)).isNull();
  }

  @Test
  void referencesAreResolvedAsTheTransactionResolvedThem() {
    ObjectNode o = SourceJson.parse(bytes(OBS));
    int n = SourceJson.resolve(o, Map.of(
        "urn:uuid:0b8a2f7e-6d43-4d61-9c1e-5f0d8a3c2b11", new SourceJson.Resolved.To("Patient/p1"),
        "Practitioner?identifier=http://x|42",
        new SourceJson.Resolved.Logical("Practitioner", "http://x", "42")));
    assertThat(n).isEqualTo(3);
    assertThat(o.at("/subject/reference").asText()).isEqualTo("Patient/p1");
    assertThat(o.at("/performer/1/reference").asText()).isEqualTo("Patient/p1");
    assertThat(o.at("/performer/0").has("reference")).isFalse();
    assertThat(o.at("/performer/0/type").asText()).isEqualTo("Practitioner");
    assertThat(o.at("/performer/0/identifier/system").asText()).isEqualTo("http://x");
    assertThat(o.at("/performer/0/identifier/value").asText()).isEqualTo("42");
    // nothing named: nothing rewritten (the caller then compares counts with the model's)
    assertThat(SourceJson.resolve(SourceJson.parse(bytes(OBS)), Map.of())).isZero();
  }

  @Test
  void aVersionIsTheSourceWithTheServersIdAndMeta() {
    ObjectNode o = SourceJson.parse(bytes(OBS));
    String instant = SourceJson.instant(1_760_000_000_123L);
    String v = new String(SourceJson.version(o, "Observation", "srv-1", 2, instant),
        StandardCharsets.UTF_8);
    assertThat(v).startsWith("{\"resourceType\":\"Observation\",\"id\":\"srv-1\",\"meta\":"
        + "{\"versionId\":\"2\",\"lastUpdated\":\"" + instant + "\",\"profile\":[");
    // numbers exactly as sent: 72.50 keeps its precision
    assertThat(v).contains("\"value\":72.50");
    // the source itself is not changed
    assertThat(o.get("id").asText()).isEqualTo("client-id");
    Observation parsed = FhirSetup.CONTEXT.newJsonParser().parseResource(Observation.class, v);
    assertThat(parsed.getIdElement().getIdPart()).isEqualTo("srv-1");
    assertThat(parsed.getMeta().getVersionId()).isEqualTo("2");
    assertThat(parsed.getMeta().getLastUpdated().getTime()).isEqualTo(1_760_000_000_123L);
    assertThat(parsed.getMeta().getProfile()).hasSize(1);
    assertThat(parsed.getValueQuantity().getValueElement().getValueAsString())
        .isEqualTo("72.50");
  }
}
