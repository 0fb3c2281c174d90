package org.careledger.node.ordering;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.careledger.core.ledger.BlockProposal;
import org.careledger.core.ledger.Cosignature;
import org.careledger.core.tx.Transaction;
import org.careledger.node.LedgerService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit: admitted transactions wait here until the next proposal leaves. While up to
 * {@code maxInFlight} proposals are being ordered, new transactions accumulate, so the batch
 * size grows with the load and one synced Raft entry acknowledges many transactions. A proposal
 * also leaves at least {@code minIntervalMs} after the one before (the node's block interval,
 * zero for a node alone): each proposal becomes a block that every node signs, whose signatures
 * every other node checks, so many small blocks would spend the CPUs on blocks rather than
 * transactions (docs/benchmarks.md, "Block interval"). Both are asked for each proposal, as the
 * network's size may change. The node's cosignatures of blocks it applied travel in the same
 * proposals, or alone when there is no transaction to send.
 */
public final class Batcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Batcher.class);
  private static final int MAX_COSIGNATURES = 1000;

  private final String nodeName;
  private final BlockingQueue<Transaction> queue;
  private final RaftOrdering ordering;
  private final LedgerService ledger;
  private final int maxBatch;
  private final java.util.function.IntSupplier maxInFlight;
  private final java.util.function.LongSupplier minInterval;
  private final Object slots = new Object();
  /** Proposals sent and not answered yet; guarded by {@link #slots}. */
  private int inFlight;
  /** When the last proposal left; read and written by the batcher thread only. */
  private long lastSent;
  private final Thread thread;
  private volatile boolean running = true;

  public Batcher(String nodeName, RaftOrdering ordering, LedgerService ledger, int queueSize,
      int maxBatch, java.util.function.IntSupplier maxInFlight,
      java.util.function.LongSupplier minIntervalMs) {
    this.nodeName = nodeName;
    this.minInterval = minIntervalMs;
    this.ordering = ordering;
    this.ledger = ledger;
    this.queue = new ArrayBlockingQueue<>(queueSize);
    this.maxBatch = maxBatch;
    this.maxInFlight = maxInFlight;
    this.thread = new Thread(this::run, "batcher");
    this.thread.setDaemon(true);
  }

  public void start() {
    thread.start();
  }

  /** Queues an admitted transaction; false if the queue is full (the node is overloaded). */
  public boolean offer(Transaction tx) {
    return running && queue.offer(tx);
  }

  private void run() {
    List<Transaction> batch = new ArrayList<>(maxBatch);
    while (running) {
      try {
        Transaction first = queue.poll(50, TimeUnit.MILLISECONDS);
        List<Cosignature> cosigs = ledger.takeCosignatures(MAX_COSIGNATURES);
        if (first == null && cosigs.isEmpty()) {
          continue;
        }
        acquireSlot();
        long wait = minInterval.getAsLong() - (System.currentTimeMillis() - lastSent);
        if (wait > 0 && queue.size() < maxBatch) {
          Thread.sleep(wait);
          cosigs.addAll(ledger.takeCosignatures(MAX_COSIGNATURES - cosigs.size()));
        }
        lastSent = System.currentTimeMillis();
        if (first != null) {
          batch.add(first);
          queue.drainTo(batch, maxBatch - 1);
        }
        List<byte[]> bytes = new ArrayList<>(batch.size());
        List<byte[]> ids = new ArrayList<>(batch.size());
        for (Transaction tx : batch) {
          bytes.add(tx.bytes());
          ids.add(tx.id());
        }
        batch.clear();
        byte[] proposal = new BlockProposal(System.currentTimeMillis(), ledger.nodeKeyId(), bytes,
            cosigs).encode();
        ordering.propose(proposal).whenComplete((ok, err) -> {
          releaseSlot();
          if (err != null) {
            LOG.warn("{}: a proposal of {} transactions was not ordered: {}", nodeName,
                ids.size(), err.getClass().getSimpleName());
            ledger.abandon(ids, err);
            ledger.returnCosignatures(cosigs);
          }
        });
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void acquireSlot() throws InterruptedException {
    synchronized (slots) {
      while (inFlight >= maxInFlight.getAsInt()) {
        slots.wait(50);
      }
      inFlight++;
    }
  }

  private void releaseSlot() {
    synchronized (slots) {
      inFlight--;
      slots.notifyAll();
    }
  }

  @Override
  public void close() {
    running = false;
    thread.interrupt();
    List<Transaction> left = new ArrayList<>();
    queue.drainTo(left);
    ledger.abandon(left.stream().map(Transaction::id).toList(),
        new IllegalStateException("node is stopping"));
  }
}
