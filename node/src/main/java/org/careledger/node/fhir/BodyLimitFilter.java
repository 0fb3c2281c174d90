package org.careledger.node.fhir;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** Refuses request bodies over the limit with 413 and an OperationOutcome, before parsing. */
public final class BodyLimitFilter implements Filter {
  public static final long MAX_BODY = 8L * 1024 * 1024;

  /** The most of a refused body read before the connection is closed. */
  static final long DRAIN_AT_MOST = 64L * 1024 * 1024;

  @Override
  public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
      throws IOException, ServletException {
    long len = ((HttpServletRequest) req).getContentLengthLong();
    String te = ((HttpServletRequest) req).getHeader("Transfer-Encoding");
    if (len > MAX_BODY || (len < 0 && te != null && te.toLowerCase().contains("chunked"))) {
      HttpServletResponse r = (HttpServletResponse) res;
      r.setStatus(413);
      r.setContentType("application/fhir+json");
      String why = len > MAX_BODY ? "the request body exceeds " + MAX_BODY + " bytes"
          : "send a Content-Length; chunked request bodies are not accepted";
      r.setHeader("Connection", "close");
      r.getOutputStream().write(("{\"resourceType\":\"OperationOutcome\",\"issue\":[{"
          + "\"severity\":\"error\",\"code\":\"too-costly\",\"diagnostics\":\"" + why
          + "\"}]}").getBytes(StandardCharsets.UTF_8));
      r.flushBuffer();
      // Read (and drop) what the client is still sending, up to a bound: closing a connection
      // with unread bytes makes the kernel reset it, and the client can then lose the 413
      // it was sent. A body beyond the bound is cut off.
      if (len > 0 && len <= DRAIN_AT_MOST) {
        req.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
      }
      return;
    }
    chain.doFilter(req, res);
  }
}
