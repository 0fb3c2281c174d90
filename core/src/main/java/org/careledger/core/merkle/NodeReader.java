package org.careledger.core.merkle;

/**
 * Read access to the stored perfect subtrees of a log. The node at ({@code level}, {@code index})
 * is the root of the perfect subtree over leaves [index * 2^level, (index + 1) * 2^level); level 0
 * holds the leaf hashes.
 *
 * <p>Implementations must be safe to call from several threads and must return a node only once
 * every leaf under it has been appended.
 */
@FunctionalInterface
public interface NodeReader {
  /**
   * Returns the 32-byte hash of the node.
   *
   * @throws IllegalStateException if the node is not stored (a bug or a damaged store)
   */
  byte[] node(int level, long index);
}
