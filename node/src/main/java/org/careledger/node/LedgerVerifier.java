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
    try {
      run(store, genesis, counts, root);
      return new Report(counts[0], counts[1], root[0], null);
    } catch (Failure f) {
      return new Report(counts[0], counts[1], null, f.getMessage());
    } catch (RuntimeException e) {
      return new Report(counts[0], counts[1], null,
          "storage could not be read (" + e.getMessage() + ") after block " + (counts[0] - 1));
    }
  }

  private static void run(LedgerStore store, byte[] genesis, long[] counts, byte[][] rootOut)
      throws Failure {
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
    // transaction signatures are checked ahead of each block on every core (PreVerified); the
    // replay still decides, in order, which key each transaction must verify under
    PreVerified pre = new PreVerified();
    Ledger ledger = new Ledger(g.ledger().chain(), pre, Ledger.orgIds(g.command()));
    Block prev = checkBlock(store, 0, g.block(), state, null);
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
      pre.prepare(txs, state);
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
      prev = checkBlock(store, h, r, state, stored);
      counts[0]++;
      counts[1] += sh.txCount();
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
    rootOut[0] = prev.header().logRoot();
  }

  /**
   * Signature checks done ahead, in parallel: before a block is replayed, each of its
   * transactions whose signer's key the state already holds is verified under that key. The
   * replay asks for (transaction, public key) in order; a pair verified ahead is answered from
   * here, anything else (a key registered in the same block, a self-enrollment, a key that
   * changed) is verified then and there. A pair is only ever answered for the very key it was
   * verified under, so the order of the replay decides, as without this.
   */
  private static final class PreVerified implements Ledger.SignatureCheck {
    private final java.util.Set<java.nio.ByteBuffer> ok =
        java.util.concurrent.ConcurrentHashMap.newKeySet();

    void prepare(List<byte[]> txs, Map<String, byte[]> state) {
      ok.clear();
      if (txs.size() < 16) {
        return;
      }
      // the state is only read here; the replay writes it after this returns
      txs.parallelStream().forEach(bytes -> {
        if (!(org.careledger.core.tx.TxCodec.decode(bytes)
            instanceof org.careledger.core.tx.TxCodec.Decoded.Ok d)) {
          return;
        }
        Membership.KeyRecord key = Membership.key(state::get, d.tx().signer());
        if (key != null && org.careledger.core.crypto.Ed25519.verify(key.publicKey(),
            d.tx().signedBytes(), d.tx().signature())) {
          ok.add(pair(d.tx().id(), key.publicKey()));
        }
      });
    }

    private static java.nio.ByteBuffer pair(byte[] txId, byte[] publicKey) {
      byte[] b = Arrays.copyOf(txId, txId.length + publicKey.length);
      System.arraycopy(publicKey, 0, b, txId.length, publicKey.length);
      return java.nio.ByteBuffer.wrap(b);
    }

    @Override
    public boolean verify(org.careledger.core.tx.Transaction tx, byte[] publicKey) {
      return ok.contains(pair(tx.id(), publicKey))
          || Ledger.SignatureCheck.DIRECT.verify(tx, publicKey);
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
      Map<String, byte[]> state, Block storedOrNull) throws Failure {
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
      if (!org.careledger.core.crypto.Ed25519.verify(key.publicKey(), got.canonicalBytes(),
          s.sig())) {
        throw new Failure("block " + h + ": signature by node key " + s.keyId()
            + " does not verify");
      }
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
