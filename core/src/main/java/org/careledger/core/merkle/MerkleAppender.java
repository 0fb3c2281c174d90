package org.careledger.core.merkle;

import java.util.ArrayList;
import java.util.List;

/**
 * Appends leaves to a log and reports the perfect-subtree nodes each append completes, so a store
 * can persist them. Holds the log's compact range (one node per set bit of the size) in memory.
 *
 * <p>Not thread-safe: one writer appends; readers use {@link MerkleTree} over the persisted nodes.
 */
public final class MerkleAppender {
  /** A node completed by an append; the caller persists it. */
  public record Node(int level, long index, byte[] hash) {}

  // frontier[level] is the pending left child at that level, or null
  private final byte[][] frontier = new byte[64][];
  private long size;

  private MerkleAppender(long size) {
    this.size = size;
  }

  public static MerkleAppender empty() {
    return new MerkleAppender(0);
  }

  /** Restores the compact range of a log of {@code size} leaves from its stored nodes. */
  public static MerkleAppender restore(long size, NodeReader reader) {
    MerkleAppender a = new MerkleAppender(size);
    long start = 0;
    for (int level = 63; level >= 0; level--) {
      if ((size & (1L << level)) != 0) {
        a.frontier[level] = reader.node(level, start >>> level);
        start += 1L << level;
      }
    }
    return a;
  }

  public long size() {
    return size;
  }

  /** Appends a leaf hash; returns every node it completes, the leaf itself first. */
  public List<Node> append(byte[] leafHash) {
    List<Node> completed = new ArrayList<>(4);
    long index = size;
    byte[] h = leafHash;
    int level = 0;
    completed.add(new Node(0, index, h));
    while ((index & 1) == 1) {
      h = MerkleHash.node(frontier[level], h);
      frontier[level] = null;
      level++;
      index >>>= 1;
      completed.add(new Node(level, index, h));
    }
    frontier[level] = h;
    size++;
    return completed;
  }

  /** The root of the log as it stands. */
  public byte[] root() {
    if (size == 0) {
      return MerkleHash.emptyRoot();
    }
    byte[] r = null;
    for (int level = 0; level < 64; level++) {
      if (frontier[level] != null) {
        r = r == null ? frontier[level] : MerkleHash.node(frontier[level], r);
      }
    }
    return r;
  }
}
