package org.careledger.node.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.ledger.Block;
import org.careledger.core.ledger.StateView;
import org.careledger.core.merkle.MerkleAppender;
import org.careledger.core.merkle.NodeReader;
import org.careledger.core.tx.Transaction;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The ledger on RocksDB. Column families: {@code log} (perfect-subtree nodes, key level u8 ||
 * index u64), {@code txs} (leaf index u64 -> transaction bytes), {@code blocks} (height u64 ->
 * signed block, canonical JSON), {@code state} (state key UTF-8 -> value), {@code index}
 * ({@code t}||tx id -> leaf index; {@code b}||log size u64 -> height), and {@code default} for
 * metadata; and two families that stay on this node and never enter the Raft log: {@code vault}
 * (encrypted record versions) and {@code fhir} (the FHIR server's pseudonymous index). All
 * integers big-endian.
 *
 * <p>One thread writes ({@link #commitBlock}, {@link #markApplied}); any thread reads. Each
 * block is one atomic write batch, so readers see a block whole or not at all. Writes are not
 * synced: the Raft log, synced before any acknowledgement, is replayed after a crash from the
 * applied index stored here (see docs/architecture.md, "Durability").
 */
public final class LedgerStore implements AutoCloseable {
  static {
    RocksDB.loadLibrary();
  }

  private static final byte[] META_APPLIED = bytes("applied");
  private static final byte[] META_HEIGHT = bytes("height");
  private static final byte[] META_LOG_SIZE = bytes("logSize");

  private final RocksDB db;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions cfOptions;
  private final List<ColumnFamilyHandle> handles = new ArrayList<>();
  private final ColumnFamilyHandle meta;
  private final ColumnFamilyHandle log;
  private final ColumnFamilyHandle txs;
  private final ColumnFamilyHandle blocks;
  private final ColumnFamilyHandle state;
  private final ColumnFamilyHandle index;
  private final ColumnFamilyHandle vault;
  private final ColumnFamilyHandle fhir;

  /** The families {@link Write}s may touch: data private to this node. */
  public enum PrivateFamily { VAULT, FHIR }

  /** A put (value non-null) or delete of a node-private row, committed with a block. */
  public record Write(PrivateFamily family, byte[] key, byte[] valueOrNull) {}
  private final WriteOptions writeOptions;
  private final NodeCache nodeCache = new NodeCache(1 << 18);

  /**
   * A bounded map of log nodes in two generations: when the young one is full it becomes the
   * old one, so recently used nodes stay and memory stays bounded. Thread-safe.
   */
  private static final class NodeCache {
    private final int limit;
    private volatile java.util.concurrent.ConcurrentHashMap<Long, byte[]> young =
        new java.util.concurrent.ConcurrentHashMap<>();
    private volatile java.util.concurrent.ConcurrentHashMap<Long, byte[]> old =
        new java.util.concurrent.ConcurrentHashMap<>();

    NodeCache(int limit) {
      this.limit = limit;
    }

    byte[] get(long k) {
      byte[] v = young.get(k);
      return v != null ? v : old.get(k);
    }

    synchronized void clear() {
      young = new java.util.concurrent.ConcurrentHashMap<>();
      old = new java.util.concurrent.ConcurrentHashMap<>();
    }

    void put(long k, byte[] v) {
      if (young.size() >= limit) {
        synchronized (this) {
          if (young.size() >= limit) {
            old = young;
            young = new java.util.concurrent.ConcurrentHashMap<>();
          }
        }
      }
      young.put(k, v);
    }
  }
  private final boolean readOnly;

  private LedgerStore(Path dir, boolean readOnly, boolean sync) throws IOException {
    this.readOnly = readOnly;
    this.writeOptions = new WriteOptions().setSync(sync);
    try {
      if (!readOnly) {
        Files.createDirectories(dir);
      } else if (!Files.isDirectory(dir)) {
        throw new IOException("no ledger at " + dir);
      }
      dbOptions = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true)
          .setMaxBackgroundJobs(2)
          // a node recovers to the last intact WAL record and Raft replays the rest; a reader
          // (verify, possibly of a live node) tolerates only a half-written last record and
          // fails on any other damage rather than see a shorter ledger
          .setWalRecoveryMode(readOnly ? org.rocksdb.WALRecoveryMode.TolerateCorruptedTailRecords
              : org.rocksdb.WALRecoveryMode.PointInTimeRecovery);
      cfOptions = new ColumnFamilyOptions().optimizeLevelStyleCompaction();
      List<ColumnFamilyDescriptor> cfs = new ArrayList<>();
      // a snapshot's checkpoint holds only the shared families; it is only ever read
      List<String> present = FAMILIES;
      if (readOnly) {
        try (org.rocksdb.Options o = new org.rocksdb.Options()) {
          List<String> names = RocksDB.listColumnFamilies(o, dir.toString()).stream()
              .map(b -> new String(b, StandardCharsets.UTF_8)).toList();
          if (names.containsAll(SHARED_FAMILIES) && !names.containsAll(FAMILIES)) {
            present = SHARED_FAMILIES;
          }
        }
      }
      for (String name : present) {
        cfs.add(new ColumnFamilyDescriptor(bytes(name), cfOptions));
      }
      db = readOnly ? openReadOnly(dir, cfs)
          : RocksDB.open(dbOptions, dir.toString(), cfs, handles);
    } catch (RocksDBException e) {
      if (e.getStatus() != null
          && e.getStatus().getCode() == org.rocksdb.Status.Code.Corruption) {
        throw new CorruptLedgerException("the ledger at " + dir + " is damaged: "
            + e.getMessage());
      }
      throw new IOException("cannot open the ledger at " + dir + ": " + e.getMessage(), e);
    }
    meta = handles.get(0);
    log = handles.get(1);
    txs = handles.get(2);
    blocks = handles.get(3);
    state = handles.get(4);
    index = handles.get(5);
    vault = handles.size() > 6 ? handles.get(6) : null;
    fhir = handles.size() > 7 ? handles.get(7) : null;
  }

  /**
   * A reader may open the ledger of a running node, whose flushes and compactions go on
   * meanwhile. RocksDB builds a read-only view from the MANIFEST it reads first and the
   * write-ahead logs it lists after that. A flush that completes in between has deleted a log
   * that MANIFEST still counted on, and the view then holds the newer log's writes without the
   * older one's: a ledger with a hole, whose recent transactions seem missing. RocksDB records
   * every such change in the MANIFEST before it deletes a file, so an open counts only if the
   * MANIFEST (the name in CURRENT and its length) is the same after it as before it; an open
   * that saw it change is tried again, also when it failed on a file that was gone ("No such
   * file or directory"). A file missing while the MANIFEST stays as it is is damage (after
   * three tries), and a ledger that changes during 50 opens (about 10 s) is reported
   * as busy.
   */
  private RocksDB openReadOnly(Path dir, List<ColumnFamilyDescriptor> cfs)
      throws RocksDBException, IOException {
    int missing = 0;
    int changed = 0;
    while (true) {
      String before = manifestStamp(dir);
      RocksDB opened = null;
      RocksDBException error = null;
      try {
        opened = RocksDB.openReadOnly(dbOptions, dir.toString(), cfs, handles);
      } catch (RocksDBException e) {
        error = e;
      }
      boolean same = java.util.Objects.equals(before, manifestStamp(dir));
      if (opened != null) {
        if (same) {
          return opened;
        }
        handles.forEach(ColumnFamilyHandle::close);
        opened.close();
      } else if (error.getMessage() == null
          || !error.getMessage().contains("No such file or directory")
          || (same && ++missing >= 3)) {
        throw error;
      }
      if (!same && ++changed >= 50) {
        throw new IOException("the ledger at " + dir + " changed during each of 50 attempts"
            + " to open it; try again");
      }
      handles.clear();
      try {
        Thread.sleep(Math.min(20L * (missing + changed), 200));
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while opening the ledger at " + dir, ie);
      }
    }
  }

  /** The current MANIFEST's name and length; null if there is none (or it is being replaced). */
  private static String manifestStamp(Path dir) {
    try {
      String name = Files.readString(dir.resolve("CURRENT"), StandardCharsets.UTF_8).trim();
      return name + " " + Files.size(dir.resolve(name));
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * True if a running process holds the RocksDB store in {@code ledger} open: RocksDB keeps a
   * POSIX lock on its LOCK file while it is open for writing, and a lock taken here conflicts
   * with it. A backup or a stopped node's store is not locked. For other processes' stores
   * only (the CLI's): closing the file here would drop this process's own lock on it.
   */
  public static boolean inUse(Path ledger) throws IOException {
    Path lock = ledger.resolve("LOCK");
    if (!Files.isRegularFile(lock)) {
      return false;
    }
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(lock,
        java.nio.file.StandardOpenOption.WRITE)) {
      java.nio.channels.FileLock l = ch.tryLock();
      if (l == null) {
        return true;
      }
      l.release();
      return false;
    } catch (java.nio.channels.OverlappingFileLockException e) {
      // this process holds it
      return true;
    } catch (java.nio.file.AccessDeniedException e) {
      // not this user's to lock: the checks that follow still apply
      return false;
    }
  }

  /** Every column family, in the order they are opened. */
  public static final List<String> FAMILIES =
      List.of("default", "log", "txs", "blocks", "state", "index", "vault", "fhir");

  /** The families every node holds alike: all but the node-private vault and fhir. */
  public static final List<String> SHARED_FAMILIES = FAMILIES.subList(0, 6);

  private static final byte[] META_INSTALLING = bytes("installing");

  /** The store's files fail their checksums. */
  public static final class CorruptLedgerException extends IOException {
    private static final long serialVersionUID = 1L;

    CorruptLedgerException(String message) {
      super(message);
    }
  }

  public static LedgerStore open(Path dir) throws IOException {
    return new LedgerStore(dir, false, false);
  }

  /** Opens for writing; with {@code sync}, every block write is synced to disk. */
  public static LedgerStore open(Path dir, boolean sync) throws IOException {
    return new LedgerStore(dir, false, sync);
  }

  /** Opens a ledger for reading only; works while a node holds it open. */
  public static LedgerStore openReadOnly(Path dir) throws IOException {
    return new LedgerStore(dir, true, false);
  }

  /** Raft log index of the last applied entry, or -1. */
  public long appliedIndex() {
    return longOr(get(meta, META_APPLIED), -1);
  }

  /** Height of the latest block, or -1 before the genesis. */
  public long height() {
    return longOr(get(meta, META_HEIGHT), -1);
  }

  public long logSize() {
    return longOr(get(meta, META_LOG_SIZE), 0);
  }

  /** The latest committed state. */
  public StateView state() {
    return key -> get(state, bytes(key));
  }

  /**
   * Log nodes. Recently written and recently read nodes are served from memory: receipts for a
   * block's transactions read the same fresh nodes and the same few old ones many times.
   */
  public NodeReader nodes() {
    return (level, idx) -> {
      long k = cacheKey(level, idx);
      byte[] h = nodeCache.get(k);
      if (h != null) {
        return h;
      }
      h = get(log, nodeKey(level, idx));
      if (h == null) {
        throw new IllegalStateException("no log node at level " + level + " index " + idx);
      }
      nodeCache.put(k, h);
      return h;
    };
  }

  private static long cacheKey(int level, long idx) {
    return ((long) level << 56) | idx;
  }

  public byte[] txBytes(long leaf) {
    return get(txs, u64(leaf));
  }

  /** Leaf index of a committed transaction, or -1. */
  public long leafOf(byte[] txId) {
    return longOr(get(index, prefixed((byte) 't', txId)), -1);
  }

  public Block block(long height) {
    byte[] b = get(blocks, u64(height));
    if (b == null) {
      return null;
    }
    try {
      return Block.fromJson(CanonicalJson.parse(b));
    } catch (CanonicalJson.InvalidJsonException e) {
      throw new IllegalStateException("stored block " + height + " is not valid JSON");
    }
  }

  public byte[] blockBytes(long height) {
    return get(blocks, u64(height));
  }

  /** Height of the block that holds {@code leaf}, or -1. */
  public long heightOfLeaf(long leaf) {
    try (ReadOptions ro = new ReadOptions(); RocksIterator it = db.newIterator(index, ro)) {
      it.seek(prefixed((byte) 'b', u64(leaf + 1)));
      if (it.isValid() && it.key()[0] == 'b') {
        return ByteBuffer.wrap(it.value()).getLong();
      }
      return -1;
    }
  }

  /**
   * Writes a block and everything it changed in one atomic batch: state writes, log nodes,
   * transactions and their index entries, the signed block, and the applied Raft index.
   */
  public void commitBlock(Block block, List<Transaction> accepted,
      Map<String, byte[]> stateWrites, List<MerkleAppender.Node> nodes, long raftIndex)
      throws IOException {
    commitBlock(block, accepted, stateWrites, nodes, raftIndex, List.of());
  }

  /** As above, with this node's private rows for the block's transactions in the same batch. */
  public void commitBlock(Block block, List<Transaction> accepted,
      Map<String, byte[]> stateWrites, List<MerkleAppender.Node> nodes, long raftIndex,
      List<Write> privateWrites) throws IOException {
    try (WriteBatch batch = new WriteBatch()) {
      addPrivate(batch, privateWrites);
      for (Map.Entry<String, byte[]> e : stateWrites.entrySet()) {
        batch.put(state, bytes(e.getKey()), e.getValue());
      }
      for (MerkleAppender.Node n : nodes) {
        batch.put(log, nodeKey(n.level(), n.index()), n.hash());
      }
      long leaf = block.header().firstLeaf();
      for (Transaction tx : accepted) {
        batch.put(txs, u64(leaf), tx.bytes());
        batch.put(index, prefixed((byte) 't', tx.id()), u64(leaf));
        leaf++;
      }
      long height = block.header().height();
      batch.put(blocks, u64(height), block.canonicalBytes());
      batch.put(index, prefixed((byte) 'b', u64(block.header().logSize())), u64(height));
      batch.put(meta, META_HEIGHT, u64(height));
      batch.put(meta, META_LOG_SIZE, u64(block.header().logSize()));
      batch.put(meta, META_APPLIED, u64(raftIndex));
      db.write(writeOptions, batch);
    } catch (RocksDBException e) {
      throw new IOException("cannot write block: " + e.getMessage(), e);
    }
    for (MerkleAppender.Node n : nodes) {
      nodeCache.put(cacheKey(n.level(), n.index()), n.hash());
    }
  }

  /** Writes log nodes alone (used to build large logs for benchmarks). */
  public void writeLogNodes(List<MerkleAppender.Node> nodes) throws IOException {
    try (WriteBatch batch = new WriteBatch()) {
      for (MerkleAppender.Node n : nodes) {
        batch.put(log, nodeKey(n.level(), n.index()), n.hash());
      }
      db.write(writeOptions, batch);
    } catch (RocksDBException e) {
      throw new IOException("cannot write log nodes: " + e.getMessage(), e);
    }
  }

  /** A node-private row, or null. */
  public byte[] getPrivate(PrivateFamily family, byte[] key) {
    return get(family == PrivateFamily.VAULT ? vault : fhir, key);
  }

  /**
   * Visits the node-private rows whose key starts with {@code prefix}, in key order, until the
   * visitor returns false.
   */
  public void scanPrivate(PrivateFamily family, byte[] prefix,
      java.util.function.BiPredicate<byte[], byte[]> visitor) {
    scanPrivate(family, prefix, prefix, visitor);
  }

  /** As above, starting at {@code from} (a key at or after {@code prefix}). */
  public void scanPrivate(PrivateFamily family, byte[] prefix, byte[] from,
      java.util.function.BiPredicate<byte[], byte[]> visitor) {
    try (ReadOptions ro = new ReadOptions();
        RocksIterator it = db.newIterator(family == PrivateFamily.VAULT ? vault : fhir, ro)) {
      for (it.seek(from); it.isValid(); it.next()) {
        byte[] k = it.key();
        if (!startsWith(k, prefix) || !visitor.test(k, it.value())) {
          return;
        }
      }
    }
  }

  /**
   * Rewrites the vault's files holding keys in [from, to) so that deleted (erased) rows are
   * physically gone; null bounds mean the whole vault.
   */
  public void compactVault(byte[] fromOrNull, byte[] toOrNull) throws IOException {
    try {
      if (fromOrNull == null) {
        db.compactRange(vault);
      } else {
        db.compactRange(vault, fromOrNull, toOrNull);
      }
    } catch (RocksDBException e) {
      throw new IOException("cannot compact the vault: " + e.getMessage(), e);
    }
  }

  private static boolean startsWith(byte[] k, byte[] prefix) {
    if (k.length < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (k[i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  /**
   * Rewrites stored blocks whose signature list grew (cosignatures from other nodes); the
   * headers are unchanged.
   */
  public void putBlocks(java.util.Collection<Block> updated) throws IOException {
    try (WriteBatch batch = new WriteBatch()) {
      for (Block b : updated) {
        batch.put(blocks, u64(b.header().height()), b.canonicalBytes());
      }
      db.write(writeOptions, batch);
    } catch (RocksDBException e) {
      throw new IOException("cannot write cosignatures: " + e.getMessage(), e);
    }
  }

  /** Records that a Raft entry produced no block. */
  public void markApplied(long raftIndex) throws IOException {
    try {
      db.put(meta, writeOptions, META_APPLIED, u64(raftIndex));
    } catch (RocksDBException e) {
      throw new IOException("cannot record applied index: " + e.getMessage(), e);
    }
  }

  /**
   * Syncs the write-ahead log, so everything written so far survives power loss. Every write
   * goes through the WAL, so this is enough, and it costs one fsync rather than a memtable
   * flush.
   */
  public void syncToDisk() throws IOException {
    try {
      db.flushWal(true);
    } catch (RocksDBException e) {
      throw new IOException("cannot sync ledger: " + e.getMessage(), e);
    }
  }

  /** Flushes memtables to table files and syncs them (used after bulk builds). */
  public void flushToTables() throws IOException {
    try (FlushOptions fo = new FlushOptions().setWaitForFlush(true)) {
      db.flushWal(true);
      db.flush(fo, handles);
    } catch (RocksDBException e) {
      throw new IOException("cannot flush ledger: " + e.getMessage(), e);
    }
  }

  /**
   * Visits the state entries whose key starts with {@code prefix}, in key order, until the
   * visitor returns false.
   */
  public void scanState(String prefix, java.util.function.BiPredicate<String, byte[]> visitor) {
    byte[] p = prefix.getBytes(StandardCharsets.UTF_8);
    try (ReadOptions ro = new ReadOptions(); RocksIterator it = db.newIterator(state, ro)) {
      for (it.seek(p); it.isValid(); it.next()) {
        byte[] k = it.key();
        if (!startsWith(k, p)
            || !visitor.test(new String(k, StandardCharsets.UTF_8), it.value())) {
          return;
        }
      }
    }
  }

  /** The whole state's digest at one height. */
  public record StateDigest(long height, byte[] digest) {}

  /**
   * SHA-256 over every state entry in key order, each as u32 key length, key, u32 value length,
   * value (the encoding of a block's writes digest, applied to the whole state), read from one
   * RocksDB snapshot together with the height it belongs to. Nodes that applied the same blocks
   * report the same digest.
   */
  public StateDigest stateDigest() {
    org.rocksdb.Snapshot snap = db.getSnapshot();
    try (ReadOptions ro = new ReadOptions().setSnapshot(snap);
        RocksIterator it = db.newIterator(state, ro)) {
      long height = longOr(db.get(meta, ro, META_HEIGHT), -1);
      java.security.MessageDigest md = org.careledger.core.crypto.Sha256.newDigest();
      ByteBuffer len = ByteBuffer.allocate(4);
      for (it.seekToFirst(); it.isValid(); it.next()) {
        byte[] k = it.key();
        byte[] v = it.value();
        md.update(len.clear().putInt(k.length).array());
        md.update(k);
        md.update(len.clear().putInt(v.length).array());
        md.update(v);
      }
      return new StateDigest(height, md.digest());
    } catch (RocksDBException e) {
      throw new IllegalStateException("ledger read failed: " + e.getMessage(), e);
    } finally {
      db.releaseSnapshot(snap);
    }
  }

  /** Iterates the state in key order (verification compares it with a replay). */
  public void forEachState(java.util.function.BiConsumer<String, byte[]> action) {
    try (ReadOptions ro = new ReadOptions(); RocksIterator it = db.newIterator(state, ro)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        action.accept(new String(it.key(), StandardCharsets.UTF_8), it.value());
      }
    }
  }

  /**
   * A consistent copy of the whole store at {@code target} (which must not exist): every
   * family, the vault and the FHIR index included; a RocksDB checkpoint, with hard links to the
   * table files where the file system allows.
   */
  public void checkpointAll(Path target) throws IOException {
    if (readOnly) {
      throw new IllegalStateException("a checkpoint is taken of the node's own ledger");
    }
    try (org.rocksdb.Checkpoint cp = org.rocksdb.Checkpoint.create(db)) {
      cp.createCheckpoint(target.toString());
    } catch (RocksDBException e) {
      throw new IOException("cannot write a checkpoint: " + e.getMessage(), e);
    }
  }

  /**
   * Writes a RocksDB checkpoint of the shared families to {@code target} (which must not exist):
   * the memtables are flushed, the table files hard-linked, then the copy is opened on its own
   * and its vault and fhir families dropped and their table files deleted, so the checkpoint
   * holds nothing that is private to this node. Runs on the thread that applies blocks, so the
   * checkpoint is exactly the ledger at its applied index.
   */
  public void checkpointShared(Path target) throws IOException {
    if (readOnly || vault == null) {
      throw new IllegalStateException("a checkpoint is taken of the node's own ledger");
    }
    try (org.rocksdb.Checkpoint cp = org.rocksdb.Checkpoint.create(db)) {
      cp.createCheckpoint(target.toString());
    } catch (RocksDBException e) {
      throw new IOException("cannot write a checkpoint: " + e.getMessage(), e);
    }
    List<String> privateFiles = new ArrayList<>();
    List<ColumnFamilyHandle> copyHandles = new ArrayList<>();
    List<ColumnFamilyDescriptor> cfs = new ArrayList<>();
    // the copy is opened only to drop two families: no compaction may start (closing would
    // wait for it)
    ColumnFamilyOptions copyCf = new ColumnFamilyOptions().setDisableAutoCompactions(true);
    for (String name : FAMILIES) {
      cfs.add(new ColumnFamilyDescriptor(bytes(name), copyCf));
    }
    try (copyCf; DBOptions o = new DBOptions().setCreateIfMissing(false)
            .setMaxBackgroundJobs(1).setKeepLogFileNum(1);
        RocksDB copy = RocksDB.open(o, target.toString(), cfs, copyHandles)) {
      try {
        for (org.rocksdb.LiveFileMetaData f : copy.getLiveFilesMetaData()) {
          String cf = new String(f.columnFamilyName(), StandardCharsets.UTF_8);
          if (!SHARED_FAMILIES.contains(cf)) {
            privateFiles.add(f.fileName().replaceFirst("^/", ""));
          }
        }
        copy.dropColumnFamilies(copyHandles.subList(6, 8));
        try (FlushOptions fo = new FlushOptions().setWaitForFlush(true)) {
          copy.flush(fo, copyHandles.subList(0, 6));
        }
      } finally {
        for (ColumnFamilyHandle h : copyHandles) {
          h.close();
        }
      }
    } catch (RocksDBException e) {
      throw new IOException("cannot prepare the checkpoint: " + e.getMessage(), e);
    }
    for (String f : privateFiles) {
      Files.deleteIfExists(target.resolve(f));
    }
    // RocksDB's own logs and lock file are not part of the data
    try (var files = Files.list(target)) {
      for (Path f : files.toList()) {
        String n = f.getFileName().toString();
        // the write-ahead log is shared by all families and everything in it is flushed
        if (n.equals("LOCK") || n.equals("LOG") || n.startsWith("LOG.old")
            || n.endsWith(".log")) {
          Files.delete(f);
        }
      }
    }
  }

  /** The applied Raft index recorded in a checkpoint, read without changing it. */
  public static long appliedIndexOf(Path checkpoint) throws IOException {
    try (LedgerStore s = openReadOnly(checkpoint)) {
      return s.appliedIndex();
    }
  }

  /** True while (or if a crash interrupted) {@link #replaceShared}. */
  public boolean installing() {
    return get(meta, META_INSTALLING) != null;
  }

  /**
   * Replaces every shared family with the one in {@code checkpoint}, keeping this node's vault
   * and fhir rows. A marker written (and synced) first and removed (synced) last says that a
   * replacement is under way: if the node stops in between, it does it again at its next start
   * ({@link #installing()}).
   */
  public void replaceShared(Path checkpoint) throws IOException {
    try (LedgerStore from = openReadOnly(checkpoint)) {
      replaceShared(from);
    }
  }

  /** As above, from a checkpoint the caller has open (and has verified). */
  public void replaceShared(LedgerStore from) throws IOException {
    try (WriteOptions synced = new WriteOptions().setSync(true)) {
      long applied = from.appliedIndex();
      db.put(meta, synced, META_INSTALLING, u64(applied));
      List<ColumnFamilyHandle> mine = List.of(log, txs, blocks, state, index, meta);
      List<ColumnFamilyHandle> theirs = List.of(from.log, from.txs, from.blocks, from.state,
          from.index, from.meta);
      for (int i = 0; i < mine.size(); i++) {
        clear(mine.get(i), mine.get(i) == meta ? META_INSTALLING : null);
        copy(from.db, theirs.get(i), mine.get(i));
      }
      nodeCache.clear();
      db.flushWal(true);
      db.delete(meta, synced, META_INSTALLING);
    } catch (RocksDBException e) {
      throw new IOException("cannot install the checkpoint: " + e.getMessage(), e);
    }
  }

  /**
   * Removes every row of {@code cf} but {@code keepOrNull}: one range tombstone from the first
   * key to just past the last (a key followed by a zero byte sorts right after it), then the
   * kept row written back.
   */
  private void clear(ColumnFamilyHandle cf, byte[] keepOrNull) throws RocksDBException {
    byte[] first;
    byte[] last;
    try (ReadOptions ro = new ReadOptions(); RocksIterator it = db.newIterator(cf, ro)) {
      it.seekToFirst();
      if (!it.isValid()) {
        return;
      }
      first = it.key();
      it.seekToLast();
      last = it.key();
    }
    byte[] kept = keepOrNull == null ? null : db.get(cf, keepOrNull);
    db.deleteRange(cf, writeOptions, first, java.util.Arrays.copyOf(last, last.length + 1));
    if (kept != null) {
      db.put(cf, writeOptions, keepOrNull, kept);
    }
  }

  private void copy(RocksDB src, ColumnFamilyHandle from, ColumnFamilyHandle to)
      throws RocksDBException {
    try (WriteBatch batch = new WriteBatch(); ReadOptions ro = new ReadOptions();
        RocksIterator it = src.newIterator(from, ro)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        if (to == meta && java.util.Arrays.equals(it.key(), META_INSTALLING)) {
          continue;
        }
        batch.put(to, it.key(), it.value());
        if (batch.getDataSize() > (8 << 20)) {
          db.write(writeOptions, batch);
          batch.clear();
        }
      }
      db.write(writeOptions, batch);
    }
  }

  /**
   * Scans a private family of this store and writes to {@code to} (this store or another), under
   * the same key, the value {@code change} makes of each row; none where it returns null. The
   * writes go in atomic batches of 10,000 rows.
   */
  public void rewritePrivate(PrivateFamily family, LedgerStore to,
      java.util.function.BinaryOperator<byte[]> change) throws IOException {
    List<Write> batch = new ArrayList<>();
    IOException[] failed = new IOException[1];
    scanPrivate(family, new byte[0], (k, v) -> {
      byte[] out = change.apply(k, v);
      if (out != null) {
        batch.add(new Write(family, k, out));
      }
      if (batch.size() == 10_000) {
        try {
          to.putPrivate(batch);
        } catch (IOException e) {
          failed[0] = e;
          return false;
        }
        batch.clear();
      }
      return true;
    });
    if (failed[0] != null) {
      throw failed[0];
    }
    to.putPrivate(batch);
  }

  /** Writes node-private rows on their own (rows of a transaction committed in a snapshot). */
  public void putPrivate(List<Write> writes) throws IOException {
    try (WriteBatch batch = new WriteBatch()) {
      addPrivate(batch, writes);
      db.write(writeOptions, batch);
    } catch (RocksDBException e) {
      throw new IOException("cannot write private rows: " + e.getMessage(), e);
    }
  }

  private void addPrivate(WriteBatch batch, List<Write> writes) throws RocksDBException {
    for (Write w : writes) {
      ColumnFamilyHandle cf = w.family() == PrivateFamily.VAULT ? vault : fhir;
      if (w.valueOrNull() == null) {
        batch.delete(cf, w.key());
      } else {
        batch.put(cf, w.key(), w.valueOrNull());
      }
    }
  }

  /** Runs RocksDB's checksum verification over every file; returns a problem or null. */
  public String checksumProblemOrNull() {
    try {
      db.verifyChecksum();
      return null;
    } catch (RocksDBException e) {
      return e.getMessage();
    }
  }

  @Override
  public void close() {
    if (!readOnly) {
      try {
        // an orderly stop leaves table files behind, so the next start replays no WAL
        flushToTables();
      } catch (IOException e) {
        // the WAL still holds everything; the next open recovers from it
      }
    }
    for (ColumnFamilyHandle h : handles) {
      h.close();
    }
    db.close();
    writeOptions.close();
    dbOptions.close();
    cfOptions.close();
  }

  private byte[] get(ColumnFamilyHandle cf, byte[] key) {
    try {
      return db.get(cf, key);
    } catch (RocksDBException e) {
      throw new IllegalStateException("ledger read failed: " + e.getMessage(), e);
    }
  }

  static byte[] nodeKey(int level, long idx) {
    return ByteBuffer.allocate(9).put((byte) level).putLong(idx).array();
  }

  static byte[] u64(long v) {
    return ByteBuffer.allocate(8).putLong(v).array();
  }

  private static long longOr(byte[] b, long dflt) {
    return b == null ? dflt : ByteBuffer.wrap(b).getLong();
  }

  private static byte[] prefixed(byte p, byte[] rest) {
    byte[] out = new byte[rest.length + 1];
    out[0] = p;
    System.arraycopy(rest, 0, out, 1, rest.length);
    return out;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
