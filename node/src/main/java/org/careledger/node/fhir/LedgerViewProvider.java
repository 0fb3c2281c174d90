package org.careledger.node.fhir;

import ca.uhn.fhir.rest.annotation.Create;
import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.OptionalParam;
import ca.uhn.fhir.rest.annotation.Read;
import ca.uhn.fhir.rest.annotation.ResourceParam;
import ca.uhn.fhir.rest.annotation.Update;
import ca.uhn.fhir.rest.api.MethodOutcome;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.api.server.IBundleProvider;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.param.DateRangeParam;
import ca.uhn.fhir.rest.param.ReferenceParam;
import ca.uhn.fhir.rest.server.SimpleBundleProvider;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import ca.uhn.fhir.rest.server.exceptions.ResourceVersionConflictException;
import ca.uhn.fhir.rest.server.exceptions.UnprocessableEntityException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.contract.Role;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.ledger.AccessLog;
import org.careledger.core.ledger.Consents;
import org.careledger.core.ledger.Membership;
import org.careledger.core.ledger.Patients;
import org.careledger.core.ledger.StateView;
import org.careledger.core.ledger.TxResult;
import org.careledger.core.tx.Refusal;
import org.careledger.core.tx.Transaction;
import org.careledger.core.tx.TxCodec;
import org.careledger.node.LedgerService;
import org.careledger.node.auth.TokenService;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.IdType;
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
  static final String IDENTITY_SYSTEM = ConsentMapping.IDENTITY_SYSTEM;
  static final String ACT_REASON = ConsentMapping.ACT_REASON;

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
        out.add(ConsentMapping.toFhir(g, patient.getIdPart()));
      }
    }
    return new SimpleBundleProvider(out);
  }

  private static JsonNode json(byte[] v) {
    if (v == null) {
      return null;
    }
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

  // ----------------------------------------------------------- grants through FHIR

  /**
   * A Consent that carries the patient's signed {@code consent.grant} transaction creates that
   * grant: the node checks that the resource says what the signed command says and that the
   * signer is the patient the Consent names, submits the transaction and answers once it is
   * committed. Any other Consent is filed as a plain record (a hospital's consent document, which
   * grants nothing), unless it looks like a grant, which is refused.
   */
  @Override
  @Create
  public MethodOutcome create(@ResourceParam IBaseResource resource, RequestDetails request) {
    if (!typeName.equals("Consent") || !ConsentMapping.claimsGrant(resource)) {
      return super.create(resource, request);
    }
    access.require(request, AccessPolicy.Action.AUTHENTICATED);
    checkIngest(resource);
    Consent c = (Consent) resource;
    Transaction tx = signedTransaction(c);
    if (!(command(tx) instanceof Command.Grant g)) {
      throw new UnprocessableEntityException("a new grant's Consent carries a signed"
          + " consent.grant transaction");
    }
    String patientId = patientId(c);
    String owner = checkSigner(tx, patientId);
    List<String> diff = ConsentMapping.differences(c, g, patientId);
    if (!diff.isEmpty()) {
      throw Outcomes.invalid(diff.stream().map(d -> "the Consent and the signed grant differ: "
          + d).toList());
    }
    submit(tx);
    JsonNode state = grant(owner, g.id());
    MethodOutcome mo = new MethodOutcome(new IdType("Consent",
        ConsentMapping.GRANT_ID_PREFIX + g.id(), "1"), true);
    mo.setResource(ConsentMapping.toFhir(state, patientId));
    return mo;
  }

  /**
   * {@code PUT Consent/grant-<id>} with status {@code inactive} and the patient's signed
   * {@code consent.revoke} transaction revokes the grant; other updates of a grant are refused
   * (a grant never changes; revoke it and grant anew).
   */
  @Override
  @Update
  public MethodOutcome update(@IdParam IIdType id, @ResourceParam IBaseResource resource,
      RequestDetails request) {
    String grantId = ConsentMapping.grantId(id.getIdPart());
    if (!typeName.equals("Consent")
        || (grantId == null && !ConsentMapping.claimsGrant(resource))) {
      return super.update(id, resource, request);
    }
    access.require(request, AccessPolicy.Action.AUTHENTICATED);
    checkIngest(resource);
    if (grantId == null) {
      throw new UnprocessableEntityException("a grant's Consent has the id grant-<grant id>;"
          + " create grants with POST /fhir/Consent");
    }
    Consent c = (Consent) resource;
    Transaction tx = signedTransaction(c);
    if (!(command(tx) instanceof Command.RevokeGrant r) || !r.id().equals(grantId)) {
      throw new UnprocessableEntityException("updating Consent/" + id.getIdPart()
          + " revokes it: carry the patient's signed consent.revoke of grant " + grantId
          + "; a grant's terms never change");
    }
    if (c.getStatus() != Consent.ConsentState.INACTIVE) {
      throw new UnprocessableEntityException("a revoked grant's Consent has status inactive");
    }
    String patientId = patientId(c);
    String owner = checkSigner(tx, patientId);
    submit(tx);
    MethodOutcome mo = new MethodOutcome(new IdType("Consent", id.getIdPart(), "2"), false);
    mo.setResource(ConsentMapping.toFhir(grant(owner, grantId), patientId));
    return mo;
  }

  /** {@code Consent/grant-<id>}: the grant, for its patient and for auditors. */
  @Override
  @Read(version = true)
  public IBaseResource read(@IdParam IIdType id, RequestDetails request) {
    String grantId = ConsentMapping.grantId(id.getIdPart());
    if (!typeName.equals("Consent") || grantId == null) {
      return super.read(id, request);
    }
    TokenService.Session s = access.require(request, AccessPolicy.Action.AUTHENTICATED);
    JsonNode g = null;
    if (s.role() == Role.PATIENT) {
      g = grant(s.identity(), grantId);
    } else if (s.role() == Role.AUDITOR) {
      JsonNode[] found = new JsonNode[1];
      store.ledger().store().scanState("consent/", (k, v) -> {
        if (k.endsWith("/" + grantId)) {
          found[0] = json(v);
          return false;
        }
        return true;
      });
      g = found[0];
    } else {
      throw new ForbiddenOperationException("a grant is shown to its patient and to auditors");
    }
    if (g == null) {
      throw new ResourceNotFoundException("Consent/" + id.getIdPart() + " is not known");
    }
    Consent c = ConsentMapping.toFhir(g, "");
    c.setPatient(new Reference().setIdentifier(new Identifier().setSystem(IDENTITY_SYSTEM)
        .setValue(g.get("patient").asText())));
    return c;
  }

  private static Transaction signedTransaction(Consent c) {
    byte[] bytes;
    try {
      bytes = ConsentMapping.signedTx(c);
    } catch (IllegalArgumentException e) {
      throw new UnprocessableEntityException(e.getMessage());
    }
    if (bytes == null) {
      throw new UnprocessableEntityException("creating or revoking a grant through FHIR"
          + " requires the patient's signature: carry the signed consent transaction in the"
          + " extension " + ConsentMapping.SIGNED_TX);
    }
    return switch (TxCodec.decode(bytes)) {
      case TxCodec.Decoded.Ok ok -> ok.tx();
      case TxCodec.Decoded.Refused r -> throw refused(r.refusal());
    };
  }

  private static Command command(Transaction tx) {
    if (!CommandCodec.CONSENT.equals(tx.contract())) {
      throw new UnprocessableEntityException("the signed transaction is for contract '"
          + tx.contract() + "', not consent");
    }
    try {
      return CommandCodec.decode(tx.contract(), tx.command());
    } catch (CommandCodec.CommandException e) {
      throw new UnprocessableEntityException("the signed command is invalid: "
          + e.getMessage());
    }
  }

  private static String patientId(Consent c) {
    IIdType ref = c.getPatient().getReferenceElement();
    if (!"Patient".equals(ref.getResourceType()) || !ref.hasIdPart()) {
      throw new UnprocessableEntityException("a grant's Consent names its patient as"
          + " patient.reference Patient/<id>");
    }
    return ref.getIdPart();
  }

  /** The transaction must be signed by the identity enrolled here for the named patient. */
  private String checkSigner(Transaction tx, String patientId) {
    StateView state = store.ledger().store().state();
    String owner = Patients.owner(state, access.gate().org(),
        store.patientPseudonym(patientId));
    if (owner == null) {
      throw new UnprocessableEntityException("Patient/" + patientId + " has no enrolled"
          + " patient identity at this organization");
    }
    Membership.KeyRecord key = Membership.key(state, tx.signer());
    if (key == null || !owner.equals(key.identity())) {
      throw new ForbiddenOperationException("the consent transaction is signed by "
          + (key == null ? "an unknown key" : key.identity())
          + ", not by the patient's own identity");
    }
    return owner;
  }

  private void submit(Transaction tx) {
    LedgerService.Outcome o;
    try {
      o = store.submitAndWait(tx, List.of());
    } catch (RecordStore.StoreException e) {
      throw Outcomes.map(e);
    }
    if (o.result() instanceof TxResult.Refused r) {
      throw refused(r.refusal());
    }
  }

  private static BaseServerResponseException refused(Refusal r) {
    String msg = "the ledger refused the consent transaction: " + r.reason().code() + ": "
        + r.detail();
    return switch (r.reason().httpStatus()) {
      case 403 -> new ForbiddenOperationException(msg);
      case 409 -> new ResourceVersionConflictException(msg);
      default -> new UnprocessableEntityException(msg);
    };
  }

  private JsonNode grant(String patient, String grantId) {
    return json(store.ledger().store().state().getOrNull(Consents.grantKey(patient, grantId)));
  }
}
