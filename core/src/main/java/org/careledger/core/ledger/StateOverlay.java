package org.careledger.core.ledger;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Writes layered over a {@link StateView}: reads see the writes first. A transaction executes in
 * its own overlay, which is merged into the block's overlay only if the transaction is accepted.
 * Not thread-safe.
 */
public final class StateOverlay implements StateView {
  private final StateView base;
  private final TreeMap<String, byte[]> writes = new TreeMap<>();

  public StateOverlay(StateView base) {
    this.base = base;
  }

  @Override
  public byte[] getOrNull(String key) {
    byte[] v = writes.get(key);
    return v != null ? v : base.getOrNull(key);
  }

  public void put(String key, byte[] value) {
    if (value == null) {
      throw new IllegalArgumentException("null value for " + key);
    }
    writes.put(key, value);
  }

  /** Copies this overlay's writes into {@code target}. */
  public void mergeInto(StateOverlay target) {
    target.writes.putAll(writes);
  }

  /** The writes, sorted by key. */
  public SortedMap<String, byte[]> writes() {
    return Collections.unmodifiableSortedMap(writes);
  }
}
