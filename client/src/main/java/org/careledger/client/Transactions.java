package org.careledger.client;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.SecureRandom;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.tx.TxCodec;

/** Builds and signs transactions on the client, with the client's own key. */
public final class Transactions {
  /** The validity window given to transactions by default: ten minutes from now. */
  public static final long DEFAULT_VALIDITY_MS = 10 * 60 * 1000;

  private static final SecureRandom RANDOM = new SecureRandom();

  private Transactions() {}

  /** A fresh random nonce: 16 random bytes in base64url. */
  public static String nonce() {
    byte[] b = new byte[16];
    RANDOM.nextBytes(b);
    return Codec.b64(b);
  }

  /** Signs a command valid from one minute ago (clock skew) to {@code validityMs} from now. */
  public static byte[] sign(String chain, Ed25519.KeyPair key, Command command, long now,
      long validityMs) {
    return sign(chain, key, CommandCodec.contractOf(command), CommandCodec.encode(command), now,
        validityMs);
  }

  /** Signs a command given as JSON for a named contract. */
  public static byte[] sign(String chain, Ed25519.KeyPair key, String contract,
      ObjectNode command, long now, long validityMs) {
    long notBefore = now - 60_000;
    ObjectNode payload = TxCodec.payload(chain, key.keyId(), nonce(), notBefore,
        Math.min(now + validityMs, notBefore + org.careledger.core.ledger.Ledger.MAX_WINDOW_MS),
        contract, command);
    return TxCodec.sign(payload, key);
  }
}
