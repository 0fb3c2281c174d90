package org.careledger.node.fhir;

import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.util.ArrayList;
import java.util.List;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.OperationOutcome;

/**
 * Full validation against the FHIR R4 base specification with HAPI's FhirInstanceValidator,
 * offline. One validator is shared by all threads (HAPI's is thread-safe) so its caches warm
 * once, and its core validators are reused ({@link ReusingInstanceValidator}); it skips
 * best-practice recommendations (warnings at most). Profiles a resource declares but the node
 * does not have (US Core, say) give a warning, not an error. Used by {@code $validate}, and on
 * every write when the node setting {@code validate-on-write} is on.
 */
public final class FullValidator {
  private final FhirValidator validator;
  private final boolean onWrite;

  public FullValidator(boolean onWrite) {
    this.onWrite = onWrite;
    validator = validator(configure(new ReusingInstanceValidator(chain())));
  }

  /** The offline R4 base specification, snapshots and the terminologies HAPI has built in. */
  static ValidationSupportChain chain() {
    var ctx = FhirSetup.CONTEXT;
    return new ValidationSupportChain(
        new DefaultProfileValidationSupport(ctx),
        new SnapshotGeneratingValidationSupport(ctx),
        new InMemoryTerminologyServerValidationSupport(ctx),
        new CommonCodeSystemsTerminologyService(ctx));
  }

  /** This node's settings on a validator module. */
  static <M extends FhirInstanceValidator> M configure(M module) {
    module.setErrorForUnknownProfiles(false);
    module.setAnyExtensionsAllowed(true);
    // best-practice recommendations can only ever be warnings; not evaluating them is the
    // largest single saving (the base specification's rules are all still checked)
    module.setBestPracticeWarningLevel(
        org.hl7.fhir.r5.utils.validation.constants.BestPracticeWarningLevel.Ignore);
    return module;
  }

  static FhirValidator validator(FhirInstanceValidator module) {
    FhirValidator v = FhirSetup.CONTEXT.newValidator();
    v.setValidateAgainstStandardSchema(false);
    v.setValidateAgainstStandardSchematron(false);
    v.registerValidatorModule(module);
    return v;
  }

  /** Full validation as an OperationOutcome; parser problems come first, as errors. */
  public OperationOutcome validate(IBaseResource r, List<String> parseProblems) {
    OperationOutcome oo = Outcomes.outcome(OperationOutcome.IssueType.STRUCTURE, parseProblems);
    if (r != null) {
      FhirSetup.Walk walk = FhirSetup.walk(r);
      List<String> mine = new ArrayList<>(walk.problems());
      mine.addAll(FhirSetup.referenceProblems(FhirSetup.CONTEXT.getResourceType(r),
          walk.references()));
      for (String p : mine) {
        oo.addIssue().setSeverity(OperationOutcome.IssueSeverity.ERROR)
            .setCode(OperationOutcome.IssueType.REQUIRED).setDiagnostics(p);
      }
      ValidationResult result = validator.validateWithResult(r);
      for (SingleValidationMessage m : result.getMessages()) {
        oo.addIssue().setSeverity(severity(m.getSeverity()))
            .setCode(OperationOutcome.IssueType.PROCESSING)
            .setDiagnostics(m.getMessage()).addExpression(m.getLocationString());
      }
    }
    if (oo.getIssue().isEmpty()) {
      oo.addIssue().setSeverity(OperationOutcome.IssueSeverity.INFORMATION)
          .setCode(OperationOutcome.IssueType.INFORMATIONAL).setDiagnostics("no problems found");
    }
    return oo;
  }

  /** With {@code validate-on-write}, refuses (422) a resource that has validation errors. */
  public void checkIfRequired(IBaseResource r) {
    if (!onWrite || r == null) {
      return;
    }
    List<String> errors = new ArrayList<>();
    for (SingleValidationMessage m : validator.validateWithResult(r).getMessages()) {
      if (m.getSeverity() == ResultSeverityEnum.ERROR || m.getSeverity() == ResultSeverityEnum.FATAL) {
        errors.add(m.getLocationString() + ": " + m.getMessage());
      }
    }
    if (!errors.isEmpty()) {
      throw Outcomes.invalid(errors);
    }
  }

  private static OperationOutcome.IssueSeverity severity(ResultSeverityEnum s) {
    return switch (s) {
      case FATAL -> OperationOutcome.IssueSeverity.FATAL;
      case ERROR -> OperationOutcome.IssueSeverity.ERROR;
      case WARNING -> OperationOutcome.IssueSeverity.WARNING;
      case INFORMATION -> OperationOutcome.IssueSeverity.INFORMATION;
    };
  }
}
