package org.careledger.core.merkle;

import java.security.MessageDigest;
import java.util.List;

/**
 * Verifies RFC 9162 inclusion (section 2.1.3.2) and consistency (section 2.1.4.2) proofs. Every
 * method returns false rather than throwing for any malformed input. A consistency proof from the
 * empty tree is refused: it proves nothing.
 */
public final class MerkleVerifier {
  private MerkleVerifier() {}

  public static boolean verifyInclusion(
      byte[] leafHash, long index, long size, List<byte[]> proof, byte[] root) {
    if (leafHash == null || root == null || proof == null || index < 0 || index >= size
        || !allHashes(proof) || leafHash.length != 32 || root.length != 32) {
      return false;
    }
    long fn = index;
    long sn = size - 1;
    byte[] r = leafHash;
    for (byte[] p : proof) {
      if (sn == 0) {
        return false;
      }
      if ((fn & 1) == 1 || fn == sn) {
        r = MerkleHash.node(p, r);
        if ((fn & 1) == 0) {
          while ((fn & 1) == 0 && fn != 0) {
            fn >>>= 1;
            sn >>>= 1;
          }
        }
      } else {
        r = MerkleHash.node(r, p);
      }
      fn >>>= 1;
      sn >>>= 1;
    }
    return sn == 0 && MessageDigest.isEqual(r, root);
  }

  public static boolean verifyConsistency(
      long first, long second, byte[] firstRoot, byte[] secondRoot, List<byte[]> proof) {
    if (firstRoot == null || secondRoot == null || proof == null || first <= 0
        || first > second) {
      return false;
    }
    if (first == second) {
      return proof.isEmpty() && MessageDigest.isEqual(firstRoot, secondRoot);
    }
    if (!allHashes(proof) || firstRoot.length != 32 || secondRoot.length != 32) {
      return false;
    }
    if (proof.isEmpty()) {
      return false;
    }
    int start = 0;
    byte[] fr;
    byte[] sr;
    if (Long.bitCount(first) == 1) {
      fr = firstRoot;
      sr = firstRoot;
    } else {
      fr = proof.get(0);
      sr = proof.get(0);
      start = 1;
    }
    long fn = first - 1;
    long sn = second - 1;
    while ((fn & 1) == 1) {
      fn >>>= 1;
      sn >>>= 1;
    }
    for (int i = start; i < proof.size(); i++) {
      byte[] c = proof.get(i);
      if (sn == 0) {
        return false;
      }
      if ((fn & 1) == 1 || fn == sn) {
        fr = MerkleHash.node(c, fr);
        sr = MerkleHash.node(c, sr);
        if ((fn & 1) == 0) {
          while ((fn & 1) == 0 && fn != 0) {
            fn >>>= 1;
            sn >>>= 1;
          }
        }
      } else {
        sr = MerkleHash.node(sr, c);
      }
      fn >>>= 1;
      sn >>>= 1;
    }
    return sn == 0 && MessageDigest.isEqual(fr, firstRoot) && MessageDigest.isEqual(sr, secondRoot);
  }

  /**
   * True if [start, end) is a valid subtree: 0 <= start < end and start is a multiple of the
   * smallest power of two that is at least end - start. Such a subtree has the shape of a whole
   * tree of end - start leaves.
   */
  static boolean validSubtree(long start, long end) {
    if (start < 0 || end <= start) {
      return false;
    }
    long width = end - start;
    long ceil = Long.bitCount(width) == 1 ? width : Long.highestOneBit(width) << 1;
    return start % ceil == 0;
  }

  /**
   * Inclusion of a leaf in the subtree [start, end) whose hash is {@code subtreeRoot} (the
   * subtree proofs of Merkle Tree Certificates): the ordinary inclusion check of leaf
   * {@code index - start} in a tree of {@code end - start} leaves.
   */
  public static boolean verifySubtreeInclusion(byte[] leafHash, long index, long start, long end,
      List<byte[]> proof, byte[] subtreeRoot) {
    if (!validSubtree(start, end) || index < start || index >= end) {
      return false;
    }
    return verifyInclusion(leafHash, index - start, end - start, proof, subtreeRoot);
  }

  /**
   * Consistency of the subtree [start, end), hash {@code subtreeRoot}, with the tree of
   * {@code size} leaves and root {@code root}: the RFC 9162 consistency check run in the
   * coordinates of the whole tree, where siblings left of the subtree count only towards the
   * root. With start = 0 it is the ordinary consistency check. The empty subtree (start = end,
   * hash SHA-256("")) is consistent with every tree given an empty proof.
   */
  public static boolean verifySubtreeConsistency(long start, long end, long size,
      byte[] subtreeRoot, byte[] root, List<byte[]> proof) {
    if (subtreeRoot == null || root == null || proof == null) {
      return false;
    }
    if (start == end) {
      // the empty subtree is part of every tree (transparency-dev/merkle's convention)
      return start >= 0 && end <= size && proof.isEmpty()
          && MessageDigest.isEqual(subtreeRoot, MerkleHash.emptyRoot());
    }
    if (!validSubtree(start, end) || end > size) {
      return false;
    }
    if (start == 0) {
      return verifyConsistency(end, size, subtreeRoot, root, proof);
    }
    if (!allHashes(proof) || subtreeRoot.length != 32 || root.length != 32 || proof.isEmpty()) {
      return false;
    }
    long width = end - start;
    int subtreeLevels = 64 - Long.numberOfLeadingZeros(width - 1);
    int i = 0;
    byte[] fr;
    byte[] sr;
    if (Long.bitCount(width) == 1) {
      fr = subtreeRoot;
      sr = subtreeRoot;
    } else {
      fr = proof.get(0);
      sr = proof.get(0);
      i = 1;
    }
    long fn = end - 1;
    long sn = size - 1;
    int level = 0;
    while ((fn & 1) == 1) {
      fn >>>= 1;
      sn >>>= 1;
      level++;
    }
    for (; i < proof.size(); i++) {
      byte[] c = proof.get(i);
      if (sn == 0) {
        return false;
      }
      if ((fn & 1) == 1 || fn == sn) {
        if ((fn & 1) == 0) {
          while ((fn & 1) == 0 && fn != 0) {
            fn >>>= 1;
            sn >>>= 1;
            level++;
          }
        }
        if (level < subtreeLevels) {
          fr = MerkleHash.node(c, fr);
        }
        sr = MerkleHash.node(c, sr);
      } else {
        sr = MerkleHash.node(sr, c);
      }
      fn >>>= 1;
      sn >>>= 1;
      level++;
    }
    return sn == 0 && MessageDigest.isEqual(fr, subtreeRoot) && MessageDigest.isEqual(sr, root);
  }

  private static boolean allHashes(List<byte[]> proof) {
    for (byte[] p : proof) {
      if (p == null || p.length != 32) {
        return false;
      }
    }
    return true;
  }
}
