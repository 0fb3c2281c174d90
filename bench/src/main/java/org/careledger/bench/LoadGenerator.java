package org.careledger.bench;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.careledger.client.ApiClient;
import org.careledger.client.Transactions;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.crypto.Sha256;
import org.careledger.node.NetworkInit;
import org.careledger.node.Node;
import org.careledger.node.NodeConfig;

/**
 * End-to-end load: many clients submit pre-signed transactions (notary anchors, each signed by
 * one of several registered service identities) over HTTP to a real node and wait for their
 * commit receipts. Reports committed tx/s, commit latency percentiles, and, as the in-run
 * baseline, raw Ed25519 verifications/s on this machine measured in the same run.
 *
 * <p>Closed loop ({@code rate == 0}): {@code clients} requests are always outstanding, which
 * finds the peak. Open loop ({@code rate > 0}): requests are sent on a fixed schedule and the
 * latency is measured from the scheduled time, so a slow node cannot hide its queueing.
 */
public final class LoadGenerator {
  /** What to run. {@code nodeUrl} null means: start a fresh node of our own. */
  public record Options(String nodeUrl, Path adminKey, char[] passphrase, int clients,
      int signers, int seconds, int warmupSeconds, int rate, int batch, boolean ledgerSync,
      Path workDir) {}

  /** What was measured. */
  public record Result(long committed, long failed, double seconds, double txPerSecond,
      double p50ms, double p99ms, double p999ms, double rawVerifyPerSecond) {
    public double ratioToRawVerify() {
      return txPerSecond / rawVerifyPerSecond;
    }

    public String format() {
      return String.format(
          "committed %d tx in %.1f s (%d failed): %.0f tx/s; commit latency p50 %.1f ms, "
              + "p99 %.1f ms, p99.9 %.1f ms; raw Ed25519 verify %.0f/s on all cores; "
              + "ratio committed/raw-verify %.3f",
          committed, seconds, failed, txPerSecond, p50ms, p99ms, p999ms, rawVerifyPerSecond,
          ratioToRawVerify());
    }
  }

  private LoadGenerator() {}

  public static Result run(Options o, java.io.PrintStream log) throws Exception {
    Node fresh = null;
    Path dir = null;
    String url = o.nodeUrl();
    Ed25519.KeyPair admin;
    try {
      if (url == null) {
        dir = WorkDirs.create(o.workDir(), "bench-node");
        int raftPort = WorkDirs.raftPort();
        NetworkInit.init(dir, new NetworkInit.Options("careledger-bench", "org1", "Bench",
            "admin", "node1", "127.0.0.1:" + raftPort, "127.0.0.1:0"), null,
            System.currentTimeMillis());
        if (o.ledgerSync()) {
          NodeConfig.write(dir, "node1", "127.0.0.1:0", true);
        }
        fresh = Node.start(NodeConfig.load(dir, null), null);
        url = fresh.baseUrl();
        admin = KeyFile.read(dir.resolve("keys/admin.key"), null);
        log.println("started a fresh node at " + url + " in " + dir);
      } else {
        admin = KeyFile.read(o.adminKey(), o.passphrase());
      }
      double raw = rawVerifyPerSecond(3);
      log.printf("baseline: raw Ed25519 verifications %.0f/s (%d threads)%n", raw,
          Runtime.getRuntime().availableProcessors());
      Result r = load(o, List.of(url.split(",")), admin, raw, log);
      log.println(r.format());
      return r;
    } finally {
      if (fresh != null) {
        fresh.close();
      }
      if (dir != null) {
        WorkDirs.delete(dir);
      }
    }
  }

  /** Raw Ed25519 verifications per second on all cores, for {@code seconds}. */
  public static double rawVerifyPerSecond(int seconds) throws InterruptedException {
    int threads = Runtime.getRuntime().availableProcessors();
    Ed25519.KeyPair k = Ed25519.KeyPair.generate();
    byte[] pk = k.publicKey();
    byte[] msg = new byte[300];
    byte[] sig = k.sign(msg);
    AtomicLong total = new AtomicLong();
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread th = new Thread(() -> {
        long n = 0;
        while (System.nanoTime() < end) {
          if (!Ed25519.verify(pk, msg, sig)) {
            throw new IllegalStateException("verification failed");
          }
          n++;
        }
        total.addAndGet(n);
      });
      ts.add(th);
      th.start();
    }
    for (Thread th : ts) {
      th.join();
    }
    return total.get() / (double) seconds;
  }

  /**
   * Loads a network: request i goes to node i mod n, as when each organization's clients use
   * their own node. Every node hands its transactions to the leader. A node that cannot be
   * reached or answers 503 is skipped for {@link #DOWN_MS} and its requests go to the next
   * node; the failed request itself counts as failed.
   */
  /** How long a node that failed a request is skipped. */
  static final long DOWN_MS = 3_000;
  /** A request unanswered this long fails (and marks its node down). */
  static final long REQUEST_TIMEOUT_S = 5;

  public static Result load(Options o, List<String> urls, Ed25519.KeyPair admin, double raw,
      java.io.PrintStream log) throws Exception {
    ApiClient api = new ApiClient(urls, admin);
    String chain = api.get("/api/v1/status").get("chain").asText();
    String[] tokens = new String[urls.size()];
    for (int n = 0; n < urls.size(); n++) {
      tokens[n] = new ApiClient(urls.get(n), admin).token();
    }
    long tag = System.currentTimeMillis();
    List<Ed25519.KeyPair> signers = new ArrayList<>();
    for (int i = 0; i < o.signers(); i++) {
      Ed25519.KeyPair k = Ed25519.KeyPair.generate();
      api.submit(Transactions.sign(chain, admin, new Command.Register("load-" + tag + "-" + i,
          Role.SERVICE, k.publicKey(), null), System.currentTimeMillis(),
          Transactions.DEFAULT_VALIDITY_MS));
      signers.add(k);
    }
    int secondsInAll = o.seconds() + o.warmupSeconds();
    int total = o.rate() > 0 ? o.rate() * secondsInAll
        : Math.max(20_000, 12_000 * secondsInAll);
    log.printf("registered %d signers; pre-signing %d transactions%n", signers.size(), total);
    byte[][] txs = new byte[total][];
    long now = System.currentTimeMillis();
    AtomicInteger next = new AtomicInteger();
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < Runtime.getRuntime().availableProcessors(); t++) {
      Thread th = new Thread(() -> {
        for (int i; (i = next.getAndIncrement()) < total; ) {
          Ed25519.KeyPair k = signers.get(i % signers.size());
          byte[] digest = Sha256.hash((tag + "/" + i).getBytes());
          txs[i] = Transactions.sign(chain, k, new Command.Anchor(digest, "load"), now,
              Transactions.DEFAULT_VALIDITY_MS);
        }
      });
      ts.add(th);
      th.start();
    }
    for (Thread th : ts) {
      th.join();
    }
    org.eclipse.jetty.client.HttpClient http = new org.eclipse.jetty.client.HttpClient();
    http.setMaxConnectionsPerDestination(Math.max(8, o.clients()));
    http.setMaxRequestsQueuedPerDestination(1 << 20);
    http.setConnectTimeout(5000);
    http.start();
    try {
      int batch = Math.max(1, o.batch());
      URI[] submits = new URI[urls.size()];
      for (int n = 0; n < urls.size(); n++) {
        submits[n] = URI.create(urls.get(n) + (batch > 1 ? "/api/v1/transactions/batch"
            : "/api/v1/transactions"));
      }
      int requests = total / batch;
      long[] latencies = new long[requests];
      Arrays.fill(latencies, -1);
      AtomicLong ok = new AtomicLong();
      AtomicLong failed = new AtomicLong();
      java.util.concurrent.atomic.AtomicLongArray downUntil =
          new java.util.concurrent.atomic.AtomicLongArray(urls.size());
      for (int n = 0; n < urls.size(); n++) {
        downUntil.set(n, System.nanoTime());
      }
      Semaphore window = new Semaphore(o.clients());
      CountDownLatch done = new CountDownLatch(requests);
      long begin = System.nanoTime();
      // requests scheduled before 'start' warm the node up and are not counted
      long start = begin + o.warmupSeconds() * 1_000_000_000L;
      long deadline = start + o.seconds() * 1_000_000_000L;
      AtomicLong measuredOk = new AtomicLong();
      long interval = o.rate() > 0 ? 1_000_000_000L * batch / o.rate() : 0;
      int sent = 0;
      for (; sent < requests; sent++) {
        long scheduled;
        if (interval > 0) {
          scheduled = begin + sent * interval;
          long wait = scheduled - System.nanoTime();
          if (wait > 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(wait);
          }
        } else {
          window.acquire();
          scheduled = System.nanoTime();
        }
        if (System.nanoTime() > deadline) {
          if (interval == 0) {
            window.release();
          }
          break;
        }
        final int i = sent;
        final long t0 = scheduled;
        byte[] body;
        if (batch == 1) {
          body = txs[i];
        } else {
          java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(batch * 400);
          for (int j = i * batch; j < (i + 1) * batch; j++) {
            out.writeBytes(txs[j]);
            out.write('\n');
          }
          body = out.toByteArray();
        }
        final int node = pick(i % urls.size(), downUntil);
        http.newRequest(submits[node]).method("POST")
            .headers(h -> h.put("Authorization", "Bearer " + tokens[node]))
            .timeout(REQUEST_TIMEOUT_S, java.util.concurrent.TimeUnit.SECONDS)
            .body(new org.eclipse.jetty.client.BytesRequestContent(
                batch == 1 ? "application/json" : "application/x-ndjson", body))
            .send(new org.eclipse.jetty.client.BufferingResponseListener(64 * 1024 * 1024) {
              @Override
              public void onComplete(org.eclipse.jetty.client.Result result) {
                if (!result.isFailed() && result.getResponse().getStatus() == 200) {
                  int good = batch == 1 ? 1 : countReceipts(getContentAsString());
                  ok.addAndGet(good);
                  failed.addAndGet(batch - good);
                  if (t0 >= start) {
                    latencies[i] = System.nanoTime() - t0;
                    measuredOk.addAndGet(good);
                  }
                } else {
                  failed.addAndGet(batch);
                  if (result.isFailed() || result.getResponse().getStatus() == 503) {
                    downUntil.set(node, System.nanoTime() + DOWN_MS * 1_000_000L);
                  }
                }
                if (interval == 0) {
                  window.release();
                }
                done.countDown();
              }
            });
      }
      for (int i = sent; i < requests; i++) {
        done.countDown();
      }
      done.await();
      double secs = (System.nanoTime() - start) / 1e9;
      long[] lat = Arrays.stream(latencies).filter(l -> l >= 0).sorted().toArray();
      return new Result(measuredOk.get(), failed.get(), secs, measuredOk.get() / secs,
          pct(lat, 0.50),
          pct(lat, 0.99), pct(lat, 0.999), raw);
    } finally {
      http.stop();
    }
  }

  /** The first node from {@code first} on that is not marked down; {@code first} if all are. */
  private static int pick(int first, java.util.concurrent.atomic.AtomicLongArray downUntil) {
    long now = System.nanoTime();
    int n = downUntil.length();
    for (int k = 0; k < n; k++) {
      int c = (first + k) % n;
      if (downUntil.get(c) - now <= 0) {
        return c;
      }
    }
    return first;
  }

  private static int countReceipts(String ndjson) {
    int n = 0;
    for (String line : ndjson.split("\n")) {
      if (line.startsWith("{\"height\":")) {
        n++;
      }
    }
    return n;
  }

  private static double pct(long[] sorted, double p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    return sorted[(int) Math.min(sorted.length - 1, Math.floor(p * sorted.length))] / 1e6;
  }
}
