package org.careledger.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.ledger.Block;
import org.careledger.core.ledger.BlockHeader;
import org.careledger.core.ledger.BlockProposal;
import org.careledger.core.ledger.Ledger;
import org.careledger.core.ledger.Membership;
import org.careledger.core.ledger.TxResult;
import org.careledger.core.merkle.MerkleAppender;
import org.careledger.core.merkle.MerkleHash;
import org.careledger.node.store.LedgerStore;

/**
 * Re-checks a stored ledger end to end, independently of how it was written: RocksDB block
 * checksums; then, block by block, the header chain, every transaction (decoded, signature,
 * validity, contract) by replaying it from the genesis, every log node, the log root, the state
 * writes digest and every node signature; and finally the whole stored state against the replay.
 * Stops at the first problem and names it.
 */
public final class LedgerVerifier {
  private LedgerVerifier() {}

  /** The verdict; {@code problem} is null when the ledger verified. */
  public record Report(long blocks, long transactions, byte[] logRoot, String problem) {
    public boolean ok() {
      return problem == null;
    }
  }

  private static final class Failure extends Exception {
    private static final long serialVersionUID = 1L;

    Failure(String message) {
      super(message, null, false, false);
    }
  }

  public static Report verify(Path dataDir) throws IOException {
    byte[] genesis = Files.readAllBytes(dataDir.resolve("genesis.json"));
    try (LedgerStore store = LedgerStore.openReadOnly(dataDir.resolve("ledger"))) {
      return verify(store, genesis);
    } catch (LedgerStore.CorruptLedgerException e) {
      return new Report(0, 0, null, "storage checksum failure: " + e.getMessage());
    }
  }

  public static Report verify(LedgerStore store, byte[] genesis) {
    long[] counts = new long[2];
    byte[][] root = new byte[1][];
    try (Signatures sigs = new Signatures()) {
      try {
        run(store, genesis, counts, root, sigs);
        return new Report(counts[0], counts[1], root[0], null);
      } catch (Failure f) {
        // a signature of this block or an earlier one that does not verify comes first; the
        // good blocks and transactions are those before its block
        Signatures.Failed earlier = sigs.firstFailedOrNull();
        return earlier == null ? new Report(counts[0], counts[1], null, f.getMessage())
            : new Report(earlier.block(), earlier.firstLeaf(), null, earlier.problem());
      }
    } catch (RuntimeException e) {
      return new Report(counts[0], counts[1], null,
          "storage could not be read (" + e.getMessage() + ") after block " + (counts[0] - 1));
    }
  }

  private static void run(LedgerStore store, byte[] genesis, long[] counts, byte[][] rootOut,
      Signatures sigs) throws Failure {
    String corruption = store.checksumProblemOrNull();
    if (corruption != null) {
      throw new Failure("storage checksum failure: " + corruption);
    }
    long height = store.height();
    if (height < 0) {
      throw new Failure("the ledger holds no genesis block");
    }
    Map<String, byte[]> state = new HashMap<>();
    MerkleAppender appender = MerkleAppender.empty();
    byte[] stored0 = store.txBytes(0);
    if (stored0 == null || !Arrays.equals(stored0, genesis)) {
      throw new Failure("block 0: the stored genesis transaction differs from genesis.json");
    }
    Ledger.Genesis g;
    try {
      g = Ledger.genesis(genesis, appender);
    } catch (IllegalArgumentException e) {
      throw new Failure("block 0: " + e.getMessage());
    }
    // every Ed25519 check runs on the pool beside the replay (Signatures); the replay decides,
    // in order, which key each signature must verify under
    Ledger ledger = new Ledger(g.ledger().chain(), sigs, Ledger.orgIds(g.command()));
    Block prev = checkBlock(store, 0, g.block(), state, null, sigs);
    counts[0] = 1;
    counts[1] = 1;
    for (long h = 1; h <= height; h++) {
      Block stored = readBlock(store, h);
      BlockHeader sh = stored.header();
      if (!Arrays.equals(sh.prev(), prev.header().hash())) {
        throw new Failure("block " + h + ": prev does not match the hash of block " + (h - 1));
      }
      if (sh.firstLeaf() != prev.header().logSize() || sh.txCount() < 1) {
        throw new Failure("block " + h + ": its transactions do not follow block " + (h - 1));
      }
      List<byte[]> txs = new ArrayList<>(sh.txCount());
      for (long leaf = sh.firstLeaf(); leaf < sh.logSize(); leaf++) {
        byte[] tx = store.txBytes(leaf);
        if (tx == null) {
          throw new Failure("block " + h + ": transaction at leaf " + leaf + " is missing");
        }
        byte[] storedLeaf = store.nodes().node(0, leaf);
        if (!Arrays.equals(storedLeaf, MerkleHash.leaf(tx))) {
          throw new Failure("block " + h + ": transaction at leaf " + leaf + " ("
              + Codec.hex(Sha256.hash(tx)) + ") does not match its log entry");
        }
        txs.add(tx);
      }
      sigs.atBlock(h, sh.firstLeaf(), txs);
      Ledger.BlockResult r = ledger.executeBlock(state::get,
          new BlockProposal(sh.time(), sh.proposer(), txs), h, prev.header().hash(),
          prev.header().time(), appender);
      for (int i = 0; i < r.results().size(); i++) {
        if (r.results().get(i) instanceof TxResult.Refused f) {
          throw new Failure("block " + h + ": transaction at leaf " + (sh.firstLeaf() + i)
              + " is not valid on replay: " + f.refusal().reason().code() + " ("
              + f.refusal().detail() + ")");
        }
      }
      prev = checkBlock(store, h, r, state, stored, sigs);
      counts[0]++;
      counts[1] += sh.txCount();
      sigs.throwIfFailed();
    }
    if (store.logSize() != prev.header().logSize()) {
      throw new Failure("ledger metadata: log size " + store.logSize()
          + " differs from the last block's " + prev.header().logSize());
    }
    TreeMap<String, byte[]> replayed = new TreeMap<>(state);
    String[] stateProblem = new String[1];
    int[] seen = new int[1];
    store.forEachState((k, v) -> {
      seen[0]++;
      byte[] want = replayed.get(k);
      if (stateProblem[0] == null && (want == null || !Arrays.equals(want, v))) {
        stateProblem[0] = "state entry '" + k + "' differs from the replay of the log";
      }
    });
    if (stateProblem[0] != null) {
      throw new Failure(stateProblem[0]);
    }
    if (seen[0] != replayed.size()) {
      throw new Failure("state is missing " + (replayed.size() - seen[0])
          + " entries that the replay of the log produces");
    }
    sigs.awaitAll();
    rootOut[0] = prev.header().logRoot();
  }

  /**
   * The Ed25519 checks, run on every core beside the replay. The replay asks, in order, whether
   * a transaction verifies under the key it chose, and whether a block signature verifies under
   * the node key it resolved; each check is queued on the pool with that very key, and the
   * replay goes on as if it verified. Every "no" of a real check leads to a refusal, and a
   * verified ledger holds no refused transaction, so the verdict is the same as checking each
   * in turn: the ledger verifies only once every queued check has said yes. The replay waits
   * for the oldest checks when too many are queued, and after each block reports a check that
   * failed; a failed check from the block of a replay problem, or an earlier one, is named
   * instead of that problem.
   */
  private static final class Signatures implements Ledger.SignatureCheck, AutoCloseable {
    private static final int WINDOW = 4096;
    private final java.util.concurrent.ExecutorService pool;
    private final java.util.ArrayDeque<Pending> pending = new java.util.ArrayDeque<>();
    private long block;
    private long firstLeaf;
    private List<byte[]> txs = List.of();
    private Failed failed;

    /** A check that said no: its block, that block's first leaf, and what to report. */
    record Failed(long block, long firstLeaf, String problem) {}

    /**
     * One queued check: of a transaction's signature ({@code tx}) or of a node signature on
     * the block's header ({@code nodeKeyId}); what to report is only worked out if it fails.
     */
    private record Pending(java.util.concurrent.Future<Boolean> ok, long block, long firstLeaf,
        List<byte[]> txs, org.careledger.core.tx.Transaction tx, String nodeKeyId) {
      Failed failed() {
        if (tx == null) {
          return new Failed(block, firstLeaf, "block " + block + ": signature by node key "
              + nodeKeyId + " does not verify");
        }
        String leaf = "?";
        for (int i = 0; i < txs.size(); i++) {
          if (Arrays.equals(Sha256.hash(txs.get(i)), tx.id())) {
            leaf = Long.toString(firstLeaf + i);
          }
        }
        return new Failed(block, firstLeaf, "block " + block + ": transaction at leaf " + leaf
            + " is not valid on replay: bad-signature (signature does not verify with key "
            + tx.signer() + ")");
      }
    }

    Signatures() {
      java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
      pool = java.util.concurrent.Executors.newFixedThreadPool(
          Math.max(1, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "verify-signatures-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
          });
    }

    /** The block the replay is at, and its transactions, for naming a failed check. */
    void atBlock(long h, long firstLeaf, List<byte[]> txs) {
      block = h;
      this.firstLeaf = firstLeaf;
      this.txs = txs;
    }

    @Override
    public boolean verify(org.careledger.core.tx.Transaction tx, byte[] publicKey) {
      queue(publicKey, tx.signedBytes(), tx.signature(), tx, null);
      return true;
    }

    /** A node signature on the current block's header. */
    void nodeSignature(byte[] publicKey, byte[] header, byte[] sig, String keyId) {
      queue(publicKey, header, sig, null, keyId);
    }

    private void queue(byte[] publicKey, byte[] message, byte[] sig,
        org.careledger.core.tx.Transaction tx, String nodeKeyId) {
      pending.add(new Pending(pool.submit(
          () -> org.careledger.core.crypto.Ed25519.verify(publicKey, message, sig)), block,
          firstLeaf, txs, tx, nodeKeyId));
      while (pending.size() > WINDOW) {
        settle(pending.poll());
      }
    }

    private void settle(Pending p) {
      boolean ok;
      try {
        ok = p.ok().get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while checking signatures", e);
      } catch (java.util.concurrent.ExecutionException e) {
        ok = false;
      }
      if (!ok && failed == null) {
        failed = p.failed();
      }
    }

    /** Reports a check that has already failed. */
    void throwIfFailed() throws Failure {
      while (!pending.isEmpty() && pending.peek().ok().isDone()) {
        settle(pending.poll());
      }
      if (failed != null) {
        throw new Failure(failed.problem());
      }
    }

    /** Waits for every queued check and reports the first, in log order, that failed. */
    void awaitAll() throws Failure {
      if (firstFailedOrNull() != null) {
        throw new Failure(failed.problem());
      }
    }

    Failed firstFailedOrNull() {
      while (!pending.isEmpty()) {
        settle(pending.poll());
      }
      return failed;
    }

    @Override
    public void close() {
      pool.shutdownNow();
    }
  }

  private static Block readBlock(LedgerStore store, long h) throws Failure {
    try {
      Block b = store.block(h);
      if (b == null) {
        throw new Failure("block " + h + " is missing");
      }
      return b;
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new Failure("block " + h + " cannot be decoded");
    }
  }

  /** Compares a replayed block with the stored one and applies its writes to the replay state. */
  private static Block checkBlock(LedgerStore store, long h, Ledger.BlockResult r,
      Map<String, byte[]> state, Block storedOrNull, Signatures sigs) throws Failure {
    Block stored = storedOrNull != null ? storedOrNull : readBlock(store, h);
    BlockHeader want = r.header();
    BlockHeader got = stored.header();
    if (!Arrays.equals(want.logRoot(), got.logRoot()) || want.logSize() != got.logSize()) {
      throw new Failure("block " + h + ": log root does not match the replayed log");
    }
    if (!Arrays.equals(want.stateWrites(), got.stateWrites())) {
      throw new Failure("block " + h + ": state writes digest does not match the replay");
    }
    if (!Arrays.equals(want.canonicalBytes(), got.canonicalBytes())) {
      throw new Failure("block " + h + ": header differs from the replay");
    }
    for (MerkleAppender.Node n : r.nodes()) {
      byte[] s;
      try {
        s = store.nodes().node(n.level(), n.index());
      } catch (IllegalStateException e) {
        throw new Failure("block " + h + ": log node (" + n.level() + "," + n.index()
            + ") is missing");
      }
      if (!Arrays.equals(s, n.hash())) {
        throw new Failure("block " + h + ": log node (" + n.level() + "," + n.index()
            + ") differs from the replay");
      }
    }
    state.putAll(r.writes());
    // a block may carry no signature: a node that joined the network later does not sign the
    // blocks from before it joined; every signature a block carries must be a node's
    for (Block.Signature s : stored.signatures()) {
      Membership.KeyRecord key = Membership.key(state::get, s.keyId());
      Membership.Identity id = key == null ? null : Membership.identity(state::get, key.identity());
      if (id == null || id.role() != org.careledger.core.contract.Role.NODE) {
        throw new Failure("block " + h + ": signed by " + s.keyId() + ", which is not a node key");
      }
      sigs.nodeSignature(key.publicKey(), got.canonicalBytes(), s.sig(), s.keyId());
    }
    // in a network, each node signs what it applied and adds the others' cosignatures as they
    // arrive, so the proposer's own signature may not be here yet; it must be a node key
    Membership.KeyRecord proposer = Membership.key(state::get, got.proposer());
    Membership.Identity proposerId = proposer == null ? null
        : Membership.identity(state::get, proposer.identity());
    if (proposerId == null || proposerId.role() != org.careledger.core.contract.Role.NODE) {
      throw new Failure("block " + h + ": proposer " + got.proposer() + " is not a node key");
    }
    for (int i = 0; i < r.accepted().size(); i++) {
      long leaf = got.firstLeaf() + i;
      if (store.leafOf(r.accepted().get(i).id()) != leaf) {
        throw new Failure("block " + h + ": index entry of the transaction at leaf " + leaf
            + " is wrong");
      }
    }
    return stored;
  }
}
