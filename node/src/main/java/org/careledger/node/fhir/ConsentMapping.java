package org.careledger.node.fhir;

import ca.uhn.fhir.model.api.TemporalPrecisionEnum;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import org.careledger.core.contract.Command;
import org.careledger.core.ledger.Consents;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Base64BinaryType;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Period;
import org.hl7.fhir.r4.model.Reference;

/**
 * A consent grant and its FHIR {@code Consent}, both ways. A grant becomes a Consent whose
 * {@code provision} names the grantee (actor, role IRCP, identifier in
 * {@value #IDENTITY_SYSTEM}), the purposes, the period, the resource types ({@code class}; none
 * means all types) or the records ({@code data}), and the exclusions (a nested {@code deny}
 * provision's security labels). A Consent that creates or revokes a grant carries the patient's
 * signed transaction in the extension {@value #SIGNED_TX}; the node checks that the resource says
 * what the signed command says, field by field, before it submits the transaction.
 */
public final class ConsentMapping {
  public static final String IDENTITY_SYSTEM = "urn:careledger:identity";
  public static final String RECORD_SYSTEM = "urn:careledger:record";
  public static final String SIGNED_TX =
      "https://careledger.org/fhir/StructureDefinition/signed-transaction";
  public static final String ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
  public static final String RESOURCE_TYPES = "http://hl7.org/fhir/resource-types";
  public static final String GRANT_ID_PREFIX = "grant-";

  private ConsentMapping() {}

  /** The Consent view of a grant as the ledger state holds it. */
  public static Consent toFhir(JsonNode g, String patientId) {
    Consent c = toFhir(new Command.Grant(g.get("id").asText(), g.get("grantee").asText(),
        strings(g.path("types")), strings(g.path("records")), strings(g.get("purposes")),
        g.get("start").asLong(), g.get("end").asLong(), strings(g.path("exclude"))), patientId);
    boolean active = g.get("status").asText().equals(Consents.ACTIVE)
        && g.get("end").asLong() >= System.currentTimeMillis();
    c.setStatus(active ? Consent.ConsentState.ACTIVE : Consent.ConsentState.INACTIVE);
    c.setDateTime(new Date(g.get("time").asLong()));
    c.addPolicy().setUri("urn:careledger:consent:" + g.get("tx").asText());
    return c;
  }

  /** The Consent a patient posts to create {@code g}, before the signature is attached. */
  public static Consent toFhir(Command.Grant g, String patientId) {
    Consent c = new Consent();
    c.setId(GRANT_ID_PREFIX + g.id());
    c.setStatus(Consent.ConsentState.ACTIVE);
    c.setScope(new CodeableConcept(new Coding(
        "http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy", null)));
    c.addCategory(new CodeableConcept(new Coding("http://loinc.org", "59284-0",
        "Patient Consent")));
    c.setPatient(new Reference("Patient/" + patientId));
    Consent.ProvisionComponent p = c.getProvision();
    p.setType(Consent.ConsentProvisionType.PERMIT);
    p.setPeriod(new Period()
        .setStartElement(new DateTimeType(new Date(g.start()), TemporalPrecisionEnum.MILLI))
        .setEndElement(new DateTimeType(new Date(g.end()), TemporalPrecisionEnum.MILLI)));
    p.addActor().setRole(new CodeableConcept(new Coding(
        "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", null)))
        .setReference(new Reference().setIdentifier(new Identifier().setSystem(IDENTITY_SYSTEM)
            .setValue(g.grantee())));
    g.purposes().forEach(x -> p.addPurpose(new Coding(ACT_REASON, x, null)));
    g.types().stream().filter(x -> !x.equals("*"))
        .forEach(x -> p.addClass_(new Coding(RESOURCE_TYPES, x, null)));
    g.records().forEach(x -> p.addData().setMeaning(Consent.ConsentDataMeaning.INSTANCE)
        .setReference(new Reference().setIdentifier(new Identifier().setSystem(RECORD_SYSTEM)
            .setValue(x))));
    if (!g.exclude().isEmpty()) {
      Consent.ProvisionComponent deny = p.addProvision()
          .setType(Consent.ConsentProvisionType.DENY);
      g.exclude().forEach(x -> deny.addSecurityLabel(new Coding(null, x, null)));
    }
    return c;
  }

  /** Attaches the signed transaction (its exact bytes) to {@code c}. */
  public static Consent sign(Consent c, byte[] signedTx) {
    c.getExtension().removeIf(e -> SIGNED_TX.equals(e.getUrl()));
    c.addExtension(new Extension(SIGNED_TX, new Base64BinaryType(signedTx)));
    return c;
  }

  /** The signed transaction bytes {@code c} carries, or null. */
  public static byte[] signedTx(IBaseResource r) {
    if (!(r instanceof Consent c)) {
      return null;
    }
    Extension e = c.getExtensionByUrl(SIGNED_TX);
    if (e == null) {
      return null;
    }
    if (!(e.getValue() instanceof Base64BinaryType b) || b.getValue() == null) {
      throw new IllegalArgumentException("the " + SIGNED_TX
          + " extension needs a valueBase64Binary");
    }
    return b.getValue();
  }

  /**
   * True for a Consent that speaks for a patient's grant: it carries a signed transaction or
   * names a grantee by ledger identity. Such a Consent is never stored as a plain record.
   */
  public static boolean claimsGrant(IBaseResource r) {
    if (!(r instanceof Consent c)) {
      return false;
    }
    return c.getExtensionByUrl(SIGNED_TX) != null || (c.getIdElement().hasIdPart()
        && c.getIdElement().getIdPart().startsWith(GRANT_ID_PREFIX))
        || c.getProvision().getActor().stream().anyMatch(a -> IDENTITY_SYSTEM.equals(
            a.getReference().getIdentifier().getSystem()));
  }

  /**
   * Where the posted Consent {@code c} differs from the signed grant {@code g} for patient
   * {@code patientId}: one line per difference, empty when they agree.
   */
  public static List<String> differences(Consent c, Command.Grant g, String patientId) {
    List<String> out = new ArrayList<>();
    if (c.getStatus() != Consent.ConsentState.ACTIVE) {
      out.add("status must be active for a new grant");
    }
    if (!("Patient/" + patientId).equals(c.getPatient().getReference())) {
      out.add("patient must reference Patient/" + patientId);
    }
    Consent.ProvisionComponent p = c.getProvision();
    if (p.hasType() && p.getType() != Consent.ConsentProvisionType.PERMIT) {
      out.add("provision.type must be permit");
    }
    Period period = p.getPeriod();
    if (period.getStart() == null || period.getStart().getTime() != g.start()) {
      out.add("provision.period.start differs from the signed grant's start "
          + java.time.Instant.ofEpochMilli(g.start()));
    }
    if (period.getEnd() == null || period.getEnd().getTime() != g.end()) {
      out.add("provision.period.end differs from the signed grant's end "
          + java.time.Instant.ofEpochMilli(g.end()));
    }
    List<String> actors = new ArrayList<>();
    p.getActor().forEach(a -> actors.add(a.getReference().getIdentifier().getSystem() + "|"
        + a.getReference().getIdentifier().getValue()));
    if (!actors.equals(List.of(IDENTITY_SYSTEM + "|" + g.grantee()))) {
      out.add("provision.actor must be exactly the grantee " + g.grantee()
          + " (identifier system " + IDENTITY_SYSTEM + ")");
    }
    if (!codes(p.getPurpose(), ACT_REASON).equals(sorted(g.purposes()))) {
      out.add("provision.purpose differs from the signed grant's purposes " + g.purposes());
    }
    List<String> types = g.types().stream().filter(x -> !x.equals("*")).toList();
    if (!codes(p.getClass_(), RESOURCE_TYPES).equals(sorted(types))) {
      out.add("provision.class differs from the signed grant's types "
          + (types.isEmpty() ? "(all types: no class)" : types));
    }
    List<String> records = new ArrayList<>();
    p.getData().forEach(d -> records.add(RECORD_SYSTEM.equals(
        d.getReference().getIdentifier().getSystem())
        ? d.getReference().getIdentifier().getValue() : "?"));
    if (!sorted(records).equals(sorted(g.records()))) {
      out.add("provision.data differs from the signed grant's records " + g.records());
    }
    List<String> excluded = new ArrayList<>();
    for (Consent.ProvisionComponent n : p.getProvision()) {
      if (n.getType() != Consent.ConsentProvisionType.DENY) {
        out.add("nested provisions may only deny (the exclusions)");
      }
      n.getSecurityLabel().forEach(x -> excluded.add(x.getCode()));
    }
    if (!sorted(excluded).equals(sorted(g.exclude()))) {
      out.add("the deny provision's securityLabel codes differ from the signed grant's"
          + " exclusions " + g.exclude());
    }
    return out;
  }

  /** The grant id a Consent id names ({@code grant-<id>}), or null. */
  public static String grantId(String consentId) {
    return consentId != null && consentId.startsWith(GRANT_ID_PREFIX)
        ? consentId.substring(GRANT_ID_PREFIX.length()) : null;
  }

  private static List<String> codes(List<Coding> codings, String system) {
    List<String> out = new ArrayList<>();
    codings.forEach(x -> out.add(Objects.equals(system, x.getSystem()) ? x.getCode()
        : x.getSystem() + "|" + x.getCode()));
    return sorted(out);
  }

  private static List<String> sorted(List<String> l) {
    return l.stream().sorted().toList();
  }

  private static List<String> strings(JsonNode a) {
    List<String> out = new ArrayList<>();
    if (a != null) {
      a.forEach(x -> out.add(x.asText()));
    }
    return out;
  }
}
