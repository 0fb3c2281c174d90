package org.careledger.node.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.FifoMemoryPagingProvider;
import ca.uhn.fhir.rest.server.IResourceProvider;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.rest.server.exceptions.InternalErrorException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** HAPI's RestfulServer with this node's providers, mounted at {@code /fhir}. */
public final class FhirServlet extends RestfulServer {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(FhirServlet.class);

  private final transient RecordStore store;
  private final transient AccessPolicy access;
  private final transient FullValidator validator;
  private final String nodeName;

  public FhirServlet(String nodeName, RecordStore store, AccessPolicy access,
      FullValidator validator) {
    super(FhirSetup.CONTEXT);
    this.nodeName = nodeName;
    this.store = store;
    this.access = access;
    this.validator = validator;
  }

  @Override
  protected void initialize() {
    List<IResourceProvider> providers = new ArrayList<>();
    for (String type : FhirSetup.TYPES) {
      providers.add(type.equals("Patient") ? new PatientProvider(store, access, validator)
          : type.equals("AuditEvent") || type.equals("Consent")
              ? new LedgerViewProvider(type, store, access, validator)
              : new RecordProvider(type, store, access, validator));
    }
    setResourceProviders(providers);
    registerProvider(new SystemProvider(store, access, validator));
    setDefaultResponseEncoding(EncodingEnum.JSON);
    FifoMemoryPagingProvider paging = new FifoMemoryPagingProvider(500);
    paging.setDefaultPageSize(50);
    paging.setMaximumPageSize(500);
    setPagingProvider(paging);
    setServerName("CareLedger");
    setImplementationDescription("CareLedger node: FHIR R4 records encrypted per record in the"
        + " custodian's vault and anchored on the ledger");
    registerInterceptor(new SafeErrors(nodeName));
    registerInterceptor(new StoredJsonReads());
  }

  /**
   * Clears parser problems at the start of each request, and makes sure no exception text a
   * client did not cause (which could carry content) reaches it.
   */
  @Interceptor
  public static final class SafeErrors {
    private static final Pattern POSITION = Pattern.compile("\\[line: \\d+, column: \\d+\\]");
    private final String nodeName;

    SafeErrors(String nodeName) {
      this.nodeName = nodeName;
    }

    @Hook(Pointcut.SERVER_INCOMING_REQUEST_PRE_PROCESSED)
    public boolean start(HttpServletRequest request, HttpServletResponse response) {
      FhirSetup.resetProblems();
      return true;
    }

    @Hook(Pointcut.SERVER_PRE_PROCESS_OUTGOING_EXCEPTION)
    public BaseServerResponseException outgoing(RequestDetails request, Throwable error) {
      if (error instanceof Outcomes.IntegrityFailure f) {
        return f;
      }
      if (error instanceof InvalidRequestException e && e.getMessage() != null
          && e.getMessage().contains("Failed to parse")) {
        // parser messages can quote the body; say where, not what
        Matcher m = POSITION.matcher(e.getMessage());
        return new InvalidRequestException("the request body is not well-formed FHIR JSON or XML"
            + (m.find() ? " at " + m.group() : ""));
      }
      if (error instanceof BaseServerResponseException b && !(b instanceof InternalErrorException)) {
        return b;
      }
      // the message may quote content; the type and the place in the code may not. HAPI wraps
      // what a provider threw, so the innermost cause is the one that says what failed
      Throwable root = error;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      StackTraceElement at = root.getStackTrace().length > 0 ? root.getStackTrace()[0] : null;
      LOG.error("{}: FHIR request failed: {} at {}", nodeName, root.getClass().getName(), at);
      return new InternalErrorException("the server could not process the request");
    }
  }
}
