// FHIR R4 resources as a person reads them: a title, a date, a one-line summary and the
// details worth showing. No raw JSON.

function text(cc) {
  if (!cc) return "";
  if (Array.isArray(cc)) return cc.map(text).filter(Boolean).join(", ");
  if (cc.text) return cc.text;
  const c = (cc.coding || []).find((x) => x.display) || (cc.coding || [])[0];
  return c ? (c.display || c.code || "") : "";
}

function quantity(q) {
  if (!q || q.value === undefined) return "";
  return q.value + (q.unit ? " " + q.unit : q.code ? " " + q.code : "");
}

function value(r) {
  if (r.valueQuantity) return quantity(r.valueQuantity);
  if (r.valueCodeableConcept) return text(r.valueCodeableConcept);
  if (r.valueString !== undefined) return r.valueString;
  if (r.valueBoolean !== undefined) return r.valueBoolean ? "yes" : "no";
  if (r.valueInteger !== undefined) return String(r.valueInteger);
  if (r.component) {
    return r.component.map((c) => text(c.code) + " " + (quantity(c.valueQuantity)
      || text(c.valueCodeableConcept))).join("; ");
  }
  return "";
}

function name(p) {
  const n = (p.name || [])[0];
  if (!n) return "";
  return n.text || [...(n.given || []), n.family].filter(Boolean).join(" ");
}

const LABEL = {
  Patient: "Personal details", Encounter: "Visit", Observation: "Measurement or test",
  Condition: "Diagnosis", Procedure: "Procedure", MedicationRequest: "Prescription",
  MedicationStatement: "Medication", AllergyIntolerance: "Allergy", Immunization: "Vaccination",
  DiagnosticReport: "Report", DocumentReference: "Document", CarePlan: "Care plan",
  Goal: "Goal", ImagingStudy: "Imaging", Claim: "Claim", ExplanationOfBenefit: "Insurance",
  Provenance: "Provenance", CareTeam: "Care team", Device: "Device", Consent: "Consent form",
};

/** The date a resource is about (not when it was stored), as an ISO string or "". */
export function when(r) {
  return r.effectiveDateTime || (r.effectivePeriod && r.effectivePeriod.start)
    || r.onsetDateTime || r.recordedDate || r.performedDateTime
    || (r.performedPeriod && r.performedPeriod.start) || (r.period && r.period.start)
    || r.authoredOn || r.occurrenceDateTime || r.issued || r.date || r.created
    || (r.billablePeriod && r.billablePeriod.start) || r.birthDate
    || (r.meta && r.meta.lastUpdated) || "";
}

/** { kind, title, summary, details: [[label, value]] } for one resource. */
export function describe(r) {
  const kind = LABEL[r.resourceType] || r.resourceType;
  let title = "";
  let summary = "";
  const details = [];
  switch (r.resourceType) {
    case "Patient":
      title = name(r) || "Patient";
      summary = [r.gender, r.birthDate && "born " + r.birthDate].filter(Boolean).join(", ");
      break;
    case "Observation":
      title = text(r.code) || "Observation";
      summary = value(r);
      if (r.interpretation) details.push(["Interpretation", text(r.interpretation)]);
      break;
    case "Condition":
      title = text(r.code) || "Condition";
      summary = text(r.clinicalStatus);
      if (r.abatementDateTime) details.push(["Resolved", r.abatementDateTime.slice(0, 10)]);
      break;
    case "Encounter":
      title = text(r.type) || text(r.class && { coding: [r.class] }) || "Visit";
      summary = text(r.reasonCode) || r.status || "";
      break;
    case "MedicationRequest":
    case "MedicationStatement":
      title = text(r.medicationCodeableConcept) || "Medication";
      summary = ((r.dosageInstruction || r.dosage || [])[0] || {}).text || r.status || "";
      break;
    case "AllergyIntolerance":
      title = text(r.code) || "Allergy";
      summary = [r.criticality, text(r.clinicalStatus)].filter(Boolean).join(", ");
      break;
    case "Immunization":
      title = text(r.vaccineCode) || "Vaccination";
      summary = r.status || "";
      break;
    case "Procedure":
      title = text(r.code) || "Procedure";
      summary = r.status || "";
      break;
    case "DiagnosticReport":
      title = text(r.code) || "Report";
      summary = r.conclusion || r.status || "";
      break;
    case "Claim":
    case "ExplanationOfBenefit":
      title = kind;
      summary = r.total ? (Array.isArray(r.total) ? quantity(r.total[0].amount)
        : (r.total.value + " " + (r.total.currency || ""))) : r.status || "";
      break;
    default:
      title = text(r.code) || text(r.type) || kind;
      summary = r.status || "";
  }
  if (r.status && !summary.includes(r.status)) details.push(["Status", r.status]);
  const d = when(r);
  if (d) details.push(["Date", d.slice(0, 10)]);
  return { kind, title, summary, details };
}
