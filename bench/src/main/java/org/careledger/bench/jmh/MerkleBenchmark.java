package org.careledger.bench.jmh;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.merkle.MerkleAppender;
import org.careledger.core.merkle.MerkleHash;
import org.careledger.core.merkle.MerkleTree;
import org.careledger.node.store.LedgerStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The log: appending a leaf (hashing included), and inclusion and consistency proofs read from
 * a RocksDB ledger of {@code leaves} leaves. The baseline in the same run is one SHA-256 of a
 * 400-byte transaction ({@code sha256Baseline}).
 *
 * <p>The ledger is built once per size under {@code -Dcareledger.bench.dir} (default: the
 * system temp dir) and reused by later runs.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class MerkleBenchmark {
  @Param({"10000000"})
  public long leaves;

  private LedgerStore store;
  private MerkleTree tree;
  private MerkleAppender appender;
  private final byte[] tx = new byte[400];

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    Path dir = Path.of(System.getProperty("careledger.bench.dir",
        System.getProperty("java.io.tmpdir")), "careledger-merkle-" + leaves);
    if (!Files.exists(dir.resolve("complete"))) {
      build(dir, leaves);
    }
    store = LedgerStore.openReadOnly(dir);
    tree = new MerkleTree(store.nodes());
    appender = MerkleAppender.empty();
  }

  /** Writes the perfect-subtree nodes of a log of n leaves in the ledger's log column family. */
  static void build(Path dir, long n) throws IOException {
    if (Files.exists(dir)) {
      try (var s = Files.walk(dir)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    try (LedgerStore s = LedgerStore.open(dir)) {
      MerkleAppender a = MerkleAppender.empty();
      int batch = 50_000;
      for (long i = 0; i < n; i += batch) {
        java.util.ArrayList<MerkleAppender.Node> nodes = new java.util.ArrayList<>(batch * 2);
        for (long j = i; j < Math.min(n, i + batch); j++) {
          nodes.addAll(a.append(MerkleHash.leaf(ByteBuffer.allocate(8).putLong(j).array())));
        }
        s.writeLogNodes(nodes);
      }
      s.flushToTables();
    }
    Files.writeString(dir.resolve("complete"), Long.toString(n));
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    store.close();
  }

  @Benchmark
  public byte[] sha256Baseline() {
    return Sha256.hash(tx);
  }

  @Benchmark
  public List<MerkleAppender.Node> append() {
    return appender.append(MerkleHash.leaf(tx));
  }

  @Benchmark
  public List<byte[]> inclusionProof() {
    long size = leaves - ThreadLocalRandom.current().nextLong(1000);
    return tree.inclusionProof(ThreadLocalRandom.current().nextLong(size), size);
  }

  @Benchmark
  public List<byte[]> consistencyProof() {
    long second = leaves - ThreadLocalRandom.current().nextLong(1000);
    return tree.consistencyProof(1 + ThreadLocalRandom.current().nextLong(second - 1), second);
  }
}
