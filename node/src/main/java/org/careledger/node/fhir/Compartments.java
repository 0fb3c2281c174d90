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

  /**
   * The codes a consent exclusion can name: security labels, and the codes of the resource's
   * {@code category} and {@code code} elements (e.g. v3 ActCode PSY, or a SNOMED code).
   */
  static java.util.Set<String> codes(IBaseResource r) {
    java.util.Set<String> out = new java.util.TreeSet<>();
    if (!(r instanceof org.hl7.fhir.r4.model.Resource res)) {
      return out;
    }
    for (org.hl7.fhir.r4.model.Coding c : res.getMeta().getSecurity()) {
      if (c.hasCode()) {
        out.add(c.getCode());
      }
    }
    for (String element : new String[] {"category", "code"}) {
      org.hl7.fhir.r4.model.Property p = res.getNamedProperty(element);
      if (p == null) {
        continue;
      }
      for (org.hl7.fhir.r4.model.Base v : p.getValues()) {
        if (v instanceof org.hl7.fhir.r4.model.CodeableConcept cc) {
          for (org.hl7.fhir.r4.model.Coding c : cc.getCoding()) {
            if (c.hasCode()) {
              out.add(c.getCode());
            }
          }
        } else if (v instanceof org.hl7.fhir.r4.model.Coding c && c.hasCode()) {
          out.add(c.getCode());
        }
      }
    }
    return out;
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
