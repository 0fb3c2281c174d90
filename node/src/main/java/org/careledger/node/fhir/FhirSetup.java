package org.careledger.node.fhir;

import ca.uhn.fhir.context.BaseRuntimeChildDefinition;
import ca.uhn.fhir.context.BaseRuntimeElementCompositeDefinition;
import ca.uhn.fhir.context.BaseRuntimeElementDefinition;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParserErrorHandler;
import ca.uhn.fhir.parser.json.BaseJsonLikeValue;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.hl7.fhir.instance.model.api.IBase;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Reference;

/**
 * The shared FHIR R4 context and the checks every write passes at ingest speed: strict parsing
 * (every problem the parser meets is collected, not just the first), required elements of the
 * base specification, and well-formed references.
 */
public final class FhirSetup {
  /** The clinical types this node stores. */
  public static final List<String> TYPES = List.of("Patient", "Practitioner", "Organization",
      "Encounter", "Observation", "Condition", "Procedure", "MedicationRequest",
      "MedicationStatement", "AllergyIntolerance", "Immunization", "DiagnosticReport",
      "DocumentReference", "CarePlan", "Goal", "ImagingStudy", "Claim", "ExplanationOfBenefit",
      "Provenance", "ClaimResponse", "Consent", "AuditEvent", "Bundle",
      // the rest of what Synthea 3.3 writes
      "Medication", "MedicationAdministration", "SupplyDelivery", "Device", "CareTeam",
      "Location", "PractitionerRole");

  /** One context for the node; HAPI contexts are expensive and thread-safe. */
  public static final FhirContext CONTEXT = FhirContext.forR4Cached();

  private static final ThreadLocal<List<String>> PROBLEMS = ThreadLocal.withInitial(ArrayList::new);
  private static final Pattern REFERENCE = Pattern.compile(
      "([A-Z][A-Za-z]+/[A-Za-z0-9\\-.]{1,64}(/_history/[A-Za-z0-9\\-.]{1,64})?)"
          + "|(https?://\\S+)|(urn:uuid:[0-9a-fA-F-]{36})|(urn:oid:[0-2](\\.[1-9]\\d*)+)|(#\\S*)");

  static {
    CONTEXT.setParserErrorHandler(new Collector());
    // resources here never hold references to id-less resource objects: skip that scan
    CONTEXT.getParserOptions().setAutoContainReferenceTargetsWithNoId(false);
    // keep "Patient/x/_history/1" as written: a versioned reference means that version
    CONTEXT.getParserOptions().setStripVersionsFromReferences(false);
  }

  private FhirSetup() {}

  /** Collects parser problems for the current request thread instead of throwing on the first. */
  private static final class Collector implements IParserErrorHandler {
    private static void add(IParseLocation loc, String msg) {
      PROBLEMS.get().add((loc != null && loc.toString() != null && !loc.toString().isBlank()
          ? loc + ": " : "") + msg);
    }

    @Override
    public void containedResourceWithNoId(IParseLocation loc) {
      add(loc, "contained resource has no id");
    }

    @Override
    public void incorrectJsonType(IParseLocation loc, String name,
        BaseJsonLikeValue.ValueType expected, BaseJsonLikeValue.ScalarType expectedScalar,
        BaseJsonLikeValue.ValueType found, BaseJsonLikeValue.ScalarType foundScalar) {
      add(loc, "element '" + name + "' has the wrong JSON type: expected " + expected
          + (expectedScalar != null ? " " + expectedScalar : "") + ", found " + found
          + (foundScalar != null ? " " + foundScalar : ""));
    }

    @Override
    public void invalidValue(IParseLocation loc, String value, String error) {
      // the value itself may be PHI: report the rule, never the value
      add(loc, "invalid value: " + (error == null ? "" : error.replaceAll("\"[^\"]*\"", "\"…\"")
          .replace(value == null || value.isEmpty() ? "\u0000" : value, "…")));
    }

    @Override
    public void missingRequiredElement(IParseLocation loc, String name) {
      add(loc, "required element '" + name + "' is missing");
    }

    @Override
    public void unexpectedRepeatingElement(IParseLocation loc, String name) {
      add(loc, "element '" + name + "' may not repeat");
    }

    @Override
    public void unknownAttribute(IParseLocation loc, String name) {
      add(loc, "unknown attribute '" + name + "'");
    }

    @Override
    public void unknownElement(IParseLocation loc, String name) {
      add(loc, "unknown element '" + name + "'");
    }

    @Override
    public void unknownReference(IParseLocation loc, String reference) {
      add(loc, "reference cannot be resolved");
    }

    @Override
    public void invalidInternalReference(IParseLocation loc, String reference) {
      add(loc, "internal reference does not resolve to a contained resource");
    }

    @Override
    public void extensionContainsValueAndNestedExtensions(IParseLocation loc) {
      add(loc, "extension has both a value and nested extensions");
    }
  }

  /** Clears the problems collected on this thread (call before parsing a request body). */
  public static void resetProblems() {
    PROBLEMS.get().clear();
  }

  /** Takes the problems collected on this thread since the last reset. */
  public static List<String> takeProblems() {
    List<String> out = new ArrayList<>(PROBLEMS.get());
    PROBLEMS.get().clear();
    return out;
  }

  /** What one walk over a resource found: problems and every Reference element. */
  public record Walk(List<String> problems, List<Reference> references) {}

  /**
   * One pass over a resource, contained resources and extensions included: required
   * elements, and the references (collected for bundle resolution, then checked).
   */
  public static Walk walk(IBaseResource r) {
    List<String> problems = new ArrayList<>();
    List<Reference> refs = new ArrayList<>();
    String type = CONTEXT.getResourceType(r);
    visit(CONTEXT.getResourceDefinition(type), r, type, problems, refs, 0);
    return new Walk(problems, refs);
  }

  /** Checks the syntax of the references a walk found (after any rewriting). */
  public static List<String> referenceProblems(String type, List<Reference> references) {
    List<String> problems = new ArrayList<>();
    for (Reference ref : references) {
      String s = ref.getReference();
      if (s != null && !REFERENCE.matcher(s).matches()) {
        problems.add(type + ": reference '" + abbreviate(s) + "' is not a valid reference");
      }
    }
    return problems;
  }

  /** A child of a composite type, with what the walk needs precomputed. */
  private record Child(BaseRuntimeChildDefinition def, String name, int hash, boolean required,
      boolean direct) {}

  private static final java.util.concurrent.ConcurrentHashMap<BaseRuntimeElementDefinition<?>,
      Child[]> CHILDREN = new java.util.concurrent.ConcurrentHashMap<>();

  private static Child[] children(BaseRuntimeElementCompositeDefinition<?> comp) {
    return CHILDREN.computeIfAbsent(comp, c -> comp.getChildren().stream().map(ch -> {
      String name = ch.getElementName().replace("[x]", "");
      // the model's getProperty turns a narrative's XHTML into a string: not for that one
      BaseRuntimeElementDefinition<?> ed = ch.getChildByName(ch.getElementName());
      boolean xhtml = ed != null && (ed.getChildType()
          == BaseRuntimeElementDefinition.ChildTypeEnum.PRIMITIVE_XHTML_HL7ORG
          || ed.getChildType() == BaseRuntimeElementDefinition.ChildTypeEnum.PRIMITIVE_XHTML);
      return new Child(ch, name, name.hashCode(), ch.getMin() > 0,
          !xhtml && !name.equals("div"));
    }).toArray(Child[]::new));
  }

  /**
   * The values of one child. The R4 model's generated {@code getProperty} reads the field
   * directly; HAPI's reflective accessor is the fallback for anything it does not know.
   */
  private static List<? extends IBase> values(IBase element, Child child) {
    if (child.direct() && element instanceof org.hl7.fhir.r4.model.Base b) {
      org.hl7.fhir.r4.model.Base[] v = b.getProperty(child.hash(), child.name(), false);
      if (v != null) {
        return v.length == 0 ? List.of() : java.util.Arrays.asList(v);
      }
    }
    List<IBase> v = child.def().getAccessor().getValues(element);
    return v == null ? List.of() : v;
  }

  /** Where an element is, built into a string only when a problem is reported there. */
  private record Path(Path parent, String name) {
    @Override
    public String toString() {
      return parent == null ? name : parent + "." + name;
    }
  }

  private static void visit(BaseRuntimeElementDefinition<?> def, IBase element, String path,
      List<String> problems, List<Reference> refs, int depth) {
    visit(def, element, new Path(null, path), problems, refs, depth);
  }

  private static void visit(BaseRuntimeElementDefinition<?> def, IBase element, Path path,
      List<String> problems, List<Reference> refs, int depth) {
    if (depth > 30) {
      return;
    }
    if (element instanceof Reference ref) {
      refs.add(ref);
    }
    if (element instanceof org.hl7.fhir.r4.model.PrimitiveType<?> prim) {
      if (prim.hasExtension()) {
        for (var ext : prim.getExtension()) {
          visit(CONTEXT.getElementDefinition(ext.getClass()), ext,
              new Path(path, "extension"), problems, refs, depth + 1);
        }
      }
      return;
    }
    if (!(def instanceof BaseRuntimeElementCompositeDefinition<?> comp)) {
      return;
    }
    for (Child child : children(comp)) {
      List<? extends IBase> values = values(element, child);
      if (child.required() && (values.isEmpty()
          || values.stream().allMatch(IBase::isEmpty))) {
        problems.add(path + "." + child.name() + ": required element is missing");
        continue;
      }
      for (IBase v : values) {
        if (v == null) {
          continue;
        }
        BaseRuntimeElementDefinition<?> cd;
        Path at;
        if (v instanceof IBaseResource contained) {
          at = new Path(null, CONTEXT.getResourceType(contained));
          cd = CONTEXT.getResourceDefinition(contained);
        } else {
          at = new Path(path, child.name());
          cd = child.def().getChildElementDefinitionByDatatype(v.getClass());
          if (cd == null) {
            cd = CONTEXT.getElementDefinition(v.getClass());
          }
        }
        visit(cd, v, at, problems, refs, depth + 1);
      }
    }
  }

  private static String abbreviate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "…" : s;
  }
}
