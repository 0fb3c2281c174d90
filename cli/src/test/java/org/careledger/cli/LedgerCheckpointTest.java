package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.LedgerService;
import org.careledger.node.LedgerVerifier;
import org.careledger.node.NetworkInit;
import org.careledger.node.store.LedgerStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.RocksDB;

/**
 * The checkpoint a Raft snapshot carries: the shared families only, with no byte of the node's
 * vault or FHIR index in any of its files; and installing it on another node replaces that
 * node's shared families while its own private rows stay. Also how a reader opens the ledger of
 * a running node (verify, the tests' checks): never with a hole, never past a missing file.
 */
class LedgerCheckpointTest {
  @TempDir Path tmp;

  private record Opened(LedgerStore store, byte[] genesis, LedgerService ledger, Path dir) {}

  private Opened ledger(String name) throws Exception {
    Path dir = tmp.resolve(name);
    NetworkInit.init(dir, new NetworkInit.Options("careledger-test", "org1", "Test Hospital",
        "admin", "node1", "127.0.0.1:1", "127.0.0.1:2", List.of()), null, 1_700_000_000_000L);
    return open(dir);
  }

  private static Opened open(Path dir) throws Exception {
    byte[] genesis = Files.readAllBytes(dir.resolve("genesis.json"));
    LedgerStore store = LedgerStore.open(dir.resolve("ledger"));
    Ed25519.KeyPair nodeKey = KeyFile.read(dir.resolve("keys/node.key"), null);
    return new Opened(store, genesis,
        LedgerService.open(dir.getFileName().toString(), store, genesis, nodeKey), dir);
  }

  /** Applies one block of one anchoring transaction by the organization's admin. */
  private static void anchor(Opened o, long raftIndex) throws Exception {
    Ed25519.KeyPair admin = KeyFile.read(o.dir().resolve("keys/admin.key"), null);
    o.ledger().apply(new org.careledger.core.ledger.BlockProposal(System.currentTimeMillis(),
        o.ledger().nodeKeyId(), List.of(TxFixture.signedBy(admin).bytes())), raftIndex);
  }

  @Test
  void aSnapshotThatFailsVerificationOrDivergesIsRefusedAndChangesNothing() throws Exception {
    Path base = tmp.resolve("base");
    NetworkInit.init(base, new NetworkInit.Options("careledger-test", "org1", "Test Hospital",
        "admin", "node1", "127.0.0.1:1", "127.0.0.1:2", List.of()), null, 1_700_000_000_000L);
    // three copies of one node's data dir before its ledger exists: the same genesis
    Opened a = open(TestFiles.copyTree(base, tmp.resolve("a")));
    Opened b = open(TestFiles.copyTree(base, tmp.resolve("b")));
    Opened behind = open(TestFiles.copyTree(base, tmp.resolve("behind")));
    anchor(a, 1);
    anchor(b, 1);
    assertThat(b.store().blockBytes(1)).isNotEqualTo(a.store().blockBytes(1));
    Path cpA = tmp.resolve("cp-a");
    a.store().checkpointShared(cpA);

    byte[] bBlock = b.store().blockBytes(1);
    byte[] bState = b.store().stateDigest().digest();
    assertThatThrownBy(() -> b.ledger().installSnapshot(cpA))
        .isInstanceOf(LedgerService.DivergedException.class).hasMessageContaining("DIVERGED");
    Opened other = ledger("other");
    Path cpOther = tmp.resolve("cp-other");
    other.store().checkpointShared(cpOther);
    assertThatThrownBy(() -> b.ledger().installSnapshot(cpOther))
        .isInstanceOf(LedgerService.SnapshotRefusedException.class)
        .hasMessageContaining("fails verification");
    assertThat(b.store().blockBytes(1)).isEqualTo(bBlock);
    assertThat(b.store().stateDigest().digest()).isEqualTo(bState);
    assertThat(b.ledger().latest().header().height()).isEqualTo(1);

    LedgerService.Installed done = behind.ledger().installSnapshot(cpA);
    assertThat(done.height()).isEqualTo(1);
    assertThat(behind.store().blockBytes(1)).isEqualTo(a.store().blockBytes(1));
    assertThat(behind.ledger().latest().header().hash())
        .isEqualTo(a.ledger().latest().header().hash());
    assertThat(behind.store().appliedIndex()).isEqualTo(1);
    for (Opened o : List.of(a, b, behind, other)) {
      o.store().close();
    }
  }

  private static byte[] marker() {
    byte[] r = new byte[32];
    new java.security.SecureRandom().nextBytes(r);
    return ("PRIVATE-" + Codec.hex(r)).getBytes(StandardCharsets.UTF_8);
  }

  private static boolean anyFileContains(Path dir, byte[] needle) throws Exception {
    try (var files = Files.walk(dir)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        if (FhirIntegrityTest.indexOf(Files.readAllBytes(f), needle) >= 0) {
          return true;
        }
      }
    }
    return false;
  }

  @Test
  void aCheckpointHoldsTheSharedFamiliesAndNothingPrivate() throws Exception {
    Opened a = ledger("a");
    byte[] secret = marker();
    byte[] indexRow = marker();
    a.store().putPrivate(List.of(
        new LedgerStore.Write(LedgerStore.PrivateFamily.VAULT, "v1".getBytes(), secret),
        new LedgerStore.Write(LedgerStore.PrivateFamily.FHIR, "f1".getBytes(), indexRow)));
    a.store().flushToTables();
    Path live = tmp.resolve("a/ledger");
    assertThat(anyFileContains(live, secret)).as("the live ledger holds the vault row").isTrue();

    Path cp = tmp.resolve("checkpoint");
    a.store().checkpointShared(cp);

    List<String> families;
    try (org.rocksdb.Options o = new org.rocksdb.Options()) {
      families = RocksDB.listColumnFamilies(o, cp.toString()).stream()
          .map(b -> new String(b, StandardCharsets.UTF_8)).toList();
    }
    assertThat(families).containsExactlyInAnyOrderElementsOf(LedgerStore.SHARED_FAMILIES);
    assertThat(anyFileContains(cp, secret)).as("a vault row in the checkpoint").isFalse();
    assertThat(anyFileContains(cp, indexRow)).as("an index row in the checkpoint").isFalse();
    try (var files = Files.list(cp)) {
      assertThat(files.map(f -> f.getFileName().toString()))
          .noneMatch(n -> n.equals("LOCK") || n.startsWith("LOG") || n.endsWith(".log"));
    }
    try (LedgerStore c = LedgerStore.openReadOnly(cp)) {
      assertThat(c.height()).isZero();
      assertThat(c.blockBytes(0)).isEqualTo(a.store().blockBytes(0));
      assertThat(LedgerVerifier.verify(c, a.genesis()).problem()).isNull();
    }
    assertThat(LedgerStore.appliedIndexOf(cp)).isEqualTo(a.store().appliedIndex());
    a.store().close();
  }

  @Test
  void installingACheckpointReplacesTheSharedFamiliesAndKeepsPrivateRows() throws Exception {
    Opened a = ledger("a");
    Path cp = tmp.resolve("checkpoint");
    a.store().checkpointShared(cp);
    byte[] aBlock = a.store().blockBytes(0);
    a.store().close();

    Opened b = ledger("b");
    byte[] mine = marker();
    b.store().putPrivate(List.of(
        new LedgerStore.Write(LedgerStore.PrivateFamily.VAULT, "v1".getBytes(), mine)));
    assertThat(b.store().blockBytes(0)).as("another network's genesis").isNotEqualTo(aBlock);

    b.store().replaceShared(cp);
    assertThat(b.store().installing()).isFalse();
    assertThat(b.store().blockBytes(0)).isEqualTo(aBlock);
    assertThat(b.store().stateDigest().digest()).isEqualTo(stateDigestOf(cp));
    assertThat(LedgerVerifier.verify(b.store(), a.genesis()).problem()).isNull();
    assertThat(b.store().getPrivate(LedgerStore.PrivateFamily.VAULT, "v1".getBytes()))
        .isEqualTo(mine);
    b.store().close();
  }

  @Test
  void aTableFileThatStaysMissingIsStillReportedAsDamage() throws Exception {
    // a reader retries an open that raced with a flush or compaction of a running node, but a
    // file that is really gone is damage
    Opened a = ledger("a");
    a.store().flushToTables();
    a.store().close();
    Path sst;
    try (var files = Files.list(tmp.resolve("a/ledger"))) {
      sst = files.filter(f -> f.toString().endsWith(".sst")).findFirst().orElseThrow();
    }
    Files.delete(sst);
    assertThatThrownBy(() -> LedgerStore.openReadOnly(tmp.resolve("a/ledger")))
        .isInstanceOf(LedgerStore.CorruptLedgerException.class)
        .hasMessageContaining("No such file");
  }

  @Test
  void aReaderOfARunningNodesLedgerNeverSeesAHole() throws Exception {
    // a node flushes its memtables while readers (verify, a check of a live data dir) open its
    // ledger; a flush that completes during an open deletes a write-ahead log the reader's
    // MANIFEST still counted on, and without a check the reader sees later blocks and not
    // earlier ones (an acknowledged transaction missing)
    Opened live = ledger("live");
    AtomicReference<Throwable> failed = new AtomicReference<>();
    AtomicBoolean done = new AtomicBoolean();
    AtomicInteger opens = new AtomicInteger();
    Thread writer = new Thread(() -> {
      try {
        for (long i = 1; i <= 5000 && opens.get() < 30; i++) {
          anchor(live, i);
          if (i % 10 == 0) {
            live.store().flushToTables();
          }
          Thread.sleep(2);
        }
      } catch (Throwable t) {
        failed.set(t);
      } finally {
        done.set(true);
      }
    });
    writer.start();
    List<String> holes = new ArrayList<>();
    while (!done.get()) {
      try (LedgerStore r = LedgerStore.openReadOnly(tmp.resolve("live/ledger"))) {
        opens.incrementAndGet();
        long height = r.height();
        for (long h = 1; h <= height; h++) {
          if (r.blockBytes(h) == null) {
            holes.add("block " + h + " missing below height " + height);
            break;
          }
        }
      }
    }
    writer.join();
    assertThat(failed.get()).isNull();
    assertThat(opens.get()).as("opens while the ledger was written").isGreaterThanOrEqualTo(30);
    assertThat(holes).isEmpty();
    live.store().close();
  }

  private static byte[] stateDigestOf(Path cp) throws Exception {
    try (LedgerStore c = LedgerStore.openReadOnly(cp)) {
      return c.stateDigest().digest();
    }
  }
}
