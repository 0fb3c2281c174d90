package org.careledger.node.fhir;

import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.servlet.ServletRequestDetails;
import ca.uhn.fhir.rest.server.exceptions.AuthenticationException;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.util.List;
import org.careledger.node.LedgerService;
import org.careledger.node.access.Gatekeeper;
import org.careledger.node.auth.TokenService;

/**
 * {@code /fhir}'s side of the {@link Gatekeeper}: who is calling (bearer token, purpose of use
 * from {@code X-Purpose-Of-Use}, break-glass reason from {@code X-Break-Glass-Reason}), and the
 * HTTP answer to a refusal: 401 without a valid token, 403 otherwise, both after the refusal
 * is on the ledger. Writes need an admin, practitioner or service identity of the custodian
 * organization, and erasure an admin.
 */
public final class AccessPolicy {
  /** What a request wants to do, for the checks that are not per record. */
  public enum Action { WRITE, ERASE, AUTHENTICATED }

  public static final String PURPOSE_HEADER = "X-Purpose-Of-Use";
  public static final String BREAK_GLASS_HEADER = "X-Break-Glass-Reason";

  private final TokenService tokens;
  private final LedgerService ledger;
  private final Gatekeeper gate;

  public AccessPolicy(TokenService tokens, LedgerService ledger, Gatekeeper gate) {
    this.tokens = tokens;
    this.ledger = ledger;
    this.gate = gate;
  }

  public Gatekeeper gate() {
    return gate;
  }

  /** The session of a valid bearer token, or null. */
  public TokenService.Session sessionOrNull(RequestDetails request) {
    if (ledger.installingSnapshot()) {
      // the shared ledger is being replaced: another node, or this one shortly, can answer
      throw new ca.uhn.fhir.rest.server.exceptions.UnclassifiedServerFailureException(503,
          LedgerService.INSTALLING);
    }
    return tokens.fromRequest(request.getHeader("Authorization"), request.getHeader("Cookie"),
        request.getHeader(TokenService.CSRF_HEADER), ledger.store().state(),
        System.currentTimeMillis());
  }

  /** The caller of a PHI-releasing request; an unknown purpose is a 400. */
  public Gatekeeper.Caller caller(RequestDetails request) {
    try {
      return Gatekeeper.caller(sessionOrNull(request), request.getHeader(PURPOSE_HEADER),
          request.getHeader(BREAK_GLASS_HEADER));
    } catch (IllegalArgumentException e) {
      throw new InvalidRequestException(e.getMessage());
    }
  }

  /** Checks a request that releases no PHI; throws 401 or 403. */
  public TokenService.Session require(RequestDetails request, Action action) {
    TokenService.Session s = sessionOrNull(request);
    if (s == null) {
      throw new AuthenticationException(request.getHeader("Authorization") == null
          ? "send 'Authorization: Bearer <token>' from /api/v1/auth/token"
          : "the bearer token is unknown, expired or revoked");
    }
    if (action == Action.WRITE && !Gatekeeper.mayWrite(s, gate.org())) {
      throw new ForbiddenOperationException("only an admin, practitioner or service of the"
          + " custodian organization may write this node's records");
    }
    if (action == Action.ERASE && !Gatekeeper.mayErase(s, gate.org())) {
      throw new ForbiddenOperationException("only an admin of the custodian organization may"
          + " erase records (a patient erases through /api/v1/patients/me/erasure)");
    }
    return s;
  }

  /** The response headers that say which rule or grant allowed a read, and its event. */
  public static final String BASIS_HEADER = "X-Access-Basis";
  public static final String EVENT_HEADER = "X-Access-Event";

  /**
   * Decides, records and waits for one record (null: unknown or erased, recorded as an
   * attempt that matched nothing); throws 401/403 after recording a refusal.
   */
  public void release(RequestDetails request, Gatekeeper.Caller c, String action,
      Gatekeeper.Target targetOrNull) {
    releaseAll(request, c, action, targetOrNull == null ? List.of() : List.of(targetOrNull),
        true);
  }

  /**
   * Decides, records and waits for many records; returns those that may be released. The
   * answer names the bases of the decisions ({@value #BASIS_HEADER}: the treating rule, the
   * grant, break-glass, self) and the access event's transaction ({@value #EVENT_HEADER}).
   */
  public List<Gatekeeper.Target> releaseAll(RequestDetails request, Gatekeeper.Caller c,
      String action, List<Gatekeeper.Target> targets, boolean allOrNothing) {
    try {
      Gatekeeper.Admitted a = gate.admit(c, action, targets, allOrNothing);
      if (c.sessionOrNull() == null) {
        throw new AuthenticationException(
            "send 'Authorization: Bearer <token>' from /api/v1/auth/token");
      }
      if (request instanceof ServletRequestDetails srd && srd.getServletResponse() != null) {
        if (!a.bases().isEmpty()) {
          srd.getServletResponse().addHeader(BASIS_HEADER, String.join(", ", a.bases()));
        }
        if (a.txIdOrNull() != null) {
          srd.getServletResponse().addHeader(EVENT_HEADER, a.txIdOrNull());
        }
      }
      return a.allowed();
    } catch (Gatekeeper.Refused e) {
      if (c.sessionOrNull() == null) {
        throw new AuthenticationException(
            "send 'Authorization: Bearer <token>' from /api/v1/auth/token");
      }
      throw new ForbiddenOperationException(e.getMessage() + " (recorded in transaction "
          + e.txId() + ")");
    } catch (RecordStore.StoreException e) {
      throw Outcomes.map(e);
    }
  }
}
