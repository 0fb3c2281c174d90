package org.careledger.node.fhir;

import ca.uhn.fhir.rest.annotation.Transaction;
import ca.uhn.fhir.rest.annotation.TransactionParam;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.careledger.node.auth.TokenService;
import org.hl7.fhir.instance.model.api.IBaseResource;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;

/**
 * Transaction and batch Bundles. A transaction is all or nothing: every entry is checked first,
 * {@code urn:uuid} references are resolved to the ids the server assigns, conditional
 * references by identifier to the bundle's entries (or kept as logical references), and all
 * entries are stored and anchored in one ledger transaction. A batch runs each entry on its own.
 */
public final class SystemProvider {
  private final RecordStore store;
  private final AccessPolicy access;
  private final FullValidator validator;

  public SystemProvider(RecordStore store, AccessPolicy access, FullValidator validator) {
    this.store = store;
    this.access = access;
    this.validator = validator;
  }

  private record Planned(int index, String type, String id, IBaseResource resource) {}

  @Transaction
  public Bundle transaction(@TransactionParam Bundle bundle, RequestDetails request) {
    TokenService.Session s = access.require(request, AccessPolicy.Action.WRITE);
    List<String> problems = FhirSetup.takeProblems();
    if (!problems.isEmpty()) {
      throw Outcomes.invalid(problems);
    }
    boolean batch = bundle.getType() == Bundle.BundleType.BATCH;
    if (!batch && bundle.getType() != Bundle.BundleType.TRANSACTION) {
      throw new InvalidRequestException("Bundle.type must be transaction or batch");
    }
    Map<String, String> assigned = new HashMap<>();
    List<Planned> plan = new ArrayList<>();
    List<List<String>> entryProblems = new ArrayList<>();
    for (int i = 0; i < bundle.getEntry().size(); i++) {
      Bundle.BundleEntryComponent e = bundle.getEntry().get(i);
      List<String> mine = new ArrayList<>();
      entryProblems.add(mine);
      plan.add(plan(i, e, assigned, mine));
    }
    Map<String, String> byIdentifier = identifiers(plan);
    com.fasterxml.jackson.databind.node.ObjectNode body = SourceJson.body(request);
    Map<Planned, com.fasterxml.jackson.databind.node.ObjectNode> sources =
        new java.util.IdentityHashMap<>();
    for (Planned p : plan) {
      if (p == null || p.resource() == null) {
        continue;
      }
      FhirSetup.Walk walk = FhirSetup.walk(p.resource());
      Map<String, SourceJson.Resolved> resolved = new HashMap<>();
      int rewritten = 0;
      for (Reference ref : walk.references()) {
        String target = ref.getReference();
        if (target == null) {
          continue;
        }
        Matcher conditional = CONDITIONAL.matcher(target);
        if (assigned.containsKey(target)) {
          ref.setReference(assigned.get(target));
          resolved.put(target, new SourceJson.Resolved.To(assigned.get(target)));
          rewritten++;
        } else if (conditional.matches()) {
          resolved.put(target, resolveConditional(ref, conditional, byIdentifier));
          rewritten++;
        } else if (target.contains("?")) {
          entryProblems.get(p.index()).add("conditional references may only use identifier");
        } else if (target.startsWith("urn:uuid:")) {
          entryProblems.get(p.index()).add("a reference points to a urn:uuid that is not in"
              + " the bundle");
        }
      }
      // the sender's JSON is stored if its references resolve exactly as the model's did
      com.fasterxml.jackson.databind.node.ObjectNode source =
          SourceJson.entryResource(body, p.index());
      if (source != null && p.type().equals(source.path("resourceType").asText())
          && SourceJson.resolve(source, resolved) == rewritten) {
        sources.put(p, source);
      }
      entryProblems.get(p.index()).addAll(walk.problems());
      entryProblems.get(p.index()).addAll(FhirSetup.referenceProblems(p.type(),
          walk.references()));
    }
    Bundle response = new Bundle();
    response.setType(batch ? Bundle.BundleType.BATCHRESPONSE
        : Bundle.BundleType.TRANSACTIONRESPONSE);
    if (!batch) {
      List<String> all = new ArrayList<>();
      for (int i = 0; i < entryProblems.size(); i++) {
        for (String p : entryProblems.get(i)) {
          all.add("Bundle.entry[" + i + "]: " + p);
        }
      }
      if (!all.isEmpty()) {
        throw Outcomes.invalid(all);
      }
      List<RecordStore.WriteOp> ops = new ArrayList<>();
      for (Planned p : plan) {
        validator.checkIfRequired(p.resource());
        ops.add(new RecordStore.WriteOp(p.type(), p.id(), p.resource(), sources.get(p)));
      }
      try {
        List<RecordStore.Written> written = store.write(s.identity(), ops);
        Map<String, RecordStore.Written> byId = new HashMap<>();
        written.forEach(w -> byId.put(w.type() + "/" + w.id(), w));
        for (Planned p : plan) {
          addResponse(response, p, byId.get(p.type() + "/" + p.id()));
        }
      } catch (RecordStore.StoreException e) {
        throw Outcomes.map(e);
      }
      return response;
    }
    for (Planned p : plan) {
      Bundle.BundleEntryComponent out = response.addEntry();
      List<String> mine = entryProblems.get(plan.indexOf(p));
      if (p == null || !mine.isEmpty()) {
        out.getResponse().setStatus("422 Unprocessable Entity")
            .setOutcome(Outcomes.outcome(org.hl7.fhir.r4.model.OperationOutcome.IssueType.INVALID,
                mine));
        continue;
      }
      try {
        validator.checkIfRequired(p.resource());
        List<RecordStore.Written> w = store.write(s.identity(),
            List.of(new RecordStore.WriteOp(p.type(), p.id(), p.resource(), sources.get(p))));
        fill(out, p, w.isEmpty() ? null : w.get(0));
      } catch (RecordStore.StoreException ex) {
        BaseServerResponseException m = Outcomes.map(ex);
        out.getResponse().setStatus(m.getStatusCode() + " " + m.getMessage())
            .setOutcome((Resource) m.getOperationOutcome());
      } catch (BaseServerResponseException ex) {
        out.getResponse().setStatus(ex.getStatusCode() + " Unprocessable Entity")
            .setOutcome((Resource) ex.getOperationOutcome());
      }
    }
    return response;
  }

  private static final Pattern CONDITIONAL =
      Pattern.compile("([A-Z][A-Za-z]+)\\?identifier=([^&]+)");

  /** "Type|system|value" of every identifier of the bundle's resources, to their new ids. */
  private static Map<String, String> identifiers(List<Planned> plan) {
    Map<String, String> out = new HashMap<>();
    for (Planned p : plan) {
      if (p == null || p.resource() == null || FhirSetup.CONTEXT.getResourceDefinition(p.type())
          .getChildByName("identifier") == null) {
        continue;
      }
      for (Identifier id : FhirSetup.CONTEXT.newTerser().getValues(p.resource(),
          p.type() + ".identifier", Identifier.class)) {
        out.put(p.type() + "|" + nz(id.getSystem()) + "|" + nz(id.getValue()),
            p.type() + "/" + p.id());
      }
    }
    return out;
  }

  /**
   * A conditional reference {@code Type?identifier=[system|]value}: to the bundle's resource
   * with that identifier if there is one, otherwise a logical reference (type and identifier),
   * which keeps what the sender knew without pointing at a resource this server lacks.
   */
  private static SourceJson.Resolved resolveConditional(Reference ref, Matcher m,
      Map<String, String> known) {
    String type = m.group(1);
    String token = URLDecoder.decode(m.group(2), StandardCharsets.UTF_8);
    int bar = token.indexOf('|');
    String system = bar < 0 ? null : token.substring(0, bar);
    String value = bar < 0 ? token : token.substring(bar + 1);
    String hit = known.get(type + "|" + nz(system) + "|" + value);
    if (hit != null) {
      ref.setReference(hit);
      return new SourceJson.Resolved.To(hit);
    }
    ref.setReference(null);
    ref.setType(type);
    ref.setIdentifier(new Identifier().setSystem(system == null || system.isEmpty() ? null
        : system).setValue(value));
    return new SourceJson.Resolved.Logical(type, system, value);
  }

  private static String nz(String s) {
    return s == null ? "" : s;
  }

  private Planned plan(int i, Bundle.BundleEntryComponent e, Map<String, String> assigned,
      List<String> problems) {
    Bundle.HTTPVerb method = e.getRequest().getMethod();
    if (method == null) {
      problems.add("request.method is required");
      return null;
    }
    Resource r = e.getResource();
    if (ConsentMapping.claimsGrant(r) || (r instanceof org.hl7.fhir.r4.model.Consent
        && e.getRequest().hasUrl() && e.getRequest().getUrl().startsWith("Consent/grant-"))) {
      problems.add("a patient's grant is created or revoked on its own, with POST or PUT"
          + " /fhir/Consent, not inside a Bundle");
      return null;
    }
    switch (method) {
      case POST -> {
        if (r == null) {
          problems.add("POST needs a resource");
          return null;
        }
        if (e.getRequest().hasIfNoneExist()) {
          problems.add("conditional create (ifNoneExist) is not supported");
          return null;
        }
        String type = r.fhirType();
        if (!FhirSetup.TYPES.contains(type)) {
          problems.add(type + " is not stored by this server");
          return null;
        }
        String id = RecordStore.newId();
        if (e.hasFullUrl()) {
          assigned.put(e.getFullUrl(), type + "/" + id);
        }
        return new Planned(i, type, id, r);
      }
      case PUT, DELETE -> {
        String[] url = e.getRequest().getUrl() == null ? new String[0]
            : e.getRequest().getUrl().split("\\?")[0].split("/");
        if (url.length != 2 || !FhirSetup.TYPES.contains(url[0])
            || !url[1].matches("[A-Za-z0-9\\-.]{1,64}")) {
          problems.add("request.url must be Type/id for one of the stored types");
          return null;
        }
        if (method == Bundle.HTTPVerb.PUT && (r == null || !r.fhirType().equals(url[0]))) {
          problems.add("PUT needs a " + url[0] + " resource");
          return null;
        }
        if (e.hasFullUrl()) {
          assigned.put(e.getFullUrl(), url[0] + "/" + url[1]);
        }
        return new Planned(i, url[0], url[1], method == Bundle.HTTPVerb.PUT ? r : null);
      }
      default -> {
        problems.add("only POST, PUT and DELETE entries are supported");
        return null;
      }
    }
  }

  private static void addResponse(Bundle response, Planned p, RecordStore.Written w) {
    fill(response.addEntry(), p, w);
  }

  private static void fill(Bundle.BundleEntryComponent out, Planned p, RecordStore.Written w) {
    if (w == null) {
      out.getResponse().setStatus("204 No Content");
      return;
    }
    out.getResponse()
        .setStatus(w.deleted() ? "204 No Content" : w.created() ? "201 Created" : "200 OK")
        .setLocation(p.type() + "/" + p.id() + "/_history/" + w.version())
        .setEtag("W/\"" + w.version() + "\"")
        .setLastModifiedElement(new InstantType(new java.util.Date(w.lastUpdated())));
  }
}
