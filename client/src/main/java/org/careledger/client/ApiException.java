package org.careledger.client;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A request the node answered with an error, carrying its RFC 9457 problem document, or a node
 * that could not be reached (status 0).
 */
public final class ApiException extends Exception {
  private static final long serialVersionUID = 1L;
  private final int status;
  private final transient JsonNode problem;

  public ApiException(int status, JsonNode problem, String message) {
    super(message);
    this.status = status;
    this.problem = problem;
  }

  public int status() {
    return status;
  }

  /** The problem document, or null. */
  public JsonNode problem() {
    return problem;
  }

  /** The problem's reason code (the last part of its type), or null. */
  public String code() {
    if (problem == null || !problem.has("type")) {
      return null;
    }
    String t = problem.get("type").asText();
    return t.substring(t.lastIndexOf(':') + 1);
  }
}
