package org.careledger.node.fhir;

import java.util.List;
import java.util.Map;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Provenance;
import org.hl7.fhir.r4.model.Reference;

/** Which patient a resource belongs to, for the patient compartment. */
final class Compartments {
  private Compartments() {}

  /** The element that points at the patient, per type. */
  private static final Map<String, String> PATIENT_ELEMENT = Map.ofEntries(
      Map.entry("Observation", "subject"), Map.entry("Condition", "subject"),
      Map.entry("Encounter", "subject"), Map.entry("Procedure", "subject"),
      Map.entry("MedicationRequest", "subject"), Map.entry("MedicationStatement", "subject"),
      Map.entry("DiagnosticReport", "subject"), Map.entry("DocumentReference", "subject"),
      Map.entry("CarePlan", "subject"), Map.entry("Goal", "subject"),
      Map.entry("ImagingStudy", "subject"), Map.entry("AllergyIntolerance", "patient"),
      Map.entry("Immunization", "patient"), Map.entry("Claim", "patient"),
      Map.entry("ExplanationOfBenefit", "patient"), Map.entry("ClaimResponse", "patient"),
      Map.entry("Consent", "patient"), Map.entry("MedicationAdministration", "subject"),
      Map.entry("CareTeam", "subject"), Map.entry("Device", "patient"),
      Map.entry("SupplyDelivery", "patient"));

  /** The id of the patient the resource belongs to, or null. */
  static String patientId(String type, String id, IBaseResource r) {
    if (type.equals("Patient")) {
      return id;
    }
    if (r instanceof Provenance p) {
      for (Reference t : p.getTarget()) {
        String pid = patientOf(t);
        if (pid != null) {
          return pid;
        }
      }
      return null;
    }
    String element = PATIENT_ELEMENT.get(type);
    if (element == null) {
      return null;
    }
    var child = org.careledger.node.fhir.FhirSetup.CONTEXT.getResourceDefinition(type)
        .getChildByName(element);
    if (child == null) {
      return null;
    }
    List<org.hl7.fhir.instance.model.api.IBase> values = child.getAccessor().getValues(r);
    for (var v : values) {
      if (v instanceof Reference ref) {
        String pid = patientOf(ref);
        if (pid != null) {
          return pid;
        }
      }
    }
    return null;
  }

  private static String patientOf(Reference ref) {
    String s = ref.getReference();
    if (s == null) {
      return null;
    }
    String[] parts = s.split("/");
    // "Patient/id", "Patient/id/_history/n", or an absolute URL ending so
    for (int i = parts.length - 2; i >= 0; i--) {
      if (parts[i].equals("Patient") && i + 1 < parts.length) {
        return parts[i + 1];
      }
    }
    return null;
  }
}
