package org.careledger.core.ledger;

/**
 * Read access to ledger state: string keys, canonical-JSON values. Implementations return the
 * state as of one consistent point (the end of some block) for the whole life of the view.
 */
@FunctionalInterface
public interface StateView {
  /** The value stored under {@code key}, or null. */
  byte[] getOrNull(String key);
}
