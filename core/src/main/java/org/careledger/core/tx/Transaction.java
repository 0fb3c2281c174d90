package org.careledger.core.tx;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import org.careledger.core.crypto.Codec;

/**
 * A client-signed transaction as it travels and is logged: {@link #bytes()} is the canonical JSON
 * envelope {@code {"payload":{...},"sig":"..."}} exactly as received, {@link #signedBytes()} the
 * canonical payload the Ed25519 signature covers, and {@link #id()} SHA-256 of {@link #bytes()}.
 *
 * <p>Instances come only from {@link TxCodec}, which checks the encoding; whether the transaction
 * is acceptable is decided by {@link TxValidator} against a state.
 */
public record Transaction(
    byte[] bytes,
    byte[] id,
    byte[] signedBytes,
    byte[] signature,
    int version,
    String chain,
    String signer,
    String nonce,
    long notBefore,
    long notAfter,
    String contract,
    JsonNode command) {

  public String idHex() {
    return Codec.hex(id);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Transaction t && Arrays.equals(bytes, t.bytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return "Transaction[" + idHex() + " " + contract + " by " + signer + "]";
  }
}
