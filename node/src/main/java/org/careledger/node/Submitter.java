package org.careledger.node;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.careledger.core.tx.Refusal;
import org.careledger.core.tx.Transaction;
import org.careledger.node.ordering.Batcher;
import org.careledger.node.store.LedgerStore;

/**
 * Admits a transaction and queues it for ordering; the one path by which the JSON API and the
 * node's own services (the FHIR vault) put transactions on the ledger. Thread-safe.
 */
public final class Submitter {
  private final LedgerService ledger;
  private final Batcher batcher;

  public Submitter(LedgerService ledger, Batcher batcher) {
    this.ledger = ledger;
    this.batcher = batcher;
  }

  public LedgerService ledger() {
    return ledger;
  }

  /** Why a transaction was not queued: a refusal, or an overloaded node. */
  public static final class NotQueued extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient Refusal refusalOrNull;

    NotQueued(Refusal refusalOrNull, String message) {
      super(message, null, false, false);
      this.refusalOrNull = refusalOrNull;
    }

    /** The refusal, or null when the node is overloaded. */
    public Refusal refusalOrNull() {
      return refusalOrNull;
    }
  }

  /**
   * Admits {@code tx}, attaches this node's private rows to it (written with its block, or
   * dropped if it is refused), and queues it. The future completes when it is committed or
   * refused during execution.
   */
  public CompletableFuture<LedgerService.Outcome> submit(Transaction tx,
      List<LedgerStore.Write> privateWrites) throws NotQueued {
    LedgerService.Admission a = ledger.admit(tx, System.currentTimeMillis());
    if (a instanceof LedgerService.Admission.Refused r) {
      throw new NotQueued(r.refusal(), r.refusal().detail());
    }
    CompletableFuture<LedgerService.Outcome> outcome =
        ((LedgerService.Admission.Admitted) a).outcome();
    if (!privateWrites.isEmpty()) {
      ledger.attachPrivateWrites(tx.id(), privateWrites);
    }
    if (!batcher.offer(tx)) {
      ledger.abandon(List.of(tx.id()), new IllegalStateException("overloaded"));
      throw new NotQueued(null, "too many transactions are waiting to be ordered");
    }
    return outcome;
  }
}
