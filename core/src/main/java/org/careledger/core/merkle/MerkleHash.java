package org.careledger.core.merkle;

import org.careledger.core.crypto.Sha256;

/** RFC 9162 section 2.1.1 hashing: leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || l || r). */
public final class MerkleHash {
  public static final byte LEAF_PREFIX = 0x00;
  public static final byte NODE_PREFIX = 0x01;

  private MerkleHash() {}

  public static byte[] leaf(byte[] data) {
    return Sha256.hash(LEAF_PREFIX, data);
  }

  public static byte[] node(byte[] left, byte[] right) {
    return Sha256.hash(NODE_PREFIX, left, right);
  }

  /** The root of the empty tree: SHA-256 of the empty string. */
  public static byte[] emptyRoot() {
    return Sha256.hash(new byte[0]);
  }

  /** The largest power of two strictly less than n (n >= 2). */
  static long splitPoint(long n) {
    return Long.highestOneBit(n - 1);
  }
}
