package org.careledger.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.careledger.client.ApiClient;
import org.careledger.client.Transactions;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.NetworkInit;
import org.careledger.node.Node;
import org.careledger.node.NodeConfig;

/**
 * Audited reads: a clinician of another organization reads a patient's records under the
 * patient's consent, so each read is a consent check, an access event committed on the
 * ledger, a decryption and a commitment check. The same workload runs, in the same process
 * and run, against a second node with {@code audit-reads} off; the ratio is what strict audit
 * costs. Latency is measured open loop at a steady rate (from each request's scheduled time,
 * so a stall counts against it), throughput closed loop at saturation.
 */
public final class AuditBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Settings: records to read from, steady rate, seconds per phase, saturation clients. */
  public record Options(int records, int rate, int seconds, int clients, Path workDir) {}

  /** One node's figures. */
  public record Figures(double p50, double p99, double saturation) {}

  private AuditBenchmark() {}

  public static void run(Options o, PrintStream log) throws Exception {
    Figures on = measure(o, true, log);
    Figures off = measure(o, false, log);
    log.printf("audited reads cost: steady p50 %.2f vs %.2f ms, p99 %.2f vs %.2f ms;"
        + " saturation %.0f vs %.0f reads/s, ratio %.3f%n", on.p50(), off.p50(), on.p99(),
        off.p99(), on.saturation(), off.saturation(), on.saturation() / off.saturation());
  }

  private static Figures measure(Options o, boolean audit, PrintStream log) throws Exception {
    Path dir = WorkDirs.create(o.workDir(), audit ? "audit-on" : "audit-off");
    try {
      return measure(o, audit, dir, log);
    } finally {
      WorkDirs.delete(dir);
    }
  }

  private static Figures measure(Options o, boolean audit, Path dir, PrintStream log)
      throws Exception {
    NetworkInit.init(dir, new NetworkInit.Options("careledger-bench", "org1", "Bench", "admin",
        "node1", "127.0.0.1:" + WorkDirs.raftPort(), "127.0.0.1:0", List.of(new NetworkInit.Member("org2",
            "Other"))), null, System.currentTimeMillis());
    if (!audit) {
      Path cfg = dir.resolve(NodeConfig.FILE);
      Files.writeString(cfg, Files.readString(cfg).replace("\"validate-on-write\"",
          "\"audit-reads\" : false,\n  \"validate-on-write\""));
    }
    try (Node node = Node.start(NodeConfig.load(dir, null), null)) {
      String url = node.baseUrl();
      Ed25519.KeyPair admin = KeyFile.read(dir.resolve("keys/admin.key"), null);
      Ed25519.KeyPair admin2 = KeyFile.read(dir.resolve("keys/org2-admin.key"), null);
      Ed25519.KeyPair service = register(url, admin, "svc", Role.SERVICE);
      Ed25519.KeyPair dr = register(url, admin2, "dr-other", Role.PRACTITIONER);
      List<String> ids = load(url, new ApiClient(url, service), o.records(), dr);
      String token = new ApiClient(url, dr).token();
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      // warm-up, not measured
      closedLoop(http, url, token, ids, o.clients(), Math.max(3, o.seconds() / 2));
      long[] lat = openLoop(http, url, token, ids, o.rate(), o.seconds());
      double sat = closedLoop(http, url, token, ids, o.clients(), o.seconds());
      Figures f = new Figures(pct(lat, 0.5), pct(lat, 0.99), sat);
      log.printf("audit-reads %s: at %d reads/s p50 %.2f ms p99 %.2f ms (%d reads);"
          + " saturation %.0f reads/s (%d clients)%n", audit ? "on " : "off", o.rate(), f.p50(),
          f.p99(), lat.length, f.saturation(), o.clients());
      return f;
    }
  }

  static Ed25519.KeyPair register(String url, Ed25519.KeyPair by, String id, Role role)
      throws Exception {
    Ed25519.KeyPair k = Ed25519.KeyPair.generate();
    new ApiClient(url, by).submit(Transactions.sign("careledger-bench", by,
        new Command.Register(id, role, k.publicKey(), null), System.currentTimeMillis(),
        Transactions.DEFAULT_VALIDITY_MS));
    return k;
  }

  /** A patient with {@code n} Observations, enrolled, who grants org2 TREAT access. */
  private static List<String> load(String url, ApiClient service, int n, Ed25519.KeyPair dr)
      throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    String token = service.token();
    String pid = "bench-patient";
    post(http, url + "/fhir/Patient/" + pid, token, "{\"resourceType\":\"Patient\",\"id\":\""
        + pid + "\"}", "PUT");
    List<String> ids = new ArrayList<>();
    for (int from = 0; from < n; from += 100) {
      StringBuilder b = new StringBuilder("{\"resourceType\":\"Bundle\",\"type\":\"transaction\","
          + "\"entry\":[");
      for (int i = from; i < Math.min(n, from + 100); i++) {
        String id = "obs-" + i;
        ids.add("Observation/" + id);
        b.append(i == from ? "" : ",").append("{\"resource\":{\"resourceType\":\"Observation\","
            + "\"id\":\"").append(id).append("\",\"status\":\"final\",\"code\":{\"coding\":[{"
            + "\"system\":\"http://loinc.org\",\"code\":\"29463-7\"}],\"text\":\"Body weight\"},"
            + "\"subject\":{\"reference\":\"Patient/").append(pid).append("\"},"
            + "\"valueQuantity\":{\"value\":").append(60 + i % 40).append(",\"unit\":\"kg\"}},"
            + "\"request\":{\"method\":\"PUT\",\"url\":\"Observation/").append(id).append("\"}}");
      }
      post(http, url + "/fhir", token, b.append("]}").toString(), "POST");
    }
    JsonNode offer = service.post("/api/v1/enrollments", ("{\"patient\":\"" + pid + "\"}")
        .getBytes(StandardCharsets.UTF_8));
    Ed25519.KeyPair pk = Ed25519.KeyPair.generate();
    ApiClient patient = new ApiClient(url, pk);
    patient.postPublic("/api/v1/enroll", Transactions.sign("careledger-bench", pk,
        new Command.Enroll(offer.get("code").asText(), "bench-patient", pk.publicKey()),
        System.currentTimeMillis(), Transactions.DEFAULT_VALIDITY_MS));
    long now = System.currentTimeMillis();
    patient.submit(Transactions.sign("careledger-bench", pk, new Command.Grant(
        "00000000000000000000000000000001", "org:org2", List.of("Observation"), List.of(),
        List.of("TREAT"), now - 1000, now + 86_400_000L, List.of()), now,
        Transactions.DEFAULT_VALIDITY_MS));
    return ids;
  }

  private static void post(HttpClient http, String url, String token, String body,
      String method) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/fhir+json")
        .method(method, HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 300) {
      throw new IllegalStateException("loading failed: HTTP " + r.statusCode());
    }
  }

  private static HttpRequest read(String url, String token, String id) {
    return HttpRequest.newBuilder(URI.create(url + "/fhir/" + id))
        .header("Authorization", "Bearer " + token).GET().build();
  }

  /** Requests at a fixed rate; latency from each one's scheduled start. */
  private static long[] openLoop(HttpClient http, String url, String token, List<String> ids,
      int rate, int seconds) throws Exception {
    Random rnd = new Random(7);
    int total = rate * seconds;
    long interval = 1_000_000_000L / rate;
    long start = System.nanoTime();
    ConcurrentLinkedQueue<Long> lat = new ConcurrentLinkedQueue<>();
    AtomicLong failures = new AtomicLong();
    List<CompletableFuture<?>> all = new ArrayList<>(total);
    for (int i = 0; i < total; i++) {
      long due = start + i * interval;
      long wait = due - System.nanoTime();
      if (wait > 0) {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      }
      all.add(http.sendAsync(read(url, token, ids.get(rnd.nextInt(ids.size()))),
          HttpResponse.BodyHandlers.discarding()).thenAccept(r -> {
            if (r.statusCode() != 200) {
              failures.incrementAndGet();
            }
            lat.add(System.nanoTime() - due);
          }));
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
    if (failures.get() > 0) {
      throw new IllegalStateException(failures.get() + " reads failed");
    }
    long[] out = lat.stream().mapToLong(Long::longValue).toArray();
    Arrays.sort(out);
    return out;
  }

  /** Reads/s with {@code clients} back-to-back readers. */
  private static double closedLoop(HttpClient http, String url, String token, List<String> ids,
      int clients, int seconds) throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong done = new AtomicLong();
    AtomicLong failures = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      Random rnd = new Random(c);
      Thread t = new Thread(() -> {
        while (!stop.get()) {
          try {
            HttpResponse<Void> r = http.send(read(url, token, ids.get(rnd.nextInt(ids.size()))),
                HttpResponse.BodyHandlers.discarding());
            if (r.statusCode() == 200) {
              done.incrementAndGet();
            } else {
              failures.incrementAndGet();
            }
          } catch (Exception e) {
            failures.incrementAndGet();
          }
        }
      });
      t.start();
      threads.add(t);
    }
    long t0 = System.nanoTime();
    long before = done.get();
    Thread.sleep(seconds * 1000L);
    long after = done.get();
    double rate = (after - before) / ((System.nanoTime() - t0) / 1e9);
    stop.set(true);
    for (Thread t : threads) {
      t.join();
    }
    if (failures.get() > 0) {
      throw new IllegalStateException(failures.get() + " reads failed");
    }
    return rate;
  }

  private static double pct(long[] sorted, double p) {
    return sorted[Math.min(sorted.length - 1, (int) (p * sorted.length))] / 1e6;
  }
}
