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

  private static boolean allHashes(List<byte[]> proof) {
    for (byte[] p : proof) {
      if (p == null || p.length != 32) {
        return false;
      }
    }
    return true;
  }
}
