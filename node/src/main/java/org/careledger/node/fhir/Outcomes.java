package org.careledger.node.fhir;

import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.rest.server.exceptions.InternalErrorException;
import ca.uhn.fhir.rest.server.exceptions.PreconditionFailedException;
import ca.uhn.fhir.rest.server.exceptions.ResourceGoneException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import ca.uhn.fhir.rest.server.exceptions.ResourceVersionConflictException;
import ca.uhn.fhir.rest.server.exceptions.UnclassifiedServerFailureException;
import ca.uhn.fhir.rest.server.exceptions.UnprocessableEntityException;
import java.util.List;
import org.hl7.fhir.r4.model.OperationOutcome;

/** FHIR errors: every one carries an OperationOutcome written for the client, never PHI. */
final class Outcomes {
  private Outcomes() {}

  static OperationOutcome outcome(OperationOutcome.IssueType type, List<String> problems) {
    OperationOutcome oo = new OperationOutcome();
    for (String p : problems) {
      oo.addIssue().setSeverity(OperationOutcome.IssueSeverity.ERROR).setCode(type)
          .setDiagnostics(p);
    }
    return oo;
  }

  /** 422 listing every problem. */
  static UnprocessableEntityException invalid(List<String> problems) {
    UnprocessableEntityException e = new UnprocessableEntityException(
        problems.size() + " problem(s) in the submitted content; nothing was stored",
        outcome(OperationOutcome.IssueType.INVALID, problems));
    return e;
  }

  static BaseServerResponseException map(RecordStore.StoreException e) {
    return switch (e.kind()) {
      case NOT_FOUND -> new ResourceNotFoundException(e.getMessage());
      case GONE -> new ResourceGoneException(e.getMessage());
      case CONFLICT -> new ResourceVersionConflictException(e.getMessage());
      case REFUSED -> new PreconditionFailedException("the ledger refused the write: "
          + e.getMessage());
      case UNAVAILABLE -> new UnclassifiedServerFailureException(503, e.getMessage());
      case TOO_LARGE -> new ca.uhn.fhir.rest.server.exceptions.PayloadTooLargeException(
          e.getMessage());
      case INTEGRITY -> new IntegrityFailure(e.getMessage());
    };
  }

  /** A record that failed its integrity check: 500, with a message safe to show. */
  static final class IntegrityFailure extends InternalErrorException {
    private static final long serialVersionUID = 1L;

    IntegrityFailure(String message) {
      super(message, outcome(OperationOutcome.IssueType.SECURITY, List.of(message)));
    }
  }
}
