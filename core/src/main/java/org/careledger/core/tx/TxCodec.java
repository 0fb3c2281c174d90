package org.careledger.core.tx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Set;
import java.util.regex.Pattern;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.json.CanonicalJson;

/**
 * Encodes and decodes transactions. Decoding checks only the encoding (size, JSON, canonical form,
 * field shapes); it does not check signatures or state.
 */
public final class TxCodec {
  /** The largest transaction accepted, in bytes of its canonical envelope. */
  public static final int MAX_TX_BYTES = 1024 * 1024;

  public static final int VERSION = 1;

  private static final Pattern CHAIN = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
  private static final Pattern KEY_ID = Pattern.compile("[0-9a-f]{32}");
  private static final Pattern NONCE = Pattern.compile("[A-Za-z0-9_-]{8,128}");
  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]{0,31}");
  private static final Set<String> ENVELOPE_FIELDS = Set.of("payload", "sig");
  private static final Set<String> PAYLOAD_FIELDS =
      Set.of("v", "chain", "signer", "nonce", "notBefore", "notAfter", "contract", "command");

  private static final byte[] PAYLOAD_PREFIX =
      "{\"payload\":".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private TxCodec() {}

  /** The outcome of decoding: a transaction, or the refusal that explains why not. */
  public sealed interface Decoded permits Decoded.Ok, Decoded.Refused {
    record Ok(Transaction tx) implements Decoded {}

    record Refused(Refusal refusal) implements Decoded {}
  }

  public static Decoded decode(byte[] bytes) {
    if (bytes.length > MAX_TX_BYTES) {
      return refuse(Refusal.Reason.TOO_LARGE,
          "transaction has " + bytes.length + " bytes; the limit is " + MAX_TX_BYTES);
    }
    JsonNode root;
    try {
      root = CanonicalJson.parse(bytes);
    } catch (CanonicalJson.InvalidJsonException e) {
      return refuse(Refusal.Reason.NOT_JSON, e.getMessage());
    }
    if (!java.util.Arrays.equals(CanonicalJson.canonicalize(root), bytes)) {
      return refuse(Refusal.Reason.NOT_CANONICAL,
          "transaction bytes are not in RFC 8785 canonical form");
    }
    try {
      return new Decoded.Ok(fromTree(root, bytes));
    } catch (IllegalArgumentException e) {
      return refuse(Refusal.Reason.MALFORMED, e.getMessage());
    }
  }

  private static Transaction fromTree(JsonNode root, byte[] bytes) {
    requireFields(root, ENVELOPE_FIELDS, "transaction");
    JsonNode payload = root.get("payload");
    requireFields(payload, PAYLOAD_FIELDS, "payload");
    int version = (int) integer(payload, "v");
    if (version != VERSION) {
      throw new IllegalArgumentException("unsupported transaction version " + version);
    }
    String chain = text(payload, "chain", CHAIN);
    String signer = text(payload, "signer", KEY_ID);
    String nonce = text(payload, "nonce", NONCE);
    long notBefore = integer(payload, "notBefore");
    long notAfter = integer(payload, "notAfter");
    String contract = text(payload, "contract", NAME);
    JsonNode command = payload.get("command");
    if (!command.isObject()) {
      throw new IllegalArgumentException("command must be an object");
    }
    JsonNode sigNode = root.get("sig");
    if (!sigNode.isTextual()) {
      throw new IllegalArgumentException("sig must be a base64url string");
    }
    byte[] sig;
    try {
      sig = Codec.unb64(sigNode.textValue());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("sig is not canonical unpadded base64url");
    }
    if (sig.length != Ed25519.SIGNATURE_SIZE) {
      throw new IllegalArgumentException("sig has " + sig.length + " bytes; 64 are required");
    }
    // the envelope is canonical, so it is exactly {"payload":P,"sig":"S"} and P, the canonical
    // payload, can be cut out of it instead of being encoded again
    int tail = ",\"sig\":\"".length() + sigNode.textValue().length() + "\"}".length();
    byte[] signed = java.util.Arrays.copyOfRange(bytes, PAYLOAD_PREFIX.length, bytes.length - tail);
    return new Transaction(bytes, Sha256.hash(bytes), signed, sig, version, chain, signer, nonce,
        notBefore, notAfter, contract, command);
  }

  private static void requireFields(JsonNode node, Set<String> fields, String what) {
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException(what + " must be a JSON object");
    }
    for (String f : fields) {
      if (!node.has(f)) {
        throw new IllegalArgumentException(what + " lacks the field '" + f + "'");
      }
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!fields.contains(f)) {
        throw new IllegalArgumentException(what + " has an unknown field '" + f + "'");
      }
    }
  }

  private static String text(JsonNode node, String field, Pattern pattern) {
    JsonNode v = node.get(field);
    if (!v.isTextual() || !pattern.matcher(v.textValue()).matches()) {
      throw new IllegalArgumentException(field + " must be a string matching " + pattern);
    }
    return v.textValue();
  }

  private static long integer(JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (!v.isIntegralNumber()) {
      throw new IllegalArgumentException(field + " must be an integer");
    }
    return v.longValue();
  }

  /** Builds the canonical payload object. */
  public static ObjectNode payload(String chain, String signer, String nonce, long notBefore,
      long notAfter, String contract, JsonNode command) {
    ObjectNode p = CanonicalJson.object();
    p.put("v", VERSION);
    p.put("chain", chain);
    p.put("signer", signer);
    p.put("nonce", nonce);
    p.put("notBefore", notBefore);
    p.put("notAfter", notAfter);
    p.put("contract", contract);
    p.set("command", command);
    return p;
  }

  /** Signs a payload with the key and returns the canonical envelope bytes. */
  public static byte[] sign(ObjectNode payload, Ed25519.KeyPair key) {
    byte[] signed = CanonicalJson.canonicalize(payload);
    ObjectNode env = CanonicalJson.object();
    env.set("payload", payload);
    env.put("sig", Codec.b64(key.sign(signed)));
    return CanonicalJson.canonicalize(env);
  }

  private static Decoded refuse(Refusal.Reason reason, String detail) {
    return new Decoded.Refused(Refusal.of(reason, detail));
  }
}
