package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.careledger.client.ApiClient;
import org.careledger.node.LedgerVerifier;
import org.careledger.node.store.LedgerStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksIterator;

/**
 * A changed or swapped vault entry is never served, and erasure destroys a patient's data for
 * good (also after a restart) while the ledger still verifies.
 */
class FhirIntegrityTest {
  @TempDir Path tmp;

  /** Runs {@code action} on the stopped node's RocksDB vault column family. */
  interface VaultAction {
    void run(RocksDB db, ColumnFamilyHandle vault) throws Exception;
  }

  static void withVault(Path dataDir, VaultAction action) throws Exception {
    withFamilies(dataDir, (db, family) -> action.run(db, family.apply("vault")));
  }

  /** Runs {@code action} on the stopped node's RocksDB, with its families by name. */
  interface FamiliesAction {
    void run(RocksDB db, java.util.function.Function<String, ColumnFamilyHandle> family)
        throws Exception;
  }

  static void withFamilies(Path dataDir, FamiliesAction action) throws Exception {
    RocksDB.loadLibrary();
    List<ColumnFamilyDescriptor> cfs = new ArrayList<>();
    for (String n : LedgerStore.FAMILIES) {
      cfs.add(new ColumnFamilyDescriptor(n.getBytes(StandardCharsets.UTF_8)));
    }
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try (DBOptions o = new DBOptions();
        RocksDB db = RocksDB.open(o, dataDir.resolve("ledger").toString(), cfs, handles)) {
      action.run(db, name -> handles.get(LedgerStore.FAMILIES.indexOf(name)));
      handles.forEach(ColumnFamilyHandle::close);
    }
  }

  static Map<String, byte[]> vaultRows(Path dataDir) throws Exception {
    Map<String, byte[]> rows = new TreeMap<>();
    withVault(dataDir, (db, vault) -> {
      try (RocksIterator it = db.newIterator(vault)) {
        for (it.seekToFirst(); it.isValid(); it.next()) {
          rows.put(new String(it.key(), StandardCharsets.UTF_8), it.value());
        }
      }
    });
    return rows;
  }

  @Test
  void changedOrSwappedVaultEntriesAreRefusedAndReported() throws Exception {
    NodeProcess node = NodeProcess.init(tmp.resolve("node")).start();
    String[] ids = {"tamper-ct", "tamper-key", "tamper-swap-a", "tamper-swap-b", "untouched"};
    try {
      FhirHttp fhir = new FhirHttp(node.url(), node.serviceToken());
      for (String id : ids) {
        assertThat(fhir.put("/Patient/" + id, "{\"resourceType\":\"Patient\",\"id\":\"" + id
            + "\",\"name\":[{\"family\":\"Tamper\"}]}").statusCode()).isEqualTo(201);
      }
    } finally {
      node.stop();
    }
    // one vault row per patient; rows are keyed by pseudonyms, so the test need not know whose
    // row is whose: it changes four of the five and expects exactly those four to be refused
    Map<String, byte[]> rows = vaultRows(node.dir);
    assertThat(rows).hasSize(ids.length);
    List<String> keys = new ArrayList<>(rows.keySet());
    withVault(node.dir, (db, vault) -> {
      byte[] ct = rows.get(keys.get(0)).clone();
      ct[ct.length - 5] ^= 1;
      db.put(vault, keys.get(0).getBytes(StandardCharsets.UTF_8), ct);
      byte[] wk = rows.get(keys.get(1)).clone();
      wk[8] ^= 1;
      db.put(vault, keys.get(1).getBytes(StandardCharsets.UTF_8), wk);
      db.put(vault, keys.get(2).getBytes(StandardCharsets.UTF_8), rows.get(keys.get(3)));
      db.put(vault, keys.get(3).getBytes(StandardCharsets.UTF_8), rows.get(keys.get(2)));
    });
    node.start();
    try {
      FhirHttp fhir = new FhirHttp(node.url(), node.serviceToken());
      int refused = 0;
      int served = 0;
      for (String id : ids) {
        HttpResponse<String> r = fhir.get("/Patient/" + id);
        if (r.statusCode() == 500) {
          assertThat(r.body()).contains("OperationOutcome").contains("integrity check")
              .doesNotContain("Tamper");
          refused++;
        } else {
          assertThat(r.statusCode()).isEqualTo(200);
          assertThat(r.body()).contains("\"id\":\"" + id + "\"");
          served++;
        }
      }
      // four rows were changed (one ciphertext, one wrapped key, two swapped); one is intact
      assertThat(refused).isEqualTo(4);
      assertThat(served).isEqualTo(1);
      assertThat(node.logText()).contains("ALERT vault integrity failure");
      String metrics = new java.util.Scanner(new java.net.URI(node.url() + "/metrics").toURL()
          .openStream(), StandardCharsets.UTF_8).useDelimiter("\\A").next();
      assertThat(metrics).contains("careledger_vault_integrity_failures 4.0");
    } finally {
      node.stop();
    }
  }

  @Test
  void erasureDestroysTheDataAndSurvivesARestart() throws Exception {
    NodeProcess node = NodeProcess.init(tmp.resolve("erase")).start();
    String patient;
    String observation;
    String keep;
    Map<String, byte[]> before;
    try {
      ApiClient admin = new ApiClient(node.url(), node.adminKey());
      FhirHttp adminFhir = new FhirHttp(node.url(), admin.token());
      FhirHttp fhir = new FhirHttp(node.url(), node.serviceToken());
      patient = id(fhir.post("/Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":"
          + "\"Erasable\"}]}"));
      observation = id(fhir.post("/Observation", "{\"resourceType\":\"Observation\",\"status\":"
          + "\"final\",\"code\":{\"text\":\"weight\"},\"subject\":{\"reference\":\"Patient/"
          + patient + "\"},\"valueQuantity\":{\"value\":71.5,\"unit\":\"kg\"}}"));
      fhir.put("/Observation/" + observation, "{\"resourceType\":\"Observation\",\"id\":\""
          + observation + "\",\"status\":\"amended\",\"code\":{\"text\":\"weight\"},"
          + "\"subject\":{\"reference\":\"Patient/" + patient + "\"}}");
      keep = id(fhir.post("/Patient", "{\"resourceType\":\"Patient\"}"));
      int rowsBefore = vaultRowCount(node);
      before = vaultEntries(node);
      HttpResponse<String> erased = adminFhir.post("/Patient/" + patient + "/$erase-patient",
          "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"legalBasis\","
              + "\"valueString\":\"GDPR Art. 17(1)(a)\"}]}");
      assertThat(erased.statusCode()).as(erased.body()).isEqualTo(200);
      assertThat(erased.body()).contains("erasedRecords").contains("\"valueInteger\":2")
          .contains("GDPR Art. 17(1)(a)").contains("receipt");
      assertThat(fhir.get("/Patient/" + patient).statusCode()).isEqualTo(410);
      assertThat(fhir.get("/Observation/" + observation).statusCode()).isEqualTo(410);
      assertThat(fhir.get("/Observation/" + observation + "/_history/1").statusCode())
          .isEqualTo(410);
      assertThat(fhir.get("/Observation/" + observation + "/_history").statusCode())
          .isEqualTo(410);
      assertThat(fhir.get("/Patient/" + keep).statusCode()).isEqualTo(200);
      assertThat(adminFhir.post("/Patient/" + patient + "/$erase-patient",
          "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"legalBasis\","
              + "\"valueString\":\"again\"}]}").statusCode()).isEqualTo(410);
      assertThat(rowsBefore - vaultRowCount(node)).isEqualTo(3);
    } finally {
      node.stop();
    }
    Map<String, byte[]> after = vaultRows(node.dir);
    assertThat(after).hasSize(1);
    // the erased ciphertexts are gone from every file of the ledger, not only from its index
    byte[] everything = allFileBytes(node.dir.resolve("ledger"));
    int erased = 0;
    for (Map.Entry<String, byte[]> e : before.entrySet()) {
      if (after.containsKey(e.getKey())) {
        continue;
      }
      byte[] v = e.getValue();
      byte[] slice = java.util.Arrays.copyOfRange(v, v.length - 48, v.length - 16);
      assertThat(indexOf(everything, slice)).as("erased row %s", e.getKey()).isEqualTo(-1);
      erased++;
    }
    assertThat(erased).isEqualTo(3);
    byte[] kept = after.values().iterator().next();
    assertThat(indexOf(everything, java.util.Arrays.copyOfRange(kept, kept.length - 48,
        kept.length - 16))).isNotEqualTo(-1);
    node.start();
    try {
      FhirHttp fhir = new FhirHttp(node.url(), node.serviceToken());
      assertThat(fhir.get("/Patient/" + patient).statusCode()).isEqualTo(410);
      assertThat(fhir.get("/Observation/" + observation).statusCode()).isEqualTo(410);
      assertThat(fhir.get("/Patient/" + keep).statusCode()).isEqualTo(200);
      assertThat(LedgerVerifier.verify(node.dir).problem()).isNull();
    } finally {
      node.stop();
    }
  }

  /** An admin of the node's organization erases a patient's records; the answer is 200. */
  static void erasePatient(NodeProcess node, String patient) throws Exception {
    FhirHttp admin = new FhirHttp(node.url(), new ApiClient(node.url(), node.adminKey()).token());
    HttpResponse<String> r = admin.post("/Patient/" + patient + "/$erase-patient",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"legalBasis\","
            + "\"valueString\":\"GDPR Art. 17(1)(b)\"}]}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  /** Every row of the stopped node's vault and FHIR index families, by family. */
  static Map<String, Map<String, byte[]>> privateRows(Path dataDir) throws Exception {
    Map<String, Map<String, byte[]>> rows = new TreeMap<>();
    withFamilies(dataDir, (db, handle) -> {
      for (String family : List.of("vault", "fhir")) {
        Map<String, byte[]> f = new TreeMap<>();
        try (RocksIterator it = db.newIterator(handle.apply(family))) {
          for (it.seekToFirst(); it.isValid(); it.next()) {
            f.put(new String(it.key(), StandardCharsets.ISO_8859_1), it.value());
          }
        }
        rows.put(family, f);
      }
    });
    return rows;
  }

  /**
   * A vault and FHIR index restored from a backup made before an erasure, under a ledger that
   * holds the erasure (as a network member's ledger does once it catches up): the node must
   * serve none of the erased records and must destroy their entries again.
   */
  @Test
  void aVaultRestoredFromBeforeAnErasureGivesNothingErasedBack() throws Exception {
    NodeProcess node = NodeProcess.init(tmp.resolve("restore")).start();
    String patient;
    String observation;
    String keep;
    try {
      FhirHttp fhir = new FhirHttp(node.url(), node.serviceToken());
      patient = id(fhir.post("/Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":"
          + "\"Restored\"}]}"));
      observation = id(fhir.post("/Observation", "{\"resourceType\":\"Observation\",\"status\":"
          + "\"final\",\"code\":{\"text\":\"weight\"},\"subject\":{\"reference\":\"Patient/"
          + patient + "\"},\"valueQuantity\":{\"value\":80.1,\"unit\":\"kg\"}}"));
      keep = id(fhir.post("/Patient", "{\"resourceType\":\"Patient\"}"));
    } finally {
      node.stop();
    }
    Map<String, Map<String, byte[]>> backup = privateRows(node.dir);
    assertThat(backup.get("vault")).hasSize(3);
    node.start();
    try {
      erasePatient(node, patient);
    } finally {
      node.stop();
    }
    assertThat(vaultRows(node.dir)).hasSize(1);
    // the restore: both private families as the backup has them
    withFamilies(node.dir, (db, handle) -> {
      for (Map.Entry<String, Map<String, byte[]>> f : backup.entrySet()) {
        for (Map.Entry<String, byte[]> row : f.getValue().entrySet()) {
          db.put(handle.apply(f.getKey()), row.getKey().getBytes(StandardCharsets.ISO_8859_1),
              row.getValue());
        }
      }
    });
    assertThat(vaultRows(node.dir)).hasSize(3);
    node.start();
    try {
      FhirHttp fhir = new FhirHttp(node.url(), node.serviceToken());
      assertThat(fhir.get("/Patient/" + patient).statusCode()).isEqualTo(410);
      assertThat(fhir.get("/Observation/" + observation).statusCode()).isEqualTo(410);
      assertThat(fhir.get("/Observation/" + observation + "/_history/1").statusCode())
          .isEqualTo(410);
      HttpResponse<String> search = fhir.get("/Observation?patient=" + patient);
      assertThat(search.statusCode()).as(search.body()).isEqualTo(200);
      assertThat(search.body()).doesNotContain(observation);
      assertThat(fhir.get("/Patient/" + keep).statusCode()).isEqualTo(200);
    } finally {
      node.stop();
    }
    assertThat(node.logText()).contains("destroyed the vault entries of 2 record(s)");
    assertThat(vaultRows(node.dir)).hasSize(1);
    assertThat(LedgerVerifier.verify(node.dir).problem()).isNull();
  }

  /**
   * The whole ledger directory restored from a copy made before an erasure, the Raft log kept:
   * the erasure comes back from the log, and applying it again destroys the entries again.
   */
  @Test
  void anErasureReplayedOverARestoredLedgerDestroysTheEntriesAgain() throws Exception {
    NodeProcess node = NodeProcess.init(tmp.resolve("replay")).start();
    String patient;
    String keep;
    try {
      FhirHttp fhir = new FhirHttp(node.url(), node.serviceToken());
      patient = id(fhir.post("/Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":"
          + "\"Replayed\"}]}"));
      keep = id(fhir.post("/Patient", "{\"resourceType\":\"Patient\"}"));
    } finally {
      node.stop();
    }
    Path backup = tmp.resolve("backup-ledger");
    copyTree(node.dir.resolve("ledger"), backup);
    node.start();
    try {
      erasePatient(node, patient);
    } finally {
      // killed, so that no snapshot at shutdown holds the erasure: it stays in the Raft log
      node.kill();
    }
    TestFiles.deleteTree(node.dir.resolve("ledger"));
    copyTree(backup, node.dir.resolve("ledger"));
    assertThat(vaultRows(node.dir)).hasSize(2);
    node.start();
    try {
      FhirHttp fhir = new FhirHttp(node.url(), node.serviceToken());
      assertThat(fhir.get("/Patient/" + patient).statusCode()).isEqualTo(410);
      assertThat(fhir.get("/Patient/" + keep).statusCode()).isEqualTo(200);
    } finally {
      node.stop();
    }
    assertThat(node.logText()).contains("destroys vault entries this node still held");
    assertThat(vaultRows(node.dir)).hasSize(1);
    assertThat(LedgerVerifier.verify(node.dir).problem()).isNull();
  }

  static void copyTree(Path from, Path to) throws java.io.IOException {
    try (var files = java.nio.file.Files.walk(from)) {
      for (Path f : files.toList()) {
        Path t = to.resolve(from.relativize(f).toString());
        if (java.nio.file.Files.isDirectory(f)) {
          java.nio.file.Files.createDirectories(t);
        } else {
          java.nio.file.Files.copy(f, t);
        }
      }
    }
  }

  static int vaultRowCount(NodeProcess node) throws Exception {
    try (LedgerStore s = LedgerStore.openReadOnly(node.dir.resolve("ledger"))) {
      int[] n = new int[1];
      s.scanPrivate(LedgerStore.PrivateFamily.VAULT, new byte[0], (k, v) -> {
        n[0]++;
        return true;
      });
      return n[0];
    }
  }

  static Map<String, byte[]> vaultEntries(NodeProcess node) throws Exception {
    Map<String, byte[]> rows = new TreeMap<>();
    try (LedgerStore s = LedgerStore.openReadOnly(node.dir.resolve("ledger"))) {
      s.scanPrivate(LedgerStore.PrivateFamily.VAULT, new byte[0], (k, v) -> {
        rows.put(new String(k, StandardCharsets.UTF_8), v);
        return true;
      });
    }
    return rows;
  }

  static byte[] allFileBytes(Path dir) throws Exception {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try (var files = java.nio.file.Files.walk(dir)) {
      for (Path f : files.filter(java.nio.file.Files::isRegularFile).toList()) {
        out.writeBytes(java.nio.file.Files.readAllBytes(f));
      }
    }
    return out.toByteArray();
  }

  static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  static String id(HttpResponse<String> created) {
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    return created.headers().firstValue("Location").orElseThrow()
        .replaceAll(".*/[A-Za-z]+/([^/]+)/_history/.*", "$1");
  }
}
