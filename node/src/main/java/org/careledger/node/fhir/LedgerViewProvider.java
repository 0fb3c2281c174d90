package org.careledger.node.fhir;

import ca.uhn.fhir.rest.annotation.OptionalParam;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.api.server.IBundleProvider;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.param.DateRangeParam;
import ca.uhn.fhir.rest.param.ReferenceParam;
import ca.uhn.fhir.rest.server.SimpleBundleProvider;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.careledger.core.contract.Role;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.ledger.AccessLog;
import org.careledger.core.ledger.Consents;
import org.careledger.core.ledger.Patients;
import org.careledger.node.auth.TokenService;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Period;
import org.hl7.fhir.r4.model.Reference;

/**
 * {@code AuditEvent} and {@code Consent} with a {@code patient} search parameter: views of the
 * ledger's access events and the patient's grants, for the patient themselves and auditors.
 * Other searches fall through to the stored resources of that type (AuditEvents and Consent
 * documents a hospital files, which grant nothing).
 */
final class LedgerViewProvider extends RecordProvider {
  static final String IDENTITY_SYSTEM = "urn:careledger:identity";
  static final String ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

  LedgerViewProvider(String type, RecordStore store, AccessPolicy access,
      FullValidator validator) {
    super(type, store, access, validator);
  }

  @Override
  @Search
  public IBundleProvider search(
      @OptionalParam(name = "patient") ReferenceParam patient,
      @OptionalParam(name = "subject") ReferenceParam subject,
      @OptionalParam(name = "_lastUpdated") DateRangeParam lastUpdated,
      RequestDetails request) {
    if (patient == null) {
      return super.search(null, subject, lastUpdated, request);
    }
    if (patient.getResourceType() != null && !patient.getResourceType().equals("Patient")) {
      throw new InvalidRequestException("patient searches take Patient ids");
    }
    TokenService.Session s = access.require(request, AccessPolicy.Action.AUTHENTICATED);
    String pp = store.patientPseudonym(patient.getIdPart());
    String org = access.gate().org();
    String owner = Patients.owner(store.ledger().store().state(), org, pp);
    boolean self = s.role() == Role.PATIENT && s.identity().equals(owner);
    if (!self && s.role() != Role.AUDITOR) {
      throw new ForbiddenOperationException("the ledger's " + typeName + " view is for the"
          + " patient it concerns and for auditors");
    }
    List<IBaseResource> out = new ArrayList<>();
    if (typeName.equals("AuditEvent")) {
      store.ledger().store().scanState(AccessLog.prefix(pp), (k, v) -> {
        out.add(auditEvent(json(v), patient.getIdPart()));
        return true;
      });
    } else if (owner != null) {
      for (JsonNode g : Consents.grants((prefix, v) -> store.ledger().store()
          .scanState(prefix, v), owner)) {
        out.add(consent(g, patient.getIdPart()));
      }
    }
    return new SimpleBundleProvider(out);
  }

  private static JsonNode json(byte[] v) {
    try {
      return CanonicalJson.parse(v);
    } catch (CanonicalJson.InvalidJsonException e) {
      throw new IllegalStateException("state entry is not JSON");
    }
  }

  /** An access event as a FHIR AuditEvent. */
  static AuditEvent auditEvent(JsonNode e, String patientId) {
    AuditEvent a = new AuditEvent();
    a.setId("access-" + e.get("tx").asText().substring(0, 32) + "-" + e.get("index").asInt());
    a.setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest",
        "RESTful Operation"));
    a.addSubtype(new Coding("http://hl7.org/fhir/restful-interaction",
        e.get("action").asText(), null));
    a.setAction(e.get("action").asText().equals("share")
        || e.get("action").asText().equals("export") ? AuditEvent.AuditEventAction.E
        : AuditEvent.AuditEventAction.R);
    a.setRecorded(new Date(e.get("time").asLong()));
    boolean allowed = e.get("decision").asText().equals("allow");
    a.setOutcome(allowed ? AuditEvent.AuditEventOutcome._0
        : AuditEvent.AuditEventOutcome._4);
    a.setOutcomeDesc(e.get("decision").asText() + ": " + e.get("basis").asText()
        + (e.get("reason").asText().isEmpty() ? "" : " (" + e.get("reason").asText() + ")"));
    if (!e.get("purpose").asText().isEmpty()) {
      a.addPurposeOfEvent(new CodeableConcept(new Coding(ACT_REASON,
          e.get("purpose").asText(), null)));
    }
    if (e.get("breakGlass").asBoolean()) {
      a.getMeta().addSecurity("http://terminology.hl7.org/CodeSystem/v3-ActCode", "BTG",
          "break the glass");
    }
    AuditEvent.AuditEventAgentComponent agent = a.addAgent().setRequestor(true);
    agent.setWho(new Reference().setIdentifier(new Identifier().setSystem(IDENTITY_SYSTEM)
        .setValue(e.get("accessor").asText())).setDisplay(e.get("accessor").asText()
        + (e.get("accessorOrg").asText().isEmpty() ? "" : " @ "
            + e.get("accessorOrg").asText())));
    a.getSource().setSite(e.get("custodian").asText()).setObserver(new Reference()
        .setIdentifier(new Identifier().setSystem(IDENTITY_SYSTEM)
            .setValue(e.get("node").asText())));
    a.addEntity().setWhat(new Reference("Patient/" + patientId))
        .setDescription(e.get("records").size() + " record(s) of " + e.get("types"))
        .addDetail().setType("ledger-transaction")
        .setValue(new org.hl7.fhir.r4.model.StringType(e.get("tx").asText()));
    return a;
  }

  /** A grant as a FHIR Consent. */
  static Consent consent(JsonNode g, String patientId) {
    Consent c = new Consent();
    c.setId("grant-" + g.get("id").asText());
    boolean active = g.get("status").asText().equals(Consents.ACTIVE)
        && g.get("end").asLong() >= System.currentTimeMillis();
    c.setStatus(active ? Consent.ConsentState.ACTIVE : Consent.ConsentState.INACTIVE);
    c.setScope(new CodeableConcept(new Coding(
        "http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy", null)));
    c.addCategory(new CodeableConcept(new Coding("http://loinc.org", "59284-0",
        "Patient Consent")));
    c.setPatient(new Reference("Patient/" + patientId));
    c.setDateTime(new Date(g.get("time").asLong()));
    c.addPolicy().setUri("urn:careledger:consent:" + g.get("tx").asText());
    Consent.ProvisionComponent p = c.getProvision();
    p.setType(Consent.ConsentProvisionType.PERMIT);
    p.setPeriod(new Period().setStart(new Date(g.get("start").asLong()))
        .setEnd(new Date(g.get("end").asLong())));
    p.addActor().setRole(new CodeableConcept(new Coding(
        "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", null)))
        .setReference(new Reference().setIdentifier(new Identifier().setSystem(IDENTITY_SYSTEM)
            .setValue(g.get("grantee").asText())));
    g.get("purposes").forEach(x -> p.addPurpose(new Coding(ACT_REASON, x.asText(), null)));
    g.path("types").forEach(x -> p.addClass_(new Coding("http://hl7.org/fhir/resource-types",
        x.asText(), null)));
    if (g.has("exclude")) {
      Consent.ProvisionComponent deny = p.addProvision()
          .setType(Consent.ConsentProvisionType.DENY);
      g.get("exclude").forEach(x -> deny.addSecurityLabel(new Coding(null, x.asText(), null)));
    }
    return c;
  }
}
