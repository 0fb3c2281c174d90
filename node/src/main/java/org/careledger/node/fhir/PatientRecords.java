package org.careledger.node.fhir;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Reference;

/**
 * Checks a record a patient wrote and signed in their browser (a measurement from their
 * phone). The patient commits to the exact bytes, so the node stores them as they are and may
 * not re-encode them; what it checks is that they are a strictly valid Observation about this
 * patient, performed by the patient, version 1.
 */
public final class PatientRecords {
  /** How far the browser's {@code meta.lastUpdated} may be from the node's clock. */
  static final long CLOCK_SKEW_MS = 10 * 60 * 1000;

  private PatientRecords() {}

  /**
   * The checked record: its FHIR id, its {@code meta.lastUpdated} (ms) and the codes a consent
   * exclusion can name.
   */
  public record Checked(String type, String id, long lastUpdated, Set<String> codes) {}

  /** The record is not acceptable; {@code problems} name every reason (never a value). */
  public static final class Invalid extends Exception {
    private static final long serialVersionUID = 1L;
    private final List<String> problems;

    Invalid(List<String> problems) {
      super(String.join("; ", problems), null, false, false);
      this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
      return problems;
    }
  }

  /**
   * Checks {@code salted} (32 salt bytes, then the resource's UTF-8 JSON) as version 1 of an
   * Observation for the patient whose FHIR id is {@code patientId}. The caller checks that its
   * id is the one whose record pseudonym the patient signed.
   */
  public static Checked check(byte[] salted, String patientId, long now) throws Invalid {
    if (salted.length <= 32) {
      throw new Invalid(List.of("the record holds no resource after its 32-byte salt"));
    }
    String json;
    try {
      json = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(salted, 32, salted.length - 32)).toString();
    } catch (CharacterCodingException e) {
      throw new Invalid(List.of("the resource is not UTF-8"));
    }
    FhirSetup.resetProblems();
    IBaseResource parsed;
    try {
      parsed = FhirSetup.CONTEXT.newJsonParser().parseResource(json);
    } catch (RuntimeException e) {
      FhirSetup.resetProblems();
      throw new Invalid(List.of("the resource is not valid FHIR JSON"));
    }
    List<String> problems = new ArrayList<>(FhirSetup.takeProblems());
    if (!(parsed instanceof Observation o)) {
      throw new Invalid(List.of("a patient may record Observations only, not a "
          + FhirSetup.CONTEXT.getResourceType(parsed)));
    }
    FhirSetup.Walk walk = FhirSetup.walk(o);
    problems.addAll(walk.problems());
    problems.addAll(FhirSetup.referenceProblems("Observation", walk.references()));
    String id = o.getIdElement().getIdPart();
    if (id == null || id.isEmpty()) {
      problems.add("Observation.id is required (the id this node assigned)");
    }
    if (!"1".equals(o.getMeta().getVersionId())) {
      problems.add("Observation.meta.versionId must be 1");
    }
    if (o.getMeta().getLastUpdated() == null
        || Math.abs(o.getMeta().getLastUpdated().getTime() - now) > CLOCK_SKEW_MS) {
      problems.add("Observation.meta.lastUpdated must be the time of writing");
    }
    String me = "Patient/" + patientId;
    if (!me.equals(o.getSubject().getReference())) {
      problems.add("Observation.subject must be the signed-in patient");
    }
    boolean byPatient = false;
    for (Reference r : o.getPerformer()) {
      byPatient |= me.equals(r.getReference());
    }
    if (!byPatient) {
      problems.add("Observation.performer must name the signed-in patient");
    }
    if (!o.hasEffective()) {
      problems.add("Observation.effective[x] is required");
    }
    if (!o.hasValue() && !o.hasComponent()) {
      problems.add("Observation needs a value or components");
    }
    if (!problems.isEmpty()) {
      throw new Invalid(problems);
    }
    return new Checked("Observation", id, o.getMeta().getLastUpdated().getTime(),
        Compartments.codes(o));
  }
}
