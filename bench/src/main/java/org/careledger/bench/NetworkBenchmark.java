package org.careledger.bench;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.careledger.client.ApiClient;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.NetworkInit;
import org.careledger.node.Node;
import org.careledger.node.NodeConfig;

/**
 * Committed transactions per second and commit latency of fresh networks of 1, 3 and 5 nodes on
 * this machine's loopback addresses (node K on 127.0.0.K), measured one after the other in the
 * same run, with the load spread over all nodes. Every node runs in this JVM, so all of them,
 * and the load generator, share the machine's cores: each transaction's signature is checked by
 * every node.
 */
public final class NetworkBenchmark {
  private NetworkBenchmark() {}

  /** One network size and what it managed. */
  public record Row(int nodes, LoadGenerator.Result result) {}

  public static List<Row> run(int[] sizes, LoadGenerator.Options o, PrintStream log)
      throws Exception {
    double raw = LoadGenerator.rawVerifyPerSecond(3);
    log.printf("baseline: raw Ed25519 verifications %.0f/s on all cores%n", raw);
    List<Row> rows = new ArrayList<>();
    for (int n : sizes) {
      Path root = WorkDirs.create(o.workDir(), "network-" + n + "-");
      List<Path> dirs = network(root, n);
      List<Node> nodes = new ArrayList<>();
      try {
        List<String> urls = startAll(dirs, nodes);
        Ed25519.KeyPair admin = KeyFile.read(dirs.get(0).resolve("keys/admin.key"), null);
        log.printf("%d node(s) at %s%n", n, urls);
        var before = health(urls.get(0));
        LoadGenerator.Result r = LoadGenerator.load(o, urls, admin, raw, log);
        log.println("  " + r.format());
        var after = health(urls.get(0));
        long blocks = after.get("height").asLong() - before.get("height").asLong();
        long txs = after.get("logSize").asLong() - before.get("logSize").asLong();
        // bigger blocks mean less work per transaction: every block is signed by every node
        // and its signatures travel to the others
        log.printf("  %d blocks during the run (warm-up included), %.1f transactions per"
            + " block%n", blocks, blocks == 0 ? 0.0 : (double) txs / blocks);
        rows.add(new Row(n, r));
      } finally {
        for (Node node : nodes) {
          node.close();
        }
        WorkDirs.delete(root);
      }
    }
    log.println();
    log.println("| nodes | committed tx/s | ratio to 1 node | p50 ms | p99 ms | p99.9 ms |");
    log.println("|---|---|---|---|---|---|");
    double base = rows.get(0).result().txPerSecond();
    for (Row r : rows) {
      log.printf("| %d | %.0f | %.2f | %.1f | %.1f | %.1f |%n", r.nodes(),
          r.result().txPerSecond(), r.result().txPerSecond() / base, r.result().p50ms(),
          r.result().p99ms(), r.result().p999ms());
    }
    return rows;
  }

  /** What one catch-up measurement found. */
  public record CatchUp(long transactions, double commitSeconds, double downCatchUpSeconds,
      double wipedRebuildSeconds) {}

  /**
   * A three-node network commits at least {@code transactions} transactions while its third node
   * is down; then the time for that node, started again, to reach the others' height, and the
   * time for it to reach it again once its ledger directory is wiped. The nodes purge their Raft
   * log right behind each snapshot ({@code raft-log-keep} 0), so the down node catches up from
   * the leader's snapshot (one every 2,000 entries) and the wiped one restores its ledger from
   * its own; with {@code keepLog} they keep the whole log and both replay it. The baseline in
   * the same run is how long the network took to commit them.
   */
  public static CatchUp catchUp(long transactions, LoadGenerator.Options o, PrintStream log)
      throws Exception {
    return catchUp(transactions, false, o, log);
  }

  public static CatchUp catchUp(long transactions, boolean keepLog, LoadGenerator.Options o,
      PrintStream log) throws Exception {
    double raw = LoadGenerator.rawVerifyPerSecond(3);
    Path root = WorkDirs.create(o.workDir(), "catch-up-");
    List<Path> dirs;
    try {
      dirs = network(root, 3);
    } catch (java.io.IOException | RuntimeException e) {
      WorkDirs.delete(root);
      throw e;
    }
    for (Path d : dirs) {
      Path f = d.resolve(NodeConfig.FILE);
      com.fasterxml.jackson.databind.node.ObjectNode c =
          (com.fasterxml.jackson.databind.node.ObjectNode)
              org.careledger.core.json.CanonicalJson.parse(Files.readAllBytes(f));
      // a snapshot every 2,000 entries: about 1 million transactions make 10,000 entries
      c.put("snapshot-every", 2000);
      if (keepLog) {
        c.put("raft-log-keep", "all");
      } else {
        c.put("raft-log-keep", 0);
      }
      Files.writeString(f, c.toPrettyString());
    }
    log.printf("Raft log: %s%n", keepLog ? "kept whole (catch-up by log replay)"
        : "purged behind each snapshot (catch-up from a snapshot)");
    List<Node> nodes = new ArrayList<>();
    try {
      List<String> urls = startAll(dirs, nodes);
      Ed25519.KeyPair admin = KeyFile.read(dirs.get(0).resolve("keys/admin.key"), null);
      nodes.remove(2).close();
      log.printf("node3 stopped; committing %,d transactions through node1 and node2%n",
          transactions);
      List<String> up = urls.subList(0, 2);
      long t0 = System.nanoTime();
      while (logSize(up.get(0)) < transactions) {
        LoadGenerator.Result r = LoadGenerator.load(o, up, admin, raw, log);
        log.printf("  %s; log size %,d%n", r.format(), logSize(up.get(0)));
      }
      double commit = (System.nanoTime() - t0) / 1e9;
      long size = logSize(up.get(0));
      long height = health(up.get(0)).get("height").asLong();
      log.printf("committed: log size %,d, height %,d, in %.1f s%n", size, height, commit);

      long t1 = System.nanoTime();
      Node third = Node.start(NodeConfig.load(dirs.get(2), null), null);
      nodes.add(third);
      awaitHeight(third.baseUrl(), height);
      double down = (System.nanoTime() - t1) / 1e9;
      log.printf("node3 restarted and caught up to height %,d in %.1f s (%s)%n", height, down,
          snapshotNote(third, dirs.get(2)));

      nodes.remove(third);
      third.close();
      WorkDirs.delete(dirs.get(2).resolve("ledger"));
      long t2 = System.nanoTime();
      third = Node.start(NodeConfig.load(dirs.get(2), null), null);
      nodes.add(third);
      awaitHeight(third.baseUrl(), height);
      double wiped = (System.nanoTime() - t2) / 1e9;
      log.printf("node3 with its ledger wiped rebuilt it to height %,d in %.1f s (%s)%n", height,
          wiped, snapshotNote(third, dirs.get(2)));
      log.println();
      log.println("| transactions | network commits them | down node catches up | ratio"
          + " | wiped ledger rebuilt | ratio |");
      log.println("|---|---|---|---|---|---|");
      log.printf("| %,d | %.1f s | %.1f s | %.2f | %.1f s | %.2f |%n", size, commit, down,
          down / commit, wiped, wiped / commit);
      return new CatchUp(size, commit, down, wiped);
    } finally {
      for (Node node : nodes) {
        node.close();
      }
      WorkDirs.delete(root);
    }
  }

  /** Where node3's Raft log now starts and its newest snapshot, from its own view. */
  private static String snapshotNote(Node node, Path dir) throws Exception {
    Ed25519.KeyPair admin = KeyFile.read(dir.resolve("keys/admin.key"), null);
    com.fasterxml.jackson.databind.JsonNode n = new ApiClient(node.baseUrl(), admin)
        .get("/api/v1/network");
    return "its snapshot at Raft index " + n.path("snapshotIndex").asLong()
        + ", its Raft log starts at " + n.path("logStartIndex").asLong();
  }

  /**
   * Starts a node on each data dir, adding each to {@code started} (so the caller closes them
   * whatever happens), and waits for a leader; returns their API URLs.
   */
  private static List<String> startAll(List<Path> dirs, List<Node> started) throws Exception {
    for (Path d : dirs) {
      started.add(Node.start(NodeConfig.load(d, null), null));
    }
    List<String> urls = started.stream().map(Node::baseUrl).toList();
    awaitLeader(urls);
    return urls;
  }

  /** The data dirs of a new network of {@code n} organizations, node K on 127.0.0.K. */
  private static List<Path> network(Path root, int n) throws java.io.IOException {
    List<NetworkInit.OrgPlan> plans = new ArrayList<>();
    for (int k = 1; k <= n; k++) {
      String host = "127.0.0." + k;
      plans.add(new NetworkInit.OrgPlan("org" + k, "Organization " + k, "admin" + k,
          "node" + k, host + ":" + NetworkInit.freePort(host), host + ":0"));
    }
    return NetworkInit.network(root, "careledger-bench", plans, null,
        System.currentTimeMillis());
  }

  private static com.fasterxml.jackson.databind.JsonNode health(String url) throws Exception {
    return new ApiClient(url, null).getPublic("/health");
  }

  private static long logSize(String url) throws Exception {
    return health(url).get("logSize").asLong();
  }

  private static void awaitHeight(String url, long height) throws Exception {
    long end = System.nanoTime() + 3_600_000_000_000L;
    while (System.nanoTime() < end) {
      try {
        if (health(url).get("height").asLong() >= height) {
          return;
        }
      } catch (org.careledger.client.ApiException e) {
        // not serving yet
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException(url + " did not reach height " + height + " in an hour");
  }

  private static void awaitLeader(List<String> urls) throws Exception {
    long end = System.nanoTime() + 60_000_000_000L;
    while (System.nanoTime() < end) {
      for (String u : urls) {
        try {
          if (new ApiClient(u, null).getPublic("/health").path("leader").asBoolean()) {
            return;
          }
        } catch (org.careledger.client.ApiException e) {
          // not ready
        }
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("the network elected no leader within 60 s");
  }
}
