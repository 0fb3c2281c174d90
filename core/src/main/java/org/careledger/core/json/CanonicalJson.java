package org.careledger.core.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * RFC 8785 (JCS) canonical JSON restricted to the value space CareLedger allows: objects, arrays,
 * strings, booleans, null and integers in the IEEE-754 safe range (|n| <= 2^53 - 1). Floating point
 * numbers are refused everywhere. Object members are sorted by the UTF-16 code units of their names
 * (which is {@link String#compareTo}); strings are escaped exactly as ECMAScript's JSON.stringify does.
 *
 * <p>All methods are pure and thread-safe.
 */
public final class CanonicalJson {
  public static final long MAX_SAFE_INTEGER = 9007199254740991L;

  private static final ObjectMapper MAPPER =
      new ObjectMapper(
              JsonFactory.builder()
                  .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                  .build())
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
          .disable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private CanonicalJson() {}

  /** Thrown when bytes are not JSON or hold a value outside the allowed value space. */
  public static final class InvalidJsonException extends Exception {
    private static final long serialVersionUID = 1L;

    public InvalidJsonException(String message) {
      super(message);
    }
  }

  /** A fresh empty object node. */
  public static ObjectNode object() {
    return JsonNodeFactory.instance.objectNode();
  }

  /**
   * Parses UTF-8 JSON strictly: one value, no duplicate member names, no trailing data, valid
   * UTF-8, and only values of the allowed space (no fractions or exponents).
   */
  public static JsonNode parse(byte[] bytes) throws InvalidJsonException {
    JsonNode node;
    try (JsonParser p = MAPPER.getFactory().createParser(bytes)) {
      node = MAPPER.readTree(p);
    } catch (IOException e) {
      throw new InvalidJsonException("not valid JSON");
    }
    if (node == null || node.isMissingNode()) {
      throw new InvalidJsonException("empty document");
    }
    checkValueSpace(node);
    return node;
  }

  private static void checkValueSpace(JsonNode node) throws InvalidJsonException {
    switch (node.getNodeType()) {
      case OBJECT -> {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          checkString(e.getKey());
          checkValueSpace(e.getValue());
        }
      }
      case ARRAY -> {
        for (JsonNode child : node) {
          checkValueSpace(child);
        }
      }
      case NUMBER -> {
        if (!node.isIntegralNumber()) {
          throw new InvalidJsonException("floating point numbers are not allowed");
        }
        if (!node.canConvertToLong()
            || Math.abs(node.longValue()) > MAX_SAFE_INTEGER) {
          throw new InvalidJsonException("integer outside the range +-(2^53-1)");
        }
      }
      case STRING -> checkString(node.textValue());
      case BOOLEAN, NULL -> {}
      default -> throw new InvalidJsonException("unsupported JSON value");
    }
  }

  private static void checkString(String s) throws InvalidJsonException {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
          throw new InvalidJsonException("lone surrogate in string");
        }
        i++;
      } else if (Character.isLowSurrogate(c)) {
        throw new InvalidJsonException("lone surrogate in string");
      }
    }
  }

  /** The canonical UTF-8 bytes of a value. The value must be in the allowed space. */
  public static byte[] canonicalize(JsonNode node) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    write(node, out);
    return out.toByteArray();
  }

  /** Parses bytes and returns them only if they are already canonical. */
  public static JsonNode parseCanonical(byte[] bytes) throws InvalidJsonException {
    JsonNode node = parse(bytes);
    if (!Arrays.equals(canonicalize(node), bytes)) {
      throw new InvalidJsonException("not in RFC 8785 canonical form");
    }
    return node;
  }

  private static void write(JsonNode node, ByteArrayOutputStream out) {
    switch (node.getNodeType()) {
      case OBJECT -> {
        List<String> names = new ArrayList<>(node.size());
        node.fieldNames().forEachRemaining(names::add);
        names.sort(null);
        out.write('{');
        boolean first = true;
        for (String name : names) {
          if (!first) {
            out.write(',');
          }
          first = false;
          writeString(name, out);
          out.write(':');
          write(node.get(name), out);
        }
        out.write('}');
      }
      case ARRAY -> {
        out.write('[');
        boolean first = true;
        for (JsonNode child : node) {
          if (!first) {
            out.write(',');
          }
          first = false;
          write(child, out);
        }
        out.write(']');
      }
      case NUMBER -> {
        if (!node.isIntegralNumber() || !node.canConvertToLong()
            || Math.abs(node.longValue()) > MAX_SAFE_INTEGER) {
          throw new IllegalArgumentException("only safe integers are allowed in canonical JSON");
        }
        out.writeBytes(Long.toString(node.longValue()).getBytes(StandardCharsets.US_ASCII));
      }
      case STRING -> writeString(node.textValue(), out);
      case BOOLEAN -> out.writeBytes(node.booleanValue()
          ? "true".getBytes(StandardCharsets.US_ASCII) : "false".getBytes(StandardCharsets.US_ASCII));
      case NULL -> out.writeBytes("null".getBytes(StandardCharsets.US_ASCII));
      default -> throw new IllegalArgumentException("unsupported JSON node " + node.getNodeType());
    }
  }

  private static void writeString(String s, ByteArrayOutputStream out) {
    out.write('"');
    int runStart = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\' || c < 0x20) {
        if (i > runStart) {
          out.writeBytes(s.substring(runStart, i).getBytes(StandardCharsets.UTF_8));
        }
        runStart = i + 1;
        out.write('\\');
        switch (c) {
          case '"' -> out.write('"');
          case '\\' -> out.write('\\');
          case '\b' -> out.write('b');
          case '\t' -> out.write('t');
          case '\n' -> out.write('n');
          case '\f' -> out.write('f');
          case '\r' -> out.write('r');
          default -> {
            out.write('u');
            out.write('0');
            out.write('0');
            out.write(HEX[(c >> 4) & 0xf]);
            out.write(HEX[c & 0xf]);
          }
        }
      }
    }
    if (runStart < s.length()) {
      out.writeBytes(s.substring(runStart).getBytes(StandardCharsets.UTF_8));
    }
    out.write('"');
  }
}
