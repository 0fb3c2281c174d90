package org.careledger.core.merkle;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MerklePropertiesTest {
  private static final int MAX = 4096;
  private static MemoryNodeStore store;
  private static MerkleTree tree;
  private static final List<byte[]> roots = new ArrayList<>();
  private static final List<byte[]> leaves = new ArrayList<>();

  @BeforeAll
  static void buildLog() {
    store = new MemoryNodeStore();
    MerkleAppender appender = MerkleAppender.empty();
    roots.add(appender.root());
    for (int i = 0; i < MAX; i++) {
      byte[] leaf = MerkleHash.leaf(ByteBuffer.allocate(4).putInt(i).array());
      leaves.add(leaf);
      appender.append(leaf).forEach(store::put);
      roots.add(appender.root());
    }
    tree = new MerkleTree(store);
  }

  /** The RFC 9162 definition of MTH, computed naively, as the reference. */
  private static byte[] naiveRoot(List<byte[]> d) {
    if (d.size() == 1) {
      return d.get(0);
    }
    int k = Integer.highestOneBit(d.size() - 1);
    return MerkleHash.node(naiveRoot(d.subList(0, k)), naiveRoot(d.subList(k, d.size())));
  }

  @Test
  void appenderRootsEqualTheNaiveDefinitionAndTheStoredTree() {
    for (int n = 1; n <= 600; n++) {
      assertThat(roots.get(n)).isEqualTo(naiveRoot(leaves.subList(0, n)));
      assertThat(tree.root(n)).isEqualTo(roots.get(n));
    }
    assertThat(tree.root(MAX)).isEqualTo(naiveRoot(leaves));
  }

  @Test
  void everyInclusionProofVerifiesForAllIndicesAndSizesUpTo256() {
    for (int n = 1; n <= 256; n++) {
      for (int i = 0; i < n; i++) {
        List<byte[]> p = tree.inclusionProof(i, n);
        assertThat(MerkleVerifier.verifyInclusion(leaves.get(i), i, n, p, roots.get(n)))
            .as("leaf %d of %d", i, n).isTrue();
      }
    }
  }

  @Test
  void everyConsistencyProofVerifiesForAllSizePairsUpTo200() {
    for (int n = 1; n <= 200; n++) {
      for (int m = 1; m <= n; m++) {
        List<byte[]> p = tree.consistencyProof(m, n);
        assertThat(MerkleVerifier.verifyConsistency(m, n, roots.get(m), roots.get(n), p))
            .as("%d to %d", m, n).isTrue();
      }
    }
  }

  /** A copy of the proof with one bit of one element flipped. */
  private static List<byte[]> flipBit(List<byte[]> proof, int bit) {
    List<byte[]> bad = new ArrayList<>(proof);
    int which = bit % proof.size();
    byte[] h = bad.get(which).clone();
    h[bit / 8] ^= (byte) (1 << (bit % 8));
    bad.set(which, h);
    return bad;
  }

  @Property(tries = 3000)
  void inclusionVerifiesAndFailsWhenMutated(@ForAll @IntRange(min = 1, max = MAX) int size,
      @ForAll @IntRange(min = 0, max = MAX - 1) int rawIndex,
      @ForAll @IntRange(min = 0, max = 255) int bit) {
    int index = rawIndex % size;
    List<byte[]> p = tree.inclusionProof(index, size);
    assertThat(p.size()).isLessThanOrEqualTo(64 - Long.numberOfLeadingZeros(size));
    assertThat(MerkleVerifier.verifyInclusion(leaves.get(index), index, size, p, roots.get(size)))
        .isTrue();
    if (!p.isEmpty()) {
      List<byte[]> bad = flipBit(p, bit);
      assertThat(MerkleVerifier.verifyInclusion(leaves.get(index), index, size, bad,
          roots.get(size))).isFalse();
    }
    if (size < MAX) {
      // the proof binds the leaf to this root only; the root of the next size must not match
      assertThat(MerkleVerifier.verifyInclusion(leaves.get(index), index, size + 1, p,
          roots.get(size + 1))).isFalse();
    }
    if (size > 1) {
      int other = (index + 1) % size;
      assertThat(MerkleVerifier.verifyInclusion(leaves.get(other), index, size, p,
          roots.get(size))).isFalse();
    }
  }

  @Property(tries = 3000)
  void consistencyVerifiesAndFailsWhenMutated(@ForAll @IntRange(min = 1, max = MAX) int second,
      @ForAll @IntRange(min = 1, max = MAX) int rawFirst,
      @ForAll @IntRange(min = 0, max = 255) int bit) {
    int first = 1 + (rawFirst - 1) % second;
    List<byte[]> p = tree.consistencyProof(first, second);
    assertThat(MerkleVerifier.verifyConsistency(first, second, roots.get(first),
        roots.get(second), p)).isTrue();
    if (!p.isEmpty()) {
      List<byte[]> bad = flipBit(p, bit);
      assertThat(MerkleVerifier.verifyConsistency(first, second, roots.get(first),
          roots.get(second), bad)).isFalse();
      byte[] root = roots.get(second).clone();
      root[0] ^= 1;
      assertThat(MerkleVerifier.verifyConsistency(first, second, roots.get(first), root, p))
          .isFalse();
    }
  }
}
