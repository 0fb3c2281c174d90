package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.careledger.client.ApiClient;
import org.careledger.core.json.CanonicalJson;
import org.careledger.node.store.LedgerStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real node processes of a three-organization network whose Raft logs are purged right behind
 * each snapshot: a node that was down while the leader purged the entries it lacked receives
 * the leader's snapshot (a checkpoint of the shared ledger), verifies it and applies the log
 * from there, keeping its own vault; a node that lost its ledger restores it from its own
 * latest snapshot. After each, every acknowledged transaction is on every node, all agree on
 * log root and state digest, and every data dir verifies.
 */
class SnapshotCatchUpTest {
  // kept when a test fails, for the nodes' logs
  @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS) Path tmp;

  /** Snapshots every 20 Raft entries, 1 MB log segments, nothing kept behind a snapshot. */
  private static void purgeEagerly(NodeProcess n) throws Exception {
    n.configure(o -> o.put("snapshot-every", 20).put("raft-log-keep", 0)
        .put("raft-segment-size", "1MB").put("max-batch", 500));
  }

  private static JsonNode raft(NodeProcess n) throws Exception {
    return new ApiClient(n.url(), n.adminKey()).get("/api/v1/network");
  }

  private static final String PATIENT = "{\"resourceType\":\"Patient\",\"name\":[{\"family\":"
      + "\"Snapshot\",\"given\":[\"Kept\"]}],\"gender\":\"female\",\"birthDate\":\"1970-01-01\"}";

  @Test
  void aNodeBehindThePurgedLogCatchesUpFromTheLeadersSnapshot() throws Exception {
    List<NodeProcess> nodes = NodeProcess.network(tmp, 3);
    for (NodeProcess n : nodes) {
      purgeEagerly(n);
    }
    try (NetworkFaultTest.Network net = new NetworkFaultTest.Network(nodes)) {
      net.startAll();
      NodeProcess third = nodes.get(2);
      // a record third's organization holds: its ciphertext is in third's vault only
      FhirHttp records = new FhirHttp(third.url(), third.serviceToken());
      HttpResponse<String> created = records.post("/Patient", PATIENT);
      assertThat(created.statusCode()).isEqualTo(201);
      String id = CanonicalJson.parse(created.body().getBytes()).get("id").asText();

      NetworkFaultTest.Load load = net.load(4);
      load.runFor(Duration.ofSeconds(2));
      if (net.leader() == third) {
        third.stop();
        load.runFor(Duration.ofSeconds(3));
      } else {
        third.stop();
      }
      long thirdApplied;
      try (LedgerStore s = LedgerStore.openReadOnly(third.dir.resolve("ledger"))) {
        thirdApplied = s.appliedIndex();
      }
      // the two others go on until the leader's log no longer holds what third lacks
      NodeProcess leader = net.leader();
      long end = System.nanoTime() + Duration.ofSeconds(180).toNanos();
      long start = -1;
      while (System.nanoTime() < end) {
        load.runFor(Duration.ofSeconds(1));
        start = raft(leader).get("logStartIndex").asLong();
        if (start > thirdApplied + 1) {
          break;
        }
      }
      assertThat(start).as("the leader purged its log past node3's last entry %d", thirdApplied)
          .isGreaterThan(thirdApplied + 1);

      third.start();
      net.check(load, "a node behind the purged log restarted");
      assertThat(third.logText()).contains("installed the leader's snapshot");
      assertThat(raft(third).get("snapshotIndex").asLong()).isGreaterThan(thirdApplied);
      // its own records survive: the snapshot replaced only the shared ledger
      HttpResponse<String> read = new FhirHttp(third.url(), third.serviceToken())
          .get("/Patient/" + id);
      assertThat(read.statusCode()).isEqualTo(200);
      assertThat(read.body()).contains("\"Snapshot\"").contains("\"Kept\"");

      // a node that lost its ledger (its Raft log, purged, no longer starts at entry 1)
      // restores it from its own latest snapshot and applies the rest of the log
      NodeProcess wiped = net.follower();
      wiped.stop();
      assertThat(raftLogStart(wiped)).isGreaterThan(1);
      TestFiles.deleteTree(wiped.dir.resolve("ledger"));
      load.runFor(Duration.ofSeconds(2));
      wiped.start();
      net.check(load, "a node that lost its ledger restarted");
      assertThat(wiped.logText()).contains("restoring it from the snapshot");
      load.stop();
      assertThat(load.acked()).isGreaterThan(300);
    }
  }

  /**
   * Half way and nine tenths of the way to a snapshot, a node flushes its ledger's memtables
   * in the background, so that the snapshot's checkpoint (taken on the thread that applies
   * entries) has little left to flush. Seen from outside: new table files appear in the ledger
   * after nine tenths, before any snapshot was taken; the memtables alone could hold far more
   * than this test writes.
   */
  @Test
  void theLedgerIsFlushedInTheBackgroundBeforeASnapshotIsDue() throws Exception {
    List<NodeProcess> nodes = NodeProcess.network(tmp, 1);
    NodeProcess node = nodes.get(0);
    node.configure(o -> o.put("snapshot-every", 2000));
    try (NetworkFaultTest.Network net = new NetworkFaultTest.Network(nodes)) {
      net.startAll();
      NetworkFaultTest.Load load = net.load(1);
      long applied = 0;
      long tablesBefore = -1;
      long end = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      while (applied < 1850 && System.nanoTime() < end) {
        load.runFor(Duration.ofMillis(applied < 1600 ? 300 : 50));
        applied = raft(node).get("appliedIndex").asLong();
        if (applied < 1750) {
          tablesBefore = tableFiles(node);
        }
      }
      load.stop();
      JsonNode state = raft(node);
      assertThat(state.get("appliedIndex").asLong()).as("the node got near its first snapshot")
          .isBetween(1800L, 1999L);
      assertThat(tablesBefore).isNotNegative();
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (tableFiles(node) <= tablesBefore && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertThat(tableFiles(node)).as("table files in the ledger").isGreaterThan(tablesBefore);
      assertThat(raft(node).path("snapshotIndex").asLong(-1)).as("no snapshot yet")
          .isLessThan(1);
      assertThat(load.acked()).isGreaterThan(100);
    }
  }

  private static long tableFiles(NodeProcess n) throws Exception {
    try (var files = Files.list(n.dir.resolve("ledger"))) {
      return files.filter(f -> f.getFileName().toString().endsWith(".sst")).count();
    }
  }

  /** The first index in a stopped node's Raft log segments (from their file names). */
  private static long raftLogStart(NodeProcess n) throws Exception {
    long first = Long.MAX_VALUE;
    try (var files = Files.walk(n.dir.resolve("raft"))) {
      for (Path f : files.toList()) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("log_(?:inprogress_)?(\\d+).*")
            .matcher(f.getFileName().toString());
        if (m.matches()) {
          first = Math.min(first, Long.parseLong(m.group(1)));
        }
      }
    }
    return first;
  }
}
