package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.careledger.client.ApiClient;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Ed25519;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;

/**
 * 'careledger verify' passes on an intact ledger and, when stored data is changed (a byte of a
 * transaction, a state value, a block header, a log node or a data file, or a node signature
 * swapped for another), exits 3 naming the place; and a node refuses to start on such a
 * ledger, rather than serve it or pass it on.
 */
class TamperDetectionTest {
  @TempDir static Path tmp;
  static Path pristine;

  @BeforeAll
  static void buildLedger() throws Exception {
    NodeProcess node = NodeProcess.init(tmp.resolve("pristine")).start();
    try {
      Ed25519.KeyPair adminKey = node.adminKey();
      ApiClient admin = new ApiClient(node.url(), adminKey);
      Ed25519.KeyPair svc = Ed25519.KeyPair.generate();
      admin.submit(TxFixture.signedBy(adminKey)
          .command(new Command.Register("svc", Role.SERVICE, svc.publicKey(), null)).bytes());
      for (int i = 0; i < 30; i++) {
        admin.submit(TxFixture.signedBy(svc).bytes());
      }
    } finally {
      node.stop();
    }
    pristine = node.dir;
  }

  /** Runs the CLI in-process; returns exit code and output. */
  static Object[] cli(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      int code = Main.run(args);
      return new Object[] {code, out.toString(StandardCharsets.UTF_8)
          + err.toString(StandardCharsets.UTF_8)};
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  static Path copy(String name) throws IOException {
    return TestFiles.copyTree(pristine, tmp.resolve(name));
  }

  /** Flips the lowest bit of byte {@code at} (negative: from the end) of one stored value. */
  static void flip(Path dataDir, String family, byte[] key, int at) throws Exception {
    rewrite(dataDir, family, key, v -> {
      int i = at >= 0 ? at : v.length + at;
      v[i] ^= 1;
      return v;
    });
  }

  /** Replaces one stored value by what {@code change} makes of it. */
  static void rewrite(Path dataDir, String family, byte[] key,
      java.util.function.UnaryOperator<byte[]> change) throws Exception {
    RocksDB.loadLibrary();
    List<ColumnFamilyDescriptor> cfs = new ArrayList<>();
    for (String n : org.careledger.node.store.LedgerStore.FAMILIES) {
      cfs.add(new ColumnFamilyDescriptor(n.getBytes(StandardCharsets.UTF_8)));
    }
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try (DBOptions o = new DBOptions();
        RocksDB db = RocksDB.open(o, dataDir.resolve("ledger").toString(), cfs, handles)) {
      ColumnFamilyHandle cf = handles.get(
          org.careledger.node.store.LedgerStore.FAMILIES.indexOf(family));
      byte[] v = db.get(cf, key);
      assertThat(v).as("value to tamper with").isNotNull();
      db.put(cf, key, change.apply(v));
      handles.forEach(ColumnFamilyHandle::close);
    }
  }

  static byte[] u64(long v) {
    return ByteBuffer.allocate(8).putLong(v).array();
  }

  @Test
  void anIntactLedgerVerifies() {
    Object[] r = cli("verify", "--data", pristine.toString());
    assertThat(r[0]).as((String) r[1]).isEqualTo(0);
    assertThat((String) r[1]).contains("verified").contains("32 transactions");
  }

  @Test
  void aChangedTransactionIsNamed() throws Exception {
    Path d = copy("tx");
    flip(d, "txs", u64(10), -5);
    Object[] r = cli("verify", "--data", d.toString());
    assertThat(r[0]).isEqualTo(Main.VERIFY_FAILED);
    assertThat((String) r[1]).contains("block 10").contains("leaf 10");
  }

  @Test
  void aChangedStateValueIsNamed() throws Exception {
    Path d = copy("state");
    flip(d, "state", "identity/svc".getBytes(StandardCharsets.UTF_8), 3);
    Object[] r = cli("verify", "--data", d.toString());
    assertThat(r[0]).isEqualTo(Main.VERIFY_FAILED);
    assertThat((String) r[1]).contains("state entry 'identity/svc'");
  }

  @Test
  void aChangedBlockHeaderIsNamed() throws Exception {
    Path d = copy("block");
    // the block time's last digit
    byte[] block = readBlock(d, 7);
    String text = new String(block, StandardCharsets.UTF_8);
    int at = text.indexOf(",\"txCount\"") - 1;
    flip(d, "blocks", u64(7), at);
    Object[] r = cli("verify", "--data", d.toString());
    assertThat(r[0]).isEqualTo(Main.VERIFY_FAILED);
    assertThat((String) r[1]).contains("block 7");
  }

  @Test
  void aChangedLogNodeIsNamed() throws Exception {
    Path d = copy("node");
    byte[] key = ByteBuffer.allocate(9).put((byte) 1).putLong(6).array();
    flip(d, "log", key, 0);
    Object[] r = cli("verify", "--data", d.toString());
    assertThat(r[0]).isEqualTo(Main.VERIFY_FAILED);
    assertThat((String) r[1]).contains("block 13").contains("log node (1,6)");
  }

  @Test
  void aNodeSignatureThatDoesNotVerifyIsNamed() throws Exception {
    Path d = copy("signature");
    // block 12 carries block 11's signature: the same node key, over another header
    String sig11 = com.fasterxml.jackson.databind.json.JsonMapper.builder().build()
        .readTree(readBlock(d, 11)).at("/signatures/0/sig").asText();
    rewrite(d, "blocks", u64(12), v -> {
      String text = new String(v, StandardCharsets.UTF_8);
      int at = text.indexOf("\"sig\":\"") + 7;
      return (text.substring(0, at) + sig11 + text.substring(text.indexOf('"', at)))
          .getBytes(StandardCharsets.UTF_8);
    });
    Object[] r = cli("verify", "--data", d.toString());
    assertThat(r[0]).as((String) r[1]).isEqualTo(Main.VERIFY_FAILED);
    assertThat((String) r[1]).contains("after 12 good blocks: block 12: signature by node key")
        .contains("does not verify");
  }

  /** Flips one bit in the middle of the largest file of the ledger whose name ends so. */
  static void flipFileByte(Path ledgerDir, String suffix) throws IOException {
    Path file;
    try (Stream<Path> s = Files.list(ledgerDir)) {
      file = s.filter(p -> p.toString().endsWith(suffix))
          .max(Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
    }
    assertThat(file.toFile().length()).as(file.toString()).isGreaterThan(100);
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      long at = f.length() / 2;
      f.seek(at);
      int b = f.read();
      f.seek(at);
      f.write(b ^ 0x10);
    }
  }

  @Test
  void aFlippedByteInATableFileIsCaught() throws Exception {
    Path d = copy("raw-sst");
    flipFileByte(d.resolve("ledger"), ".sst");
    Object[] r = cli("verify", "--data", d.toString());
    assertThat(r[0]).as((String) r[1]).isEqualTo(Main.VERIFY_FAILED);
    assertThat((String) r[1]).contains("verification FAILED");
  }

  @Test
  void aFlippedByteInTheWriteAheadLogIsCaught() throws Exception {
    // a node killed with SIGKILL leaves its latest blocks in RocksDB's WAL only
    NodeProcess node = NodeProcess.init(tmp.resolve("killed")).start();
    try {
      Ed25519.KeyPair adminKey = node.adminKey();
      ApiClient admin = new ApiClient(node.url(), adminKey);
      for (int i = 0; i < 20; i++) {
        admin.submit(TxFixture.signedBy(adminKey).bytes());
      }
      assertThat(cli("verify", "--data", node.dir.toString())[0]).isEqualTo(0);
    } finally {
      node.kill();
    }
    flipFileByte(node.dir.resolve("ledger"), ".log");
    Object[] r = cli("verify", "--data", node.dir.toString());
    assertThat(r[0]).as((String) r[1]).isEqualTo(Main.VERIFY_FAILED);
    assertThat((String) r[1]).contains("verification FAILED");
  }

  @Test
  void aNodeRefusesToStartOnAChangedStateValue() throws Exception {
    Path d = copy("start-state");
    flip(d, "state", "identity/svc".getBytes(StandardCharsets.UTF_8), 3);
    String log = startAndExpectRefusal(d);
    assertThat(log).contains("fails verification").contains("state entry 'identity/svc'");
  }

  @Test
  void aNodeRefusesToStartOnAChangedBlock() throws Exception {
    Path d = copy("start-block");
    byte[] block = readBlock(d, 7);
    String text = new String(block, StandardCharsets.UTF_8);
    flip(d, "blocks", u64(7), text.indexOf(",\"txCount\"") - 1);
    String log = startAndExpectRefusal(d);
    assertThat(log).contains("fails verification").contains("block 7");
  }

  @Test
  void aNodeStartsOnAnIntactCopy() throws Exception {
    NodeProcess node = NodeProcess.existing(copy("start-intact")).start();
    try {
      assertThat(node.logText()).contains("ledger verified at start:").contains("32 transactions");
    } finally {
      node.stop();
    }
  }

  /** Starts the node of {@code d}; it must exit non-zero without ever answering. */
  static String startAndExpectRefusal(Path d) throws Exception {
    NodeProcess node = NodeProcess.existing(d).launch();
    Integer code;
    try {
      code = node.awaitExit(java.time.Duration.ofSeconds(90));
    } finally {
      if (node.alive()) {
        node.kill();
      }
    }
    String log = node.logText();
    assertThat(code).as(log).isNotNull().isNotEqualTo(0);
    assertThat(log).doesNotContain("ready at").doesNotContain("raft server node1 started");
    return log;
  }

  static byte[] readBlock(Path dataDir, long h) throws Exception {
    try (var store = org.careledger.node.store.LedgerStore.openReadOnly(dataDir.resolve("ledger"))) {
      return store.blockBytes(h);
    }
  }
}
