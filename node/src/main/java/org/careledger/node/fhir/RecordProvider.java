package org.careledger.node.fhir;

import ca.uhn.fhir.rest.annotation.Create;
import ca.uhn.fhir.rest.annotation.Delete;
import ca.uhn.fhir.rest.annotation.History;
import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.Operation;
import ca.uhn.fhir.rest.annotation.OperationParam;
import ca.uhn.fhir.rest.annotation.OptionalParam;
import ca.uhn.fhir.rest.annotation.Read;
import ca.uhn.fhir.rest.annotation.ResourceParam;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.annotation.Update;
import ca.uhn.fhir.rest.annotation.Validate;
import ca.uhn.fhir.rest.api.MethodOutcome;
import ca.uhn.fhir.rest.api.server.IBundleProvider;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.param.DateRangeParam;
import ca.uhn.fhir.rest.param.ReferenceParam;
import ca.uhn.fhir.rest.server.IResourceProvider;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.careledger.core.crypto.Codec;
import org.careledger.node.access.Gatekeeper;
import org.careledger.node.auth.TokenService;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.IntegerType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.StringType;

/**
 * FHIR interactions for one resource type, backed by the vault and the ledger: read, vread,
 * create, update, delete, history, search (by patient, by {@code _lastUpdated}, paged with
 * {@code _count}), {@code $validate}, {@code $proof} and {@code $erase}.
 */
public class RecordProvider implements IResourceProvider {
  protected final Class<? extends IBaseResource> type;
  protected final String typeName;
  protected final RecordStore store;
  protected final AccessPolicy access;
  protected final FullValidator validator;

  public RecordProvider(String typeName, RecordStore store, AccessPolicy access,
      FullValidator validator) {
    this.typeName = typeName;
    this.type = FhirSetup.CONTEXT.getResourceDefinition(typeName).getImplementingClass();
    this.store = store;
    this.access = access;
    this.validator = validator;
  }

  @Override
  public Class<? extends IBaseResource> getResourceType() {
    return type;
  }

  @Read(version = true)
  public IBaseResource read(@IdParam IIdType id, RequestDetails request) {
    access.release(request, access.caller(request), id.hasVersionIdPart() ? "vread" : "read",
        store.target(typeName, id.getIdPart()));
    try {
      return StoredJsonReads.placeholder(store.readStored(typeName, id.getIdPart(),
          id.hasVersionIdPart() ? id.getVersionIdPartAsLong() : null));
    } catch (RecordStore.StoreException e) {
      throw Outcomes.map(e);
    } catch (NumberFormatException e) {
      throw new InvalidRequestException("version must be a number");
    }
  }

  /** Strict checks on a parsed body; throws 422 listing every problem. */
  protected void checkIngest(IBaseResource resource) {
    List<String> problems = FhirSetup.takeProblems();
    if (resource != null) {
      String actual = FhirSetup.CONTEXT.getResourceType(resource);
      if (!typeName.equals(actual)) {
        throw new InvalidRequestException("the body is a " + actual + ", not a " + typeName);
      }
      FhirSetup.Walk walk = FhirSetup.walk(resource);
      problems.addAll(walk.problems());
      problems.addAll(FhirSetup.referenceProblems(typeName, walk.references()));
    }
    if (!problems.isEmpty()) {
      throw Outcomes.invalid(problems);
    }
    validator.checkIfRequired(resource);
  }

  @Create
  public MethodOutcome create(@ResourceParam IBaseResource resource, RequestDetails request) {
    TokenService.Session s = access.require(request, AccessPolicy.Action.WRITE);
    checkIngest(resource);
    String id = RecordStore.newId();
    return written(write(s, id, resource, request), resource);
  }

  @Update
  public MethodOutcome update(@IdParam IIdType id, @ResourceParam IBaseResource resource,
      RequestDetails request) {
    TokenService.Session s = access.require(request, AccessPolicy.Action.WRITE);
    checkIngest(resource);
    if (resource.getIdElement().hasIdPart()
        && !resource.getIdElement().getIdPart().equals(id.getIdPart())) {
      throw new InvalidRequestException("the resource id in the body differs from the URL");
    }
    if (!id.getIdPart().matches("[A-Za-z0-9\\-.]{1,64}")) {
      throw new InvalidRequestException("a FHIR id has 1 to 64 of A-Z a-z 0-9 - .");
    }
    return written(write(s, id.getIdPart(), resource, request), resource);
  }

  private RecordStore.Written write(TokenService.Session s, String id, IBaseResource r,
      RequestDetails request) {
    // the sender's JSON is stored as sent (with the server's id and meta); XML is encoded
    com.fasterxml.jackson.databind.node.ObjectNode source = SourceJson.body(request);
    if (source != null && !typeName.equals(source.path("resourceType").asText())) {
      source = null;
    }
    try {
      return store.write(s.identity(), List.of(new RecordStore.WriteOp(typeName, id, r,
          source))).get(0);
    } catch (RecordStore.StoreException e) {
      throw Outcomes.map(e);
    }
  }

  private MethodOutcome written(RecordStore.Written w, IBaseResource r) {
    MethodOutcome mo = new MethodOutcome(
        new IdType(typeName, w.id(), Long.toString(w.version())), w.created());
    mo.setResource(r);
    return mo;
  }

  @Delete
  public MethodOutcome delete(@IdParam IIdType id, RequestDetails request) {
    TokenService.Session s = access.require(request, AccessPolicy.Action.WRITE);
    try {
      List<RecordStore.Written> w = store.write(s.identity(),
          List.of(new RecordStore.WriteOp(typeName, id.getIdPart(), null)));
      MethodOutcome mo = new MethodOutcome();
      if (!w.isEmpty()) {
        mo.setId(new IdType(typeName, id.getIdPart(), Long.toString(w.get(0).version())));
      }
      return mo;
    } catch (RecordStore.StoreException e) {
      throw Outcomes.map(e);
    }
  }

  @History
  public List<IBaseResource> history(@IdParam IIdType id, RequestDetails request) {
    access.release(request, access.caller(request), "history", store.target(typeName, id.getIdPart()));
    List<IBaseResource> out = new ArrayList<>();
    try {
      for (RecordStore.Version v : store.history(typeName, id.getIdPart())) {
        out.add(v.deleted() ? store.deletedMarker(typeName, id.getIdPart(), v)
            : store.read(typeName, id.getIdPart(), v.version()));
      }
    } catch (RecordStore.StoreException e) {
      throw Outcomes.map(e);
    }
    return out;
  }

  @Search
  public IBundleProvider search(
      @OptionalParam(name = "patient") ReferenceParam patient,
      @OptionalParam(name = "subject") ReferenceParam subject,
      @OptionalParam(name = "_lastUpdated") DateRangeParam lastUpdated,
      RequestDetails request) {
    Gatekeeper.Caller caller = access.caller(request);
    ReferenceParam who = patient != null ? patient : subject;
    List<RecordStore.Hit> hits;
    if (who != null) {
      String rt = who.getResourceType();
      if (rt != null && !rt.equals("Patient")) {
        throw new InvalidRequestException("patient and subject searches take Patient ids");
      }
      hits = store.byPatient(who.getIdPart(), typeName);
    } else {
      long from = lastUpdated == null || lastUpdated.getLowerBoundAsInstant() == null ? 0
          : lastUpdated.getLowerBoundAsInstant().getTime();
      long to = lastUpdated == null || lastUpdated.getUpperBoundAsInstant() == null
          ? Long.MAX_VALUE : lastUpdated.getUpperBoundAsInstant().getTime();
      hits = store.byType(typeName, from, to);
    }
    if (who != null && lastUpdated != null) {
      throw new InvalidRequestException("combine _lastUpdated with patient in two searches");
    }
    return new HitBundle(store, allowed(request, caller, "search", hits));
  }

  /** The hits the caller may see, after the decision about each is on the ledger. */
  protected List<RecordStore.Hit> allowed(RequestDetails request, Gatekeeper.Caller caller,
      String action, List<RecordStore.Hit> hits) {
    java.util.Set<String> ok = new java.util.HashSet<>();
    access.releaseAll(request, caller, action, store.targets(hits), false)
        .forEach(t -> ok.add(t.rec()));
    return hits.stream().filter(h -> ok.contains(h.rec())).toList();
  }

  @Validate
  public MethodOutcome validate(@ResourceParam IBaseResource resource, RequestDetails request) {
    access.require(request, AccessPolicy.Action.AUTHENTICATED);
    List<String> problems = FhirSetup.takeProblems();
    MethodOutcome mo = new MethodOutcome();
    mo.setOperationOutcome(validator.validate(resource, problems));
    return mo;
  }

  /** The commitment, the exact stored bytes with their salt, and the ledger inclusion proof. */
  @Operation(name = "$proof", idempotent = true)
  public Parameters proof(@IdParam IIdType id,
      @OperationParam(name = "version") IntegerType version, RequestDetails request) {
    access.release(request, access.caller(request), "proof", store.target(typeName, id.getIdPart()));
    long v = version != null ? version.getValue() : store.currentVersion(typeName, id.getIdPart());
    try {
      byte[] salted = store.saltedContent(typeName, id.getIdPart(), v);
      JsonNode anchor = store.anchor(typeName, id.getIdPart(), v);
      Parameters p = new Parameters();
      p.addParameter("version", new IntegerType((int) v));
      p.addParameter("record", store.recordPseudonym(typeName, id.getIdPart()));
      p.addParameter("commitment", anchor.get("commitment").asText());
      p.addParameter("salt", Base64.getEncoder().encodeToString(
          java.util.Arrays.copyOf(salted, 32)));
      p.addParameter("content", Base64.getEncoder().encodeToString(
          java.util.Arrays.copyOfRange(salted, 32, salted.length)));
      p.addParameter("txId", anchor.get("tx").asText());
      p.addParameter("receipt", new String(org.careledger.node.Receipts.latest(store.ledger(),
          Codec.unhex(anchor.get("tx").asText())), java.nio.charset.StandardCharsets.UTF_8));
      return p;
    } catch (RecordStore.StoreException e) {
      throw Outcomes.map(e);
    }
  }

  /** Erases this record (all versions): data keys and ciphertext destroyed, event anchored. */
  @Operation(name = "$erase")
  public Parameters erase(@IdParam IIdType id,
      @OperationParam(name = "legalBasis", min = 1) StringType legalBasis,
      RequestDetails request) {
    TokenService.Session s = access.require(request, AccessPolicy.Action.ERASE);
    RecordStore.Hit hit = store.hit(typeName, id.getIdPart());
    if (hit == null) {
      throw Outcomes.map(new RecordStore.StoreException(
          RecordStore.StoreException.Kind.NOT_FOUND, typeName + "/" + id.getIdPart()
              + " is not known"));
    }
    return erasure(s, legalBasis, List.of(hit));
  }

  protected Parameters erasure(TokenService.Session s, StringType legalBasis,
      List<RecordStore.Hit> hits) {
    if (legalBasis == null || legalBasis.isEmpty()
        || !legalBasis.getValue().matches("[\\x20-\\x7e]{1,200}")) {
      throw new InvalidRequestException("legalBasis is required: printable text, at most 200");
    }
    try {
      RecordStore.Erased e = store.erase(s.identity(), legalBasis.getValue(), hits);
      Parameters p = new Parameters();
      p.addParameter("erasedRecords", new IntegerType(e.records()));
      // more records than one ledger transaction names: every transaction, in order
      if (e.txIds().size() > 1) {
        e.txIds().forEach(t -> p.addParameter("erasureTxId", t));
      }
      p.addParameter("txId", e.txId());
      p.addParameter("leafIndex", new IntegerType((int) e.leafIndex()));
      p.addParameter("height", new IntegerType((int) e.height()));
      p.addParameter("requestedBy", s.identity());
      p.addParameter("legalBasis", legalBasis.getValue());
      p.addParameter("receipt", new String(org.careledger.node.Receipts.latest(store.ledger(),
          Codec.unhex(e.txId())), java.nio.charset.StandardCharsets.UTF_8));
      return p;
    } catch (RecordStore.StoreException ex) {
      throw Outcomes.map(ex);
    }
  }
}
