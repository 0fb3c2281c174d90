package org.careledger.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.crypto.tink.HybridDecrypt;
import com.google.crypto.tink.HybridEncrypt;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.TinkProtoKeysetFormat;
import com.google.crypto.tink.hybrid.HpkeParameters;
import com.google.crypto.tink.hybrid.HybridConfig;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Sha256;

/**
 * Cross-organization sharing: records re-encrypted by the custodian to a requester's HPKE key
 * (RFC 9180: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, through Tink), and the
 * requester's check of each record against its commitment on the ledger.
 *
 * <p>Each record's plaintext is its 32-byte salt followed by its exact stored bytes; the HPKE
 * info is {@code careledger-share/v1|<chain>|<record>|<version>}, so a ciphertext cannot be
 * passed off as another record or version.
 */
public final class Sharing {
  static {
    try {
      HybridConfig.register();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Tink hybrid encryption is unavailable", e);
    }
  }

  private Sharing() {}

  /** The HPKE suite of every share. */
  public static HpkeParameters parameters() {
    try {
      return HpkeParameters.builder()
          .setKemId(HpkeParameters.KemId.DHKEM_X25519_HKDF_SHA256)
          .setKdfId(HpkeParameters.KdfId.HKDF_SHA256)
          .setAeadId(HpkeParameters.AeadId.AES_256_GCM)
          .setVariant(HpkeParameters.Variant.NO_PREFIX).build();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A new recipient key pair; its public half goes in the request. */
  public static KeysetHandle newRecipient() throws GeneralSecurityException {
    return KeysetHandle.generateNew(parameters());
  }

  /** The public keyset to send, in Tink's binary keyset format. */
  public static byte[] publicKeyset(KeysetHandle recipient) throws GeneralSecurityException {
    return TinkProtoKeysetFormat.serializeKeysetWithoutSecret(recipient.getPublicKeysetHandle());
  }

  public static byte[] info(String chain, String record, long version) {
    return ("careledger-share/v1|" + chain + "|" + record + "|" + version)
        .getBytes(StandardCharsets.UTF_8);
  }

  /** Encrypts to a requester's public keyset (the custodian's side). */
  public static byte[] seal(byte[] publicKeyset, byte[] plaintext, byte[] info)
      throws GeneralSecurityException {
    KeysetHandle h = TinkProtoKeysetFormat.parseKeysetWithoutSecret(publicKeyset);
    if (h.size() != 1 || !parameters().equals(h.getPrimary().getKey().getParameters())) {
      throw new GeneralSecurityException("the recipient key must be one HPKE key of the suite"
          + " X25519 / HKDF-SHA256 / AES-256-GCM without prefix");
    }
    return h.getPrimitive(RegistryConfiguration.get(), HybridEncrypt.class)
        .encrypt(plaintext, info);
  }

  /** A record received and checked: its bytes, and the anchoring transaction. */
  public record Received(String record, long version, String resourceType, byte[] content,
      String anchorTx) {}

  /** Fetches anchoring receipts, e.g. from the requester's own node. */
  @FunctionalInterface
  public interface ReceiptSource {
    JsonNode receipt(String txId) throws ApiException;
  }

  /**
   * Decrypts every record of a share response and checks it: the HPKE decryption (any changed
   * byte fails it), the commitment SHA-256(salt || content) against the one anchored on the
   * ledger for that record and version, and the anchoring receipt's proof against the trusted
   * node keys. Throws with a message naming the first record that fails.
   */
  public static List<Received> open(KeysetHandle recipient, String chain, JsonNode response,
      ReceiptSource receipts, Collection<byte[]> trustedNodeKeys)
      throws GeneralSecurityException, ApiException {
    HybridDecrypt dec = recipient.getPrimitive(RegistryConfiguration.get(),
        HybridDecrypt.class);
    List<Received> out = new ArrayList<>();
    for (JsonNode r : response.path("records")) {
      String rec = r.get("record").asText();
      long version = r.get("version").asLong();
      byte[] salted;
      try {
        salted = dec.decrypt(Codec.unb64(r.get("ciphertext").asText()),
            info(chain, rec, version));
      } catch (GeneralSecurityException | IllegalArgumentException e) {
        throw new GeneralSecurityException("record " + rec + " v" + version
            + " does not decrypt with the requester's key: it was altered or misaddressed");
      }
      String anchorTx = r.get("anchorTx").asText();
      JsonNode receipt = receipts.receipt(anchorTx);
      List<String> problems = ProofCheck.receipt(receipt, trustedNodeKeys);
      if (!problems.isEmpty()) {
        throw new GeneralSecurityException("the anchor of record " + rec + " does not verify: "
            + problems.get(0));
      }
      byte[] anchored = anchoredCommitment(receipt, rec, version);
      if (anchored == null) {
        throw new GeneralSecurityException("transaction " + anchorTx + " does not anchor record "
            + rec + " version " + version);
      }
      if (!Arrays.equals(anchored, Sha256.hash(salted))) {
        throw new GeneralSecurityException("record " + rec + " v" + version
            + " does not match its commitment on the ledger: it was altered");
      }
      out.add(new Received(rec, version, r.get("resourceType").asText(),
          Arrays.copyOfRange(salted, 32, salted.length), anchorTx));
    }
    return out;
  }

  private static byte[] anchoredCommitment(JsonNode receipt, String rec, long version) {
    try {
      JsonNode payload = receipt.get("tx").get("payload");
      if (!"records".equals(payload.path("contract").asText())) {
        return null;
      }
      for (JsonNode v : payload.path("command").path("versions")) {
        if (v.get("record").asText().equals(rec) && v.get("version").asLong() == version) {
          return Codec.unhex(v.get("commitment").asText());
        }
      }
      return null;
    } catch (RuntimeException e) {
      return null;
    }
  }
}
