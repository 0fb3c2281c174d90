package org.careledger.core.tx;

import java.util.Objects;

/**
 * Why a transaction was refused: an expected outcome, returned as a value. The detail is written
 * for the submitter and never carries payload contents beyond identifiers.
 */
public record Refusal(Reason reason, String detail) {
  public Refusal {
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(detail, "detail");
  }

  public static Refusal of(Reason reason, String detail) {
    return new Refusal(reason, detail);
  }

  /** The refusal reasons; {@link #code()} is the stable wire name. */
  public enum Reason {
    NOT_JSON("not-json", 400),
    NOT_CANONICAL("not-canonical", 400),
    TOO_LARGE("too-large", 413),
    MALFORMED("malformed", 400),
    BAD_SIGNATURE("bad-signature", 400),
    UNKNOWN_SIGNER("unknown-signer", 403),
    REVOKED_SIGNER("revoked-signer", 403),
    WRONG_CHAIN("wrong-chain", 400),
    OUTSIDE_WINDOW("outside-window", 400),
    DUPLICATE("duplicate", 409),
    UNKNOWN_CONTRACT("unknown-contract", 400),
    UNKNOWN_COMMAND("unknown-command", 400),
    ROLE_NOT_ALLOWED("role-not-allowed", 403),
    CONFLICT("conflict", 409),
    NOT_FOUND("not-found", 404);

    private final String code;
    private final int httpStatus;

    Reason(String code, int httpStatus) {
      this.code = code;
      this.httpStatus = httpStatus;
    }

    public String code() {
      return code;
    }

    public int httpStatus() {
      return httpStatus;
    }
  }
}
