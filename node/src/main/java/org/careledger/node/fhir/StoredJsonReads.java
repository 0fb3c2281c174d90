package org.careledger.node.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.IRestfulResponse;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.api.server.ResponseDetails;
import ca.uhn.fhir.rest.server.RestfulServerUtils;
import ca.uhn.fhir.util.DateUtils;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Date;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Resource;

/**
 * A read or vread answers with the exact bytes the ledger commits to, as stored, instead of
 * parsing them into HAPI's model and encoding that again: the read's provider returns a
 * placeholder of the right type, id and meta that carries the checked bytes, and this
 * interceptor writes them out with the headers HAPI would send ({@code ETag},
 * {@code Last-Modified}, {@code Content-Type}). The body is then the {@code content} of the
 * record's {@code $proof}, so SHA-256(salt || body) is its commitment. Whatever HAPI would
 * shape (XML, {@code _summary}, {@code _elements}, {@code _pretty}, any other parameter) gets
 * the parsed resource and HAPI's own encoding, as before.
 */
@Interceptor
public final class StoredJsonReads {
  private static final String BYTES = StoredJsonReads.class.getName() + ".bytes";
  private static final String CONTENT_TYPE = Constants.CT_FHIR_JSON_NEW + ";charset=utf-8";

  /** The placeholder a read returns for stored bytes. */
  static IBaseResource placeholder(RecordStore.Stored s) {
    Resource r = (Resource) FhirSetup.CONTEXT.getResourceDefinition(s.type()).newInstance();
    r.setIdElement(new IdType(s.type(), s.id(), Long.toString(s.version())));
    r.getMeta().setVersionId(Long.toString(s.version()));
    r.getMeta().setLastUpdated(new Date(s.lastUpdated()));
    r.setUserData(BYTES, s.json());
    return r;
  }

  @Hook(Pointcut.SERVER_OUTGOING_RESPONSE)
  public boolean outgoing(RequestDetails request, ResponseDetails response) throws IOException {
    if (!(response.getResponseResource() instanceof Resource r)
        || !(r.getUserData(BYTES) instanceof byte[] json)) {
      return true;
    }
    if (!asStored(request)) {
      response.setResponseResource(FhirSetup.CONTEXT.newJsonParser().parseResource(
          new String(json, java.nio.charset.StandardCharsets.UTF_8)));
      return true;
    }
    IRestfulResponse out = request.getResponse();
    out.addHeader(Constants.HEADER_ETAG, "W/\"" + r.getMeta().getVersionId() + "\"");
    out.addHeader(Constants.HEADER_LAST_MODIFIED, DateUtils.formatDate(
        r.getMeta().getLastUpdated()));
    OutputStream body = out.getResponseOutputStream(response.getResponseCode(), CONTENT_TYPE,
        json.length);
    body.write(json);
    out.commitResponse(body);
    return false;
  }

  /** True if HAPI would send the resource as plain JSON, shaped by nothing in the request. */
  private static boolean asStored(RequestDetails request) {
    RestOperationTypeEnum op = request.getRestOperationType();
    if (op != RestOperationTypeEnum.READ && op != RestOperationTypeEnum.VREAD) {
      return false;
    }
    for (String p : request.getParameters().keySet()) {
      if (!Constants.PARAM_FORMAT.equals(p)) {
        return false;
      }
    }
    RestfulServerUtils.ResponseEncoding enc = RestfulServerUtils
        .determineResponseEncodingNoDefault(request, EncodingEnum.JSON);
    return (enc == null || enc.getEncoding() == EncodingEnum.JSON)
        && !RestfulServerUtils.prettyPrintResponse(request.getServer(), request);
  }
}
