package org.careledger.node.fhir;

import ca.uhn.fhir.rest.api.server.RequestDetails;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Date;
import java.util.Iterator;
import java.util.Map;
import org.hl7.fhir.r4.model.InstantType;

/**
 * The JSON a client sent, kept beside HAPI's parsed model so that a version can be stored as
 * the sender's own JSON (with the server's id, versionId and lastUpdated, and the references
 * a transaction resolved) instead of being encoded again from the model. HAPI's generic
 * encoder was the largest single cost of a write.
 *
 * <p>The model stays the authority: the strict checks, the compartment, the tags and the
 * response come from it, and the source is used only where it says the same thing. Numbers are
 * kept exactly as written ("1.50" stays "1.50"); a body with a duplicate key is not used.
 */
public final class SourceJson {
  private static final ObjectMapper MAPPER = JsonMapper.builder(new com.fasterxml.jackson.core
          .JsonFactory())
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
      .build();

  private SourceJson() {}

  /** The request body as a JSON object, or null if it is not JSON (XML) or not usable. */
  public static ObjectNode body(RequestDetails request) {
    byte[] body;
    try {
      body = request.loadRequestContents();
    } catch (RuntimeException e) {
      return null;
    }
    return parse(body);
  }

  /** {@code bytes} as a JSON object, or null if they are not one JSON object. */
  public static ObjectNode parse(byte[] bytes) {
    if (bytes == null) {
      return null;
    }
    int i = 0;
    while (i < bytes.length && Character.isWhitespace(bytes[i])) {
      i++;
    }
    if (i == bytes.length || bytes[i] != '{') {
      return null;
    }
    try (JsonParser p = MAPPER.createParser(bytes)) {
      JsonNode n = MAPPER.readTree(p);
      return n instanceof ObjectNode o && p.nextToken() == null ? o : null;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** The resource of entry {@code index} of a Bundle's JSON, or null. */
  public static ObjectNode entryResource(ObjectNode bundle, int index) {
    if (bundle == null) {
      return null;
    }
    JsonNode r = bundle.path("entry").path(index).path("resource");
    return r instanceof ObjectNode o ? o : null;
  }

  /** What one reference of a transaction became. */
  public sealed interface Resolved {
    /** Now points at {@code target} ("Type/id"). */
    record To(String target) implements Resolved {}

    /** Became a logical reference: no {@code reference}, a type and an identifier. */
    record Logical(String type, String system, String value) implements Resolved {}
  }

  /**
   * Rewrites, in {@code resource}, every {@code reference} string that {@code resolved} names,
   * the way the transaction rewrote the model. Returns how many it rewrote; the caller compares
   * that with the number of references the model had rewritten, and drops the source if they
   * differ.
   */
  public static int resolve(JsonNode node, Map<String, Resolved> resolved) {
    int n = 0;
    if (node instanceof ObjectNode o) {
      JsonNode ref = o.get("reference");
      if (ref != null && ref.isTextual() && resolved.containsKey(ref.textValue())) {
        Resolved r = resolved.get(ref.textValue());
        if (r instanceof Resolved.To to) {
          o.put("reference", to.target());
        } else if (r instanceof Resolved.Logical l) {
          o.remove("reference");
          o.put("type", l.type());
          ObjectNode id = o.putObject("identifier");
          if (l.system() != null && !l.system().isEmpty()) {
            id.put("system", l.system());
          }
          id.put("value", l.value());
        }
        n++;
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getKey().equals("reference")) {
          n += resolve(e.getValue(), resolved);
        }
      }
    } else if (node != null && node.isArray()) {
      for (JsonNode c : node) {
        n += resolve(c, resolved);
      }
    }
    return n;
  }

  /**
   * The bytes of one version: the source with the server's id, {@code meta.versionId} and
   * {@code meta.lastUpdated} (as HAPI writes an instant, see {@link #instant}), the rest as
   * sent. The source is not changed.
   */
  public static byte[] version(ObjectNode source, String type, String id, long version,
      String lastUpdated) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(4096);
    try (JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("resourceType", type);
      g.writeStringField("id", id);
      g.writeObjectFieldStart("meta");
      g.writeStringField("versionId", Long.toString(version));
      g.writeStringField("lastUpdated", lastUpdated);
      JsonNode old = source.get("meta");
      if (old instanceof ObjectNode m) {
        for (Iterator<Map.Entry<String, JsonNode>> it = m.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          if (!e.getKey().equals("versionId") && !e.getKey().equals("lastUpdated")) {
            g.writeFieldName(e.getKey());
            MAPPER.writeTree(g, e.getValue());
          }
        }
      }
      g.writeEndObject();
      for (Iterator<Map.Entry<String, JsonNode>> it = source.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        String k = e.getKey();
        if (!k.equals("resourceType") && !k.equals("id") && !k.equals("meta")) {
          g.writeFieldName(k);
          MAPPER.writeTree(g, e.getValue());
        }
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException("a JSON tree always encodes", e);
    }
    return out.toByteArray();
  }

  /** An instant as HAPI writes {@code meta.lastUpdated}. */
  public static String instant(long millis) {
    return new InstantType(new Date(millis)).getValueAsString();
  }
}
