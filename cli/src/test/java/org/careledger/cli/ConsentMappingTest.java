package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.parser.IParser;
import java.util.Date;
import java.util.List;
import org.careledger.core.contract.Command;
import org.careledger.node.fhir.ConsentMapping;
import org.careledger.node.fhir.FhirSetup;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Consent;
import org.junit.jupiter.api.Test;

/** The grant-to-Consent mapping survives JSON and XML and notices every changed term. */
class ConsentMappingTest {
  static final Command.Grant GRANT = new Command.Grant("00112233445566778899aabbccddeeff",
      "role:practitioner@org2", List.of("Observation", "Condition"), List.of(),
      List.of("TREAT", "ETREAT"), 1_760_000_000_123L, 1_760_086_400_456L, List.of("PSY"));

  @Test
  void aGrantsConsentMatchesItAfterJsonAndXml() {
    for (IParser p : List.of(FhirSetup.CONTEXT.newJsonParser(),
        FhirSetup.CONTEXT.newXmlParser())) {
      Consent c = ConsentMapping.sign(ConsentMapping.toFhir(GRANT, "p1"), new byte[] {1, 2, 3});
      Consent back = p.parseResource(Consent.class, p.encodeResourceToString(c));
      assertThat(ConsentMapping.differences(back, GRANT, "p1")).isEmpty();
      assertThat(ConsentMapping.signedTx(back)).containsExactly(1, 2, 3);
      assertThat(ConsentMapping.claimsGrant(back)).isTrue();
    }
  }

  @Test
  void everyChangedTermIsReported() {
    assertThat(ConsentMapping.differences(ConsentMapping.toFhir(GRANT, "p1"), GRANT, "p2"))
        .singleElement().asString().contains("patient");
    Consent c = ConsentMapping.toFhir(GRANT, "p1");
    c.getProvision().getPeriod().setStart(new Date(GRANT.start() + 1));
    c.getProvision().getPurpose().removeIf(x -> x.getCode().equals("ETREAT"));
    c.getProvision().addClass_(new Coding(ConsentMapping.RESOURCE_TYPES, "Procedure", null));
    c.getProvision().getProvision().clear();
    c.getProvision().getActorFirstRep().getReference().getIdentifier().setValue("org:org2");
    c.setStatus(Consent.ConsentState.DRAFT);
    assertThat(String.join("\n", ConsentMapping.differences(c, GRANT, "p1")))
        .contains("period.start").contains("purpose").contains("class").contains("exclusions")
        .contains("actor").contains("status");
  }

  @Test
  void aHospitalsConsentDocumentIsNotAGrant() {
    Consent doc = new Consent();
    doc.setStatus(Consent.ConsentState.ACTIVE);
    doc.getProvision().addActor().getReference().setReference("Practitioner/1");
    assertThat(ConsentMapping.claimsGrant(doc)).isFalse();
    assertThat(ConsentMapping.signedTx(doc)).isNull();
    assertThat(ConsentMapping.grantId("grant-abc")).isEqualTo("abc");
    assertThat(ConsentMapping.grantId("abc")).isNull();
  }
}
