package org.careledger.node.fhir;

import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.Operation;
import ca.uhn.fhir.rest.annotation.OperationParam;
import ca.uhn.fhir.rest.api.server.IBundleProvider;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import java.util.ArrayList;
import java.util.List;
import org.careledger.node.auth.TokenService;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.StringType;

/** Patient, with {@code $everything} and {@code $erase-patient}. */
public final class PatientProvider extends RecordProvider {
  public PatientProvider(RecordStore store, AccessPolicy access, FullValidator validator) {
    super("Patient", store, access, validator);
  }

  /** The patient and every record in their compartment. */
  @Operation(name = "$everything", idempotent = true,
      bundleType = ca.uhn.fhir.model.valueset.BundleTypeEnum.SEARCHSET)
  public IBundleProvider everything(@IdParam IIdType id, RequestDetails request) {
    org.careledger.node.access.Gatekeeper.Caller caller = access.caller(request);
    RecordStore.Hit self = store.hit("Patient", id.getIdPart());
    if (self == null) {
      access.release(request, caller, "everything", null);
      throw Outcomes.map(new RecordStore.StoreException(
          RecordStore.StoreException.Kind.NOT_FOUND, "Patient/" + id.getIdPart()
              + " is not known"));
    }
    List<RecordStore.Hit> hits = new ArrayList<>();
    hits.add(self);
    for (RecordStore.Hit h : store.byPatient(id.getIdPart(), null)) {
      if (!h.rec().equals(self.rec())) {
        hits.add(h);
      }
    }
    return new HitBundle(store, allowed(request, caller, "everything", hits));
  }

  /** Erases the patient and every record in their compartment. */
  @Operation(name = "$erase-patient")
  public Parameters erasePatient(@IdParam IIdType id,
      @OperationParam(name = "legalBasis", min = 1) StringType legalBasis,
      RequestDetails request) {
    TokenService.Session s = access.require(request, AccessPolicy.Action.ERASE);
    RecordStore.Hit self = store.hit("Patient", id.getIdPart());
    if (self == null) {
      throw Outcomes.map(new RecordStore.StoreException(
          RecordStore.StoreException.Kind.NOT_FOUND, "Patient/" + id.getIdPart()
              + " is not known"));
    }
    List<RecordStore.Hit> hits = new ArrayList<>(store.compartment(id.getIdPart(), null, true));
    if (hits.stream().noneMatch(h -> h.rec().equals(self.rec()))) {
      hits.add(self);
    }
    return erasure(s, legalBasis, hits);
  }
}
