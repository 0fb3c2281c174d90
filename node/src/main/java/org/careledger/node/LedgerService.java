package org.careledger.node;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.careledger.core.ledger.Block;
import org.careledger.core.ledger.BlockProposal;
import org.careledger.core.ledger.Ledger;
import org.careledger.core.ledger.TxResult;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.merkle.MerkleAppender;
import org.careledger.core.merkle.MerkleTree;
import org.careledger.core.tx.Refusal;
import org.careledger.core.tx.Transaction;
import org.careledger.core.tx.TxCodec;
import org.careledger.node.store.LedgerStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's ledger: admission checks on the way in, block application on the way out of Raft,
 * and the futures that tell submitters what became of their transactions.
 *
 * <p>{@link #admit} is called from many threads. {@link #apply} is called by the Raft state
 * machine, one entry at a time in log order; it is the only writer of the store.
 */
public final class LedgerService {
  private static final Logger LOG = LoggerFactory.getLogger(LedgerService.class);
  private static final int VERIFIED_CACHE_LIMIT = 1_000_000;

  /** What became of a submitted transaction. */
  public record Outcome(TxResult result, long height) {}

  /** A recent block with its canonical bytes, kept for receipts. */
  public record RecentBlock(Block block, byte[] canonical) {}

  private static final int RECENT_BLOCKS = 64;
  private static final int VERIFIER_CACHE_LIMIT = 100_000;

  private final String nodeName;
  private final LedgerStore store;
  private final Ed25519.KeyPair nodeKey;
  private final Ledger admission;
  private final Ledger execution;
  private final MerkleTree tree;
  private final Set<ByteBuffer> verified = ConcurrentHashMap.newKeySet();
  private final ConcurrentHashMap<ByteBuffer, Pending> pending = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Ed25519.Verifier> verifiers = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Long, RecentBlock> recent = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<ByteBuffer, List<LedgerStore.Write>> privateWrites =
      new ConcurrentHashMap<>();

  private record Pending(Transaction tx, CompletableFuture<Outcome> outcome) {}
  private MerkleAppender appender;
  private volatile Block latest;

  private LedgerService(String nodeName, LedgerStore store, Ed25519.KeyPair nodeKey,
      String chain) {
    this.nodeName = nodeName;
    this.store = store;
    this.nodeKey = nodeKey;
    this.admission = new Ledger(chain, (tx, pk) -> {
      boolean ok = verifier(tx.signer(), pk).verify(tx.signedBytes(), tx.signature());
      if (ok && verified.size() < VERIFIED_CACHE_LIMIT) {
        verified.add(ByteBuffer.wrap(tx.id()));
      }
      return ok;
    });
    // a signature this node checked at admission need not be checked again when it is applied:
    // the key id is a hash of the key, so the same id always names the same public key
    this.execution = new Ledger(chain, (tx, pk) -> verified.remove(ByteBuffer.wrap(tx.id()))
        || verifier(tx.signer(), pk).verify(tx.signedBytes(), tx.signature()));
    this.tree = new MerkleTree(store.nodes());
  }

  private Ed25519.Verifier verifier(String keyId, byte[] publicKey) {
    // the key id is a hash of the public key, so a cached entry can never be for another key
    Ed25519.Verifier v = verifiers.get(keyId);
    if (v == null) {
      if (verifiers.size() > VERIFIER_CACHE_LIMIT) {
        verifiers.clear();
      }
      v = Ed25519.verifier(publicKey);
      verifiers.put(keyId, v);
    }
    return v;
  }

  /** A recent block from memory, or from the store. */
  public RecentBlock block(long height) {
    RecentBlock r = recent.get(height);
    if (r == null) {
      Block b = store.block(height);
      return b == null ? null : new RecentBlock(b, store.blockBytes(height));
    }
    return r;
  }

  private void remember(Block b) {
    long h = b.header().height();
    recent.put(h, new RecentBlock(b, b.canonicalBytes()));
    recent.remove(h - RECENT_BLOCKS);
  }

  /**
   * Opens the ledger in {@code store}, writing block 0 from the genesis transaction if the store
   * is empty.
   */
  public static LedgerService open(String nodeName, LedgerStore store, byte[] genesisTx,
      Ed25519.KeyPair nodeKey) throws IOException {
    MerkleAppender appender;
    String chain;
    if (store.height() < 0) {
      appender = MerkleAppender.empty();
      Ledger.Genesis g = Ledger.genesis(genesisTx, appender);
      store.commitBlock(Block.sign(g.block().header(), nodeKey), g.block().accepted(),
          g.block().writes(), g.block().nodes(), -1);
      chain = g.ledger().chain();
      LOG.info("{}: wrote genesis block of chain {}", nodeName, chain);
    } else {
      appender = MerkleAppender.restore(store.logSize(), store.nodes());
      chain = store.block(0).header().chain();
    }
    LedgerService s = new LedgerService(nodeName, store, nodeKey, chain);
    s.appender = appender;
    s.latest = store.block(store.height());
    s.remember(s.latest);
    return s;
  }

  public String chain() {
    return admission.chain();
  }

  public LedgerStore store() {
    return store;
  }

  public MerkleTree tree() {
    return tree;
  }

  public Block latest() {
    return latest;
  }

  public String nodeKeyId() {
    return nodeKey.keyId();
  }

  /**
   * Checks a transaction against the latest state and the local clock and, if it passes,
   * registers a future for its outcome. Returns a refusal instead when it does not pass.
   */
  public Admission admit(Transaction tx, long now) {
    ByteBuffer id = ByteBuffer.wrap(tx.id());
    if (store.leafOf(tx.id()) >= 0) {
      return new Admission.Refused(Refusal.of(Refusal.Reason.DUPLICATE,
          "transaction " + tx.idHex() + " is already committed"));
    }
    switch (admission.check(tx, store.state(), now)) {
      case Ledger.Checked.Refused r -> {
        return new Admission.Refused(r.refusal());
      }
      case Ledger.Checked.Ok ok -> {
        CompletableFuture<Outcome> f = new CompletableFuture<>();
        if (pending.putIfAbsent(id, new Pending(tx, f)) != null) {
          return new Admission.Refused(Refusal.of(Refusal.Reason.DUPLICATE,
              "transaction " + tx.idHex() + " is already being ordered"));
        }
        return new Admission.Admitted(f);
      }
    }
  }

  /** The result of {@link #admit}. */
  public sealed interface Admission {
    record Admitted(CompletableFuture<Outcome> outcome) implements Admission {}

    record Refused(Refusal refusal) implements Admission {}
  }

  /**
   * Attaches node-private rows (vault, FHIR index) to an admitted transaction: they are written
   * in the same atomic batch as the block that commits it, and dropped if it is refused. They
   * never leave this node.
   */
  public void attachPrivateWrites(byte[] txId, List<LedgerStore.Write> writes) {
    privateWrites.put(ByteBuffer.wrap(txId), List.copyOf(writes));
  }

  /** Fails the futures of transactions that could not be ordered. */
  public void abandon(List<byte[]> txIds, Throwable cause) {
    for (byte[] id : txIds) {
      privateWrites.remove(ByteBuffer.wrap(id));
      Pending p = pending.remove(ByteBuffer.wrap(id));
      if (p != null) {
        p.outcome().completeExceptionally(cause);
      }
    }
  }

  /** The applied Raft index recorded in the store. */
  public long appliedIndex() {
    return store.appliedIndex();
  }

  /**
   * Applies one ordered proposal as the next block and completes the futures of its
   * transactions. Entries at or below the stored applied index were applied before a restart
   * and are skipped.
   */
  public void apply(BlockProposal proposal, long raftIndex) throws IOException {
    if (raftIndex <= store.appliedIndex()) {
      return;
    }
    Block prev = latest;
    long height = prev.header().height() + 1;
    Ledger.BlockResult r = execution.executeBlock(store.state(), proposal, height,
        prev.header().hash(), prev.header().time(), appender, bytes -> {
          // reuse what admission decoded; the id binds the bytes, so it is the same transaction
          Pending p = pending.get(ByteBuffer.wrap(org.careledger.core.crypto.Sha256.hash(bytes)));
          return p != null ? new TxCodec.Decoded.Ok(p.tx()) : TxCodec.decode(bytes);
        });
    List<LedgerStore.Write> rows = new java.util.ArrayList<>();
    for (TxResult res : r.results()) {
      byte[] id = switch (res) {
        case TxResult.Committed c -> c.txId();
        case TxResult.Refused f -> f.txId();
      };
      List<LedgerStore.Write> w = id == null ? null : privateWrites.remove(ByteBuffer.wrap(id));
      if (w != null && res instanceof TxResult.Committed) {
        rows.addAll(w);
      }
    }
    Block block = null;
    try {
      if (r.header() != null) {
        block = Block.sign(r.header(), nodeKey);
        store.commitBlock(block, r.accepted(), r.writes(), r.nodes(), raftIndex, rows);
        remember(block);
        latest = block;
      } else {
        store.markApplied(raftIndex);
      }
    } catch (IOException | RuntimeException e) {
      // the appender already holds this block's leaves; rebuild it from what was stored
      appender = MerkleAppender.restore(store.logSize(), store.nodes());
      throw e;
    }
    long h = block == null ? -1 : height;
    for (TxResult res : r.results()) {
      byte[] id = switch (res) {
        case TxResult.Committed c -> c.txId();
        case TxResult.Refused f -> f.txId();
      };
      if (id == null) {
        continue;
      }
      Pending p = pending.remove(ByteBuffer.wrap(id));
      if (p != null) {
        p.outcome().complete(new Outcome(res, res instanceof TxResult.Committed ? h : -1));
      }
    }
  }

  @Override
  public String toString() {
    return nodeName;
  }
}
