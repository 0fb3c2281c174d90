package org.careledger.core.ledger;

import org.careledger.core.tx.Refusal;

/** What became of one transaction of a proposal. */
public sealed interface TxResult {
  /** Committed at {@code leafIndex} of the log. */
  record Committed(byte[] txId, long leafIndex) implements TxResult {}

  /** Refused; {@code txId} is null when the bytes were not a decodable transaction. */
  record Refused(byte[] txId, Refusal refusal) implements TxResult {}
}
