package org.careledger.core.merkle;

import java.util.ArrayList;
import java.util.List;

/**
 * Perfect-subtree nodes held in memory, one growable list per level. Used to rebuild and check a
 * log from its leaves (verification) and in tests. Thread-safe for concurrent reads after writes
 * have completed; writes must come from one thread.
 */
public final class MemoryNodeStore implements NodeReader {
  private final List<List<byte[]>> levels = new ArrayList<>();

  public synchronized void put(MerkleAppender.Node node) {
    while (levels.size() <= node.level()) {
      levels.add(new ArrayList<>());
    }
    List<byte[]> level = levels.get(node.level());
    if (node.index() != level.size()) {
      throw new IllegalStateException(
          "node (" + node.level() + "," + node.index() + ") appended out of order");
    }
    level.add(node.hash());
  }

  @Override
  public synchronized byte[] node(int level, long index) {
    if (level >= levels.size() || index >= levels.get(level).size()) {
      throw new IllegalStateException("no node at level " + level + " index " + index);
    }
    return levels.get(level).get((int) index);
  }
}
