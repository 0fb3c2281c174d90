package org.careledger.core.crypto;

import java.security.SecureRandom;
import java.util.Arrays;

/**
 * Ed25519 (RFC 8032, pure) through Bouncy Castle's low-level implementation. Verification follows
 * Bouncy Castle's checks: the encoded public key and R must be valid points and S must be less than
 * the group order, which rules out signature malleability.
 */
public final class Ed25519 {
  public static final int PUBLIC_KEY_SIZE = 32;
  public static final int SECRET_KEY_SIZE = 32;
  public static final int SIGNATURE_SIZE = 64;

  private static final SecureRandom RANDOM = new SecureRandom();

  static {
    org.bouncycastle.math.ec.rfc8032.Ed25519.precompute();
  }

  private Ed25519() {}

  /** Returns true only for a valid signature by {@code publicKey} over {@code message}. */
  public static boolean verify(byte[] publicKey, byte[] message, byte[] signature) {
    if (publicKey == null || publicKey.length != PUBLIC_KEY_SIZE
        || signature == null || signature.length != SIGNATURE_SIZE) {
      return false;
    }
    return org.bouncycastle.math.ec.rfc8032.Ed25519.verify(
        signature, 0, publicKey, 0, message, 0, message.length);
  }

  /**
   * A public key decoded once for repeated verification. Decoding the point is a large share of
   * a verification, so callers that verify many signatures by one key keep one of these.
   */
  public static final class Verifier {
    private final org.bouncycastle.math.ec.rfc8032.Ed25519.PublicPoint point;

    private Verifier(org.bouncycastle.math.ec.rfc8032.Ed25519.PublicPoint point) {
      this.point = point;
    }

    /** Same verdict as {@link Ed25519#verify(byte[], byte[], byte[])} for this key. */
    public boolean verify(byte[] message, byte[] signature) {
      if (point == null || signature == null || signature.length != SIGNATURE_SIZE) {
        return false;
      }
      return org.bouncycastle.math.ec.rfc8032.Ed25519.verify(
          signature, 0, point, message, 0, message.length);
    }
  }

  /** Decodes a public key for repeated verification; an invalid key verifies nothing. */
  public static Verifier verifier(byte[] publicKey) {
    if (publicKey == null || publicKey.length != PUBLIC_KEY_SIZE) {
      return new Verifier(null);
    }
    return new Verifier(
        org.bouncycastle.math.ec.rfc8032.Ed25519.validatePublicKeyFullExport(publicKey, 0));
  }

  /** A signing key pair; the secret half is kept inside and never printed. */
  public static final class KeyPair {
    private final byte[] secret;
    private final byte[] publicKey;

    private KeyPair(byte[] secret) {
      if (secret.length != SECRET_KEY_SIZE) {
        throw new IllegalArgumentException(
            String.format("Invalid Ed25519 secret key size %d; only 32-byte keys are supported",
                secret.length));
      }
      this.secret = secret.clone();
      this.publicKey = new byte[PUBLIC_KEY_SIZE];
      org.bouncycastle.math.ec.rfc8032.Ed25519.generatePublicKey(this.secret, 0, publicKey, 0);
    }

    public static KeyPair generate() {
      byte[] secret = new byte[SECRET_KEY_SIZE];
      RANDOM.nextBytes(secret);
      return new KeyPair(secret);
    }

    /** Rebuilds a key pair from its 32-byte secret seed. */
    public static KeyPair fromSecret(byte[] secret) {
      return new KeyPair(secret);
    }

    public byte[] publicKey() {
      return publicKey.clone();
    }

    public String keyId() {
      return Ed25519.keyId(publicKey);
    }

    public byte[] sign(byte[] message) {
      byte[] sig = new byte[SIGNATURE_SIZE];
      org.bouncycastle.math.ec.rfc8032.Ed25519.sign(secret, 0, message, 0, message.length, sig, 0);
      return sig;
    }

    /** The secret seed, for writing an encrypted or permission-restricted key file. */
    public byte[] exportSecret() {
      return secret.clone();
    }

    /** Overwrites the secret seed in memory. */
    public void destroy() {
      Arrays.fill(secret, (byte) 0);
    }

    @Override
    public String toString() {
      return "Ed25519.KeyPair[" + keyId() + "]";
    }
  }

  /**
   * The key id of a public key: the first 16 bytes of SHA-256(public key), as 32 lower-case hex
   * characters.
   */
  public static String keyId(byte[] publicKey) {
    return Codec.hex(Arrays.copyOf(Sha256.hash(publicKey), 16));
  }
}
