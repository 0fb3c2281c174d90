package org.careledger.node.fhir;

import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.AuthenticationException;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import org.careledger.core.contract.Role;
import org.careledger.node.LedgerService;
import org.careledger.node.auth.TokenService;

/**
 * The one place that decides who may do what on {@code /fhir}. Until patient consent exists,
 * the rule is: every call needs a bearer token (the ledger-core tokens), only identities of the
 * custodian organization (this node's) may read or write, and only its admins may erase.
 */
public final class AccessPolicy {
  /** What a request wants to do. */
  public enum Action { READ, WRITE, ERASE }

  private final TokenService tokens;
  private final LedgerService ledger;
  private final String custodianOrg;

  public AccessPolicy(TokenService tokens, LedgerService ledger, String custodianOrg) {
    this.tokens = tokens;
    this.ledger = ledger;
    this.custodianOrg = custodianOrg;
  }

  /** The caller's session if the action is allowed; otherwise throws 401 or 403. */
  public TokenService.Session require(RequestDetails request, Action action) {
    String h = request.getHeader("Authorization");
    if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw new AuthenticationException(
          "send 'Authorization: Bearer <token>' from /api/v1/auth/token");
    }
    TokenService.Session s = tokens.authenticate(h.substring(7).trim(), ledger.store().state(),
        System.currentTimeMillis());
    if (s == null) {
      throw new AuthenticationException("the bearer token is unknown, expired or revoked");
    }
    if (!custodianOrg.equals(s.org())) {
      throw new ForbiddenOperationException(
          "only identities of the custodian organization may use this node's records");
    }
    if (action == Action.ERASE && s.role() != Role.ADMIN) {
      throw new ForbiddenOperationException("only an admin of the custodian organization may"
          + " erase records");
    }
    return s;
  }

  public String custodianOrg() {
    return custodianOrg;
  }
}
