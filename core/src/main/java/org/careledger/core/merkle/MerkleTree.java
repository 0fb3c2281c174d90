package org.careledger.core.merkle;

import java.util.ArrayList;
import java.util.List;

/**
 * Roots and proofs of an RFC 9162 log whose perfect subtrees are stored (see {@link NodeReader}).
 * Every operation reads O(log n) stored nodes and never recomputes the tree.
 *
 * <p>Thread-safe if the reader is.
 */
public final class MerkleTree {
  private final NodeReader reader;

  public MerkleTree(NodeReader reader) {
    this.reader = reader;
  }

  /** MTH of the first {@code size} leaves. */
  public byte[] root(long size) {
    if (size < 0) {
      throw new IllegalArgumentException("Invalid tree size " + size + "; must be >= 0");
    }
    return size == 0 ? MerkleHash.emptyRoot() : hash(0, size);
  }

  /** MTH(D[a:b]) for 0 <= a < b. Aligned power-of-two ranges are read; others are combined. */
  byte[] hash(long a, long b) {
    long width = b - a;
    if (Long.bitCount(width) == 1 && a % width == 0) {
      return reader.node(Long.numberOfTrailingZeros(width), a / width);
    }
    long k = MerkleHash.splitPoint(width);
    return MerkleHash.node(hash(a, a + k), hash(a + k, b));
  }

  /** RFC 9162 section 2.1.3.1 inclusion proof for leaf {@code index} in the tree of {@code size}. */
  public List<byte[]> inclusionProof(long index, long size) {
    if (index < 0 || index >= size) {
      throw new IllegalArgumentException(
          "Invalid leaf index " + index + " for tree size " + size + "; need 0 <= index < size");
    }
    List<byte[]> path = new ArrayList<>(64);
    path(index, 0, size, path);
    return path;
  }

  private void path(long m, long a, long b, List<byte[]> out) {
    if (b - a == 1) {
      return;
    }
    long k = MerkleHash.splitPoint(b - a);
    if (m < a + k) {
      path(m, a, a + k, out);
      out.add(hash(a + k, b));
    } else {
      path(m, a + k, b, out);
      out.add(hash(a, a + k));
    }
  }

  /**
   * RFC 9162 section 2.1.4.1 consistency proof from {@code first} to {@code second} leaves.
   * Requires 0 < first <= second.
   */
  public List<byte[]> consistencyProof(long first, long second) {
    if (first <= 0 || first > second) {
      throw new IllegalArgumentException(
          "Invalid sizes " + first + " and " + second + "; need 0 < first <= second");
    }
    List<byte[]> path = new ArrayList<>(64);
    subproof(first, 0, second, true, path);
    return path;
  }

  private void subproof(long m, long a, long b, boolean complete, List<byte[]> out) {
    long n = b - a;
    if (m == n) {
      if (!complete) {
        out.add(hash(a, b));
      }
      return;
    }
    long k = MerkleHash.splitPoint(n);
    if (m <= k) {
      subproof(m, a, a + k, complete, out);
      out.add(hash(a + k, b));
    } else {
      subproof(m - k, a + k, b, false, out);
      out.add(hash(a, a + k));
    }
  }
}
