package org.careledger.core.crypto;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** SHA-256 helpers. Thread-safe: each thread uses its own digest instance. */
public final class Sha256 {
  public static final int LENGTH = 32;

  private static final ThreadLocal<MessageDigest> DIGEST =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException("SHA-256 is required by every Java platform", e);
            }
          });

  private Sha256() {}

  public static byte[] hash(byte[] data) {
    return DIGEST.get().digest(data);
  }

  /** SHA-256(prefix || data). */
  public static byte[] hash(byte prefix, byte[] data) {
    MessageDigest md = DIGEST.get();
    md.update(prefix);
    md.update(data);
    return md.digest();
  }

  /** SHA-256(prefix || left || right). */
  public static byte[] hash(byte prefix, byte[] left, byte[] right) {
    MessageDigest md = DIGEST.get();
    md.update(prefix);
    md.update(left);
    md.update(right);
    return md.digest();
  }

  /** A fresh digest for incremental hashing by one thread. */
  public static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
