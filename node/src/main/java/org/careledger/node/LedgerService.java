package org.careledger.node;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.careledger.core.ledger.Block;
import org.careledger.core.ledger.BlockProposal;
import org.careledger.core.ledger.Cosignature;
import org.careledger.core.ledger.Membership;
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
  private final ConcurrentHashMap<ByteBuffer, PrivateRows> privateWrites =
      new ConcurrentHashMap<>();

  /** A transaction's private rows, kept until it commits or can no longer commit. */
  private record PrivateRows(List<LedgerStore.Write> writes, long expires) {}

  /**
   * Node-private rows for a committed transaction this node did not admit (or admitted before
   * a restore): see {@link #orphanRows(OrphanRows)}.
   */
  public interface OrphanRows {
    List<LedgerStore.Write> rowsFor(Transaction tx);
  }

  private volatile OrphanRows orphanRows;
  private volatile Runnable afterInstall = () -> { };

  /** Runs {@code r} after each snapshot this node installs. */
  public void afterSnapshotInstall(Runnable r) {
    this.afterInstall = r;
  }

  /**
   * Sets what a block applied here writes for committed transactions that carry no rows from
   * this node's admission: a vault restored from a backup keeps the entries of records erased
   * since, and replaying the erasure from the Raft log must destroy them again. Set it before
   * Raft starts.
   */
  public void orphanRows(OrphanRows rows) {
    this.orphanRows = rows;
  }

  private record Pending(Transaction tx, CompletableFuture<Outcome> outcome) {}
  private MerkleAppender appender;
  private volatile Block latest;

  /** This node's signatures over headers it applied, waiting to be sent to the others. */
  private final java.util.concurrent.ConcurrentLinkedQueue<Cosignature> outbox =
      new java.util.concurrent.ConcurrentLinkedQueue<>();
  /** The active node keys (key id to public key), from the membership state. */
  private volatile Map<String, byte[]> nodeKeys = Map.of();
  private volatile Map<String, String> nodeAddresses = Map.of();
  private final Set<String> nodeIdentities = ConcurrentHashMap.newKeySet();
  /** Per height, the headers other nodes signed that differ from ours, and who signed them. */
  private final TreeMap<Long, Map<ByteBuffer, Set<String>>> dissent = new TreeMap<>();
  private volatile long quorumHeight = -1;

  /** Thrown when a majority of nodes signed a different block than this node applied. */
  public static final class DivergedException extends IOException {
    private static final long serialVersionUID = 1L;

    DivergedException(String message) {
      super(message);
    }
  }

  /** A snapshot that this node will not use: it fails verification or does not fit. */
  public static final class SnapshotRefusedException extends IOException {
    private static final long serialVersionUID = 1L;

    SnapshotRefusedException(String message) {
      super(message);
    }
  }

  /** The ledger's head after a snapshot was installed. */
  public record Installed(long height, long logSize) {}

  private byte[] genesisTx;

  /** Why a request is refused (503) while {@link #installingSnapshot()}. */
  public static final String INSTALLING = "this node is installing a snapshot of the ledger"
      + " from the network's leader; try another node, or this one again in a few seconds";

  private volatile boolean installing;

  /**
   * True while a verified snapshot replaces the shared ledger: its reads would see a ledger
   * partly replaced, so the API and the FHIR server answer 503 meanwhile.
   */
  public boolean installingSnapshot() {
    return installing;
  }

  private LedgerService(String nodeName, LedgerStore store, Ed25519.KeyPair nodeKey,
      String chain, List<String> genesisOrgs) {
    this.nodeName = nodeName;
    this.store = store;
    this.nodeKey = nodeKey;
    this.admission = new Ledger(chain, (tx, pk) -> {
      boolean ok = verifier(tx.signer(), pk).verify(tx.signedBytes(), tx.signature());
      if (ok && verified.size() < VERIFIED_CACHE_LIMIT) {
        verified.add(ByteBuffer.wrap(tx.id()));
      }
      return ok;
    }, genesisOrgs);
    // a signature this node checked at admission need not be checked again when it is applied:
    // the key id is a hash of the key, so the same id always names the same public key
    this.execution = new Ledger(chain, (tx, pk) -> verified.remove(ByteBuffer.wrap(tx.id()))
        || verifier(tx.signer(), pk).verify(tx.signedBytes(), tx.signature()), genesisOrgs);
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
    MerkleAppender fresh = MerkleAppender.empty();
    Ledger.Genesis g = Ledger.genesis(genesisTx, fresh);
    if (store.height() < 0) {
      appender = fresh;
      // a node that joined the network later was not a node at height 0, so it does not sign it
      boolean genesisNode = g.command().organizations().stream().anyMatch(o ->
          o.nodeKey() != null && Ed25519.keyId(o.nodeKey()).equals(nodeKey.keyId()));
      store.commitBlock(genesisNode ? Block.sign(g.block().header(), nodeKey)
          : new Block(g.block().header(), List.of()), g.block().accepted(),
          g.block().writes(), g.block().nodes(), -1);
      chain = g.ledger().chain();
      LOG.info("{}: wrote genesis block of chain {}", nodeName, chain);
    } else {
      appender = MerkleAppender.restore(store.logSize(), store.nodes());
      chain = store.block(0).header().chain();
    }
    LedgerService s = new LedgerService(nodeName, store, nodeKey, chain,
        Ledger.orgIds(g.command()));
    s.genesisTx = genesisTx.clone();
    s.appender = appender;
    s.latest = store.block(store.height());
    s.remember(s.latest);
    s.refreshNodeKeys();
    s.quorumHeight = s.findQuorumHeight();
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
    Pending p = pending.get(ByteBuffer.wrap(txId));
    long expires = p != null ? p.tx().notAfter() + 60_000
        : System.currentTimeMillis() + 3_600_000;
    privateWrites.put(ByteBuffer.wrap(txId), new PrivateRows(List.copyOf(writes), expires));
  }

  /**
   * Fails the futures of transactions whose proposal failed. Such a proposal may still have
   * been ordered (the leader had it when the connection broke), so their private rows stay
   * attached until they commit or their validity window has passed.
   */
  public void abandon(List<byte[]> txIds, Throwable cause) {
    long now = System.currentTimeMillis();
    privateWrites.entrySet().removeIf(e -> e.getValue().expires() < now);
    for (byte[] id : txIds) {
      Pending p = pending.remove(ByteBuffer.wrap(id));
      if (p != null) {
        p.outcome().completeExceptionally(cause);
      }
    }
  }

  private void refreshNodeKeys() {
    Map<String, byte[]> keys = new java.util.HashMap<>();
    Map<String, String> addresses = new TreeMap<>();
    Set<String> ids = new java.util.HashSet<>();
    store.scanState("identity/", (k, v) -> {
      Membership.Identity i = Membership.identity(store.state(), k.substring(9));
      if (i != null && i.role() == org.careledger.core.contract.Role.NODE) {
        ids.add(i.id());
        Membership.Organization org = Membership.organization(store.state(), i.org());
        Membership.KeyRecord key = i.active() && org != null && org.member()
            ? Membership.key(store.state(), i.keyId()) : null;
        if (key != null && key.active()) {
          keys.put(key.keyId(), key.publicKey());
          addresses.put(i.id(), i.address());
        }
      }
      return true;
    });
    nodeIdentities.clear();
    nodeIdentities.addAll(ids);
    nodeKeys = Map.copyOf(keys);
    nodeAddresses = java.util.Collections.unmodifiableMap(addresses);
  }

  /**
   * The network's nodes as this node's state has them: each active node identity of a member
   * organization, and the Raft address it registered.
   */
  public Map<String, String> nodeAddresses() {
    return nodeAddresses;
  }

  /**
   * True if {@code nodeId} is a node identity of this ledger that is no longer a node of the
   * network (revoked, or its organization removed); false for an id the ledger does not know.
   */
  public boolean removedNode(String nodeId) {
    return nodeIdentities.contains(nodeId) && !nodeAddresses.containsKey(nodeId);
  }

  /** True if a block's state writes may change the set of node keys. */
  private boolean touchesNodes(Map<String, byte[]> writes) {
    for (Map.Entry<String, byte[]> e : writes.entrySet()) {
      String k = e.getKey();
      if (k.startsWith("org/")) {
        return true;
      }
      if (k.startsWith("identity/") && (nodeIdentities.contains(k.substring(9))
          || new String(e.getValue(), java.nio.charset.StandardCharsets.UTF_8)
              .contains("\"role\":\"node\""))) {
        return true;
      }
      if (k.startsWith("key/") && nodeKeys.containsKey(k.substring(4))) {
        return true;
      }
    }
    return false;
  }

  /** The active node keys, key id to public key. */
  public Map<String, byte[]> nodeKeys() {
    return nodeKeys;
  }

  /** How many node signatures make a majority of the network's nodes. */
  public int majority() {
    return nodeKeys.size() / 2 + 1;
  }

  private int validSignatures(Block b) {
    int n = 0;
    Set<String> seen = new java.util.HashSet<>();
    for (Block.Signature s : b.signatures()) {
      byte[] pk = nodeKeys.get(s.keyId());
      if (pk != null && seen.add(s.keyId())
          && Ed25519.verify(pk, b.header().canonicalBytes(), s.sig())) {
        n++;
      }
    }
    return n;
  }

  /**
   * How many active node keys signed {@code b}, counting signatures as checked. Every signature
   * in a block this node holds was checked when it was added (its own, made at apply; the
   * others' by {@link #applyCosignatures}), so the apply path counts them without verifying
   * them again; {@link #findQuorumHeight} reads blocks from disk and verifies.
   */
  private int activeSigners(Block b) {
    Set<String> seen = new java.util.HashSet<>();
    for (Block.Signature s : b.signatures()) {
      if (nodeKeys.containsKey(s.keyId())) {
        seen.add(s.keyId());
      }
    }
    return seen.size();
  }

  private long findQuorumHeight() {
    long h = latest.header().height();
    for (long i = h; i >= 0 && i > h - 1024; i--) {
      Block b = store.block(i);
      if (b != null && validSignatures(b) >= majority()) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The newest block that a majority of the network's nodes have signed, or null if none of
   * the recent ones has been yet.
   */
  public Block quorumHead() {
    long h = quorumHeight;
    RecentBlock r = h < 0 ? null : block(h);
    return r == null ? null : r.block();
  }

  /** Takes up to {@code max} of this node's cosignatures that are waiting to be sent. */
  public List<Cosignature> takeCosignatures(int max) {
    List<Cosignature> out = new java.util.ArrayList<>();
    Cosignature c;
    while (out.size() < max && (c = outbox.poll()) != null) {
      out.add(c);
    }
    return out;
  }

  /** Puts back cosignatures whose proposal was not ordered. */
  public void returnCosignatures(List<Cosignature> cs) {
    outbox.addAll(cs);
  }

  /**
   * Adds the other nodes' signatures to the blocks they signed. A signature by a node key that
   * is not active, or one that does not verify, is ignored. A valid signature over a different
   * header at a height this node applied means that one of the two diverged: if a majority of
   * nodes signed that other header, this node is the one, and it must stop.
   */
  private Map<Long, Block> applyCosignatures(List<Cosignature> cosigs) throws DivergedException {
    Map<Long, Block> updated = new TreeMap<>();
    for (Cosignature c : cosigs) {
      byte[] pk = nodeKeys.get(c.keyId());
      if (pk != null && ownCosignature(c)) {
        continue; // this node's own signature of a block it holds: already in that block
      }
      if (pk == null || !c.verifies(pk)) {
        LOG.warn("{}: ignored a cosignature by key {}: {}", nodeName, c.keyId(),
            pk == null ? "not an active node key" : "it does not verify");
        continue;
      }
      long h = c.header().height();
      Block ours = updated.get(h);
      if (ours == null) {
        RecentBlock r = block(h);
        ours = r == null ? null : r.block();
      }
      if (ours == null) {
        LOG.warn("{}: ignored a cosignature for height {}, above this node's", nodeName, h);
        continue;
      }
      if (ours.header().equals(c.header())) {
        if (ours.signatures().stream().noneMatch(s -> s.keyId().equals(c.keyId()))) {
          List<Block.Signature> sigs = new java.util.ArrayList<>(ours.signatures());
          sigs.add(c.signature());
          ours = new Block(ours.header(), sigs);
          updated.put(h, ours);
        }
        continue;
      }
      Set<String> signers = dissent.computeIfAbsent(h, k -> new java.util.HashMap<>())
          .computeIfAbsent(ByteBuffer.wrap(c.header().hash()), k -> new java.util.HashSet<>());
      signers.add(c.keyId());
      while (dissent.size() > 1024) {
        dissent.pollFirstEntry();
      }
      String ourHash = org.careledger.core.crypto.Codec.hex(ours.header().hash());
      String theirs = org.careledger.core.crypto.Codec.hex(c.header().hash());
      if (signers.size() >= majority()) {
        String msg = "DIVERGED at height " + h + ": this node applied block " + ourHash
            + " but " + signers.size() + " of " + nodeKeys.size() + " nodes signed block "
            + theirs + "; this node's ledger differs from the network's and it stops applying";
        LOG.error("{}: {}", nodeName, msg);
        throw new DivergedException(msg);
      }
      LOG.error("{}: node key {} signed block {} at height {}, but this node applied {}: one of"
          + " the two has diverged", nodeName, c.keyId(), theirs, h, ourHash);
    }
    return updated;
  }

  /**
   * True if {@code c} is, byte for byte, this node's own signature of the block it holds at that
   * height (made when it applied the block), so checking it again would prove nothing.
   */
  private boolean ownCosignature(Cosignature c) {
    if (!c.keyId().equals(nodeKey.keyId())) {
      return false;
    }
    RecentBlock r = block(c.header().height());
    return r != null && r.block().header().equals(c.header()) && r.block().signatures().stream()
        .anyMatch(s -> s.keyId().equals(c.keyId()) && java.util.Arrays.equals(s.sig(), c.sig()));
  }

  /**
   * Takes the ledger from a snapshot's checkpoint (on the thread that applies entries, while
   * Ratis holds the state machine paused). The checkpoint is first verified in full, as
   * {@code careledger verify} would: every block, signature, transaction, log node and state
   * entry, replayed from this node's genesis. It must extend this node's ledger: the block at
   * this node's height must be the one this node applied, or this node diverged and stops.
   * Then the shared families are replaced (the vault and FHIR index stay) and what this
   * service keeps in memory is read again. Transactions this node had admitted that the
   * snapshot holds get their private rows written and their submitters answered.
   */
  public Installed installSnapshot(java.nio.file.Path checkpoint) throws IOException {
    long ours = latest.header().height();
    try (LedgerStore cp = LedgerStore.openReadOnly(checkpoint)) {
      LedgerVerifier.Report r = LedgerVerifier.verify(cp, genesisTx);
      if (!r.ok()) {
        throw new SnapshotRefusedException("the snapshot received from the leader fails"
            + " verification (" + r.problem() + "); it is not used");
      }
      Block theirs = cp.block(ours);
      if (theirs == null) {
        throw new SnapshotRefusedException("the snapshot received from the leader ends at"
            + " height " + cp.height() + ", below this node's " + ours + "; it is not used");
      }
      if (!java.util.Arrays.equals(theirs.header().hash(), latest.header().hash())) {
        String msg = "DIVERGED at height " + ours + ": this node applied block "
            + org.careledger.core.crypto.Codec.hex(latest.header().hash())
            + " but the verified snapshot from the leader holds block "
            + org.careledger.core.crypto.Codec.hex(theirs.header().hash())
            + "; this node's ledger differs from the network's and it stops applying";
        LOG.error("{}: {}", nodeName, msg);
        throw new DivergedException(msg);
      }
      installing = true;
      try {
        store.replaceShared(cp);
        appender = MerkleAppender.restore(store.logSize(), store.nodes());
        recent.clear();
        latest = store.block(store.height());
        remember(latest);
        dissent.clear();
        refreshNodeKeys();
        quorumHeight = findQuorumHeight();
      } finally {
        installing = false;
      }
    }
    for (var e : List.copyOf(pending.entrySet())) {
      byte[] id = e.getKey().array();
      long leaf = store.leafOf(id);
      if (leaf < 0) {
        continue;
      }
      PrivateRows rows = privateWrites.remove(e.getKey());
      if (rows != null) {
        store.putPrivate(rows.writes());
      }
      Pending p = pending.remove(e.getKey());
      if (p != null) {
        p.outcome().complete(new Outcome(new TxResult.Committed(id, leaf),
            store.heightOfLeaf(leaf)));
      }
    }
    afterInstall.run();
    return new Installed(latest.header().height(), latest.header().logSize());
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
    if (!nodeKeys.containsKey(proposal.proposer())) {
      // every node decides this alike from the same state, so skipping keeps them equal; a
      // block naming a proposer that is not a node would fail verification everywhere
      LOG.warn("{}: ignored Raft entry {}: its proposer {} is not an active node key", nodeName,
          raftIndex, proposal.proposer());
      List<byte[]> ids = proposal.txs().stream()
          .map(org.careledger.core.crypto.Sha256::hash).toList();
      store.markApplied(raftIndex);
      abandon(ids, new IllegalStateException("proposed under a key that is not a node key"));
      return;
    }
    Map<Long, Block> cosigned = applyCosignatures(proposal.cosignatures());
    if (!cosigned.isEmpty()) {
      store.putBlocks(cosigned.values());
      for (Block b : cosigned.values()) {
        if (recent.containsKey(b.header().height())) {
          remember(b);
        }
        if (b.header().height() == latest.header().height()) {
          latest = b;
        }
        if (b.header().height() > quorumHeight && activeSigners(b) >= majority()) {
          quorumHeight = b.header().height();
        }
      }
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
    OrphanRows orphans = orphanRows;
    if (orphans != null) {
      for (Transaction t : r.accepted()) {
        if (org.careledger.core.contract.CommandCodec.RECORDS.equals(t.contract())
            && !privateWrites.containsKey(ByteBuffer.wrap(t.id()))) {
          rows.addAll(orphans.rowsFor(t));
        }
      }
    }
    for (TxResult res : r.results()) {
      byte[] id = switch (res) {
        case TxResult.Committed c -> c.txId();
        case TxResult.Refused f -> f.txId();
      };
      PrivateRows pr = id == null ? null : privateWrites.remove(ByteBuffer.wrap(id));
      List<LedgerStore.Write> w = pr == null ? null : pr.writes();
      if (w != null && res instanceof TxResult.Committed) {
        rows.addAll(w);
      }
    }
    Block block = null;
    try {
      if (r.header() != null) {
        // a node signs the blocks it applies while it is a node of the network: a node that
        // joined later replays the blocks from before it joined without signing them
        boolean signs = nodeKeys.containsKey(nodeKey.keyId());
        block = signs ? Block.sign(r.header(), nodeKey) : new Block(r.header(), List.of());
        store.commitBlock(block, r.accepted(), r.writes(), r.nodes(), raftIndex, rows);
        remember(block);
        latest = block;
        if (touchesNodes(r.writes())) {
          refreshNodeKeys();
        }
        if (nodeKeys.size() <= 1) {
          quorumHeight = height;
        } else if (signs && nodeKeys.containsKey(nodeKey.keyId())) {
          outbox.add(new Cosignature(block.header(), nodeKey.keyId(),
              block.signatures().get(0).sig()));
        }
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
