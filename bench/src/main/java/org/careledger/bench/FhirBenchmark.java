package org.careledger.bench;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.validation.FhirValidator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.careledger.client.ApiClient;
import org.careledger.client.Importer;
import org.careledger.client.keys.KeyFile;
import org.careledger.node.NetworkInit;
import org.careledger.node.Node;
import org.careledger.node.NodeConfig;
import org.careledger.node.fhir.FullValidator;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;

/**
 * Records end to end: FHIR transaction bundles through {@code /fhir} of a fresh node (strict
 * checks, encryption and anchoring included), the same through {@code careledger import}, read
 * by id; and in the same run the baselines: the same resources as JSONB rows in PostgreSQL
 * (batched, one transaction per bundle, synchronous commit), and HAPI's full validator out of
 * the box against this node's shared, parallel one.
 */
public final class FhirBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What to run; {@code postgresUrl} null skips the PostgreSQL baseline. {@code warmupRounds}
   * rounds of the bundles are posted first and not measured (the node's write path is large
   * and takes tens of thousands of resources to be compiled, and a node runs for far longer).
   */
  public record Options(Path bundles, int repeats, int warmupRounds, int threads, int reads,
      String postgresUrl, int validations, Path workDir) {}

  private FhirBenchmark() {}

  public static void run(Options o, PrintStream log) throws Exception {
    List<String> bundles = new ArrayList<>();
    int perRound = 0;
    try (Stream<Path> s = Files.walk(o.bundles())) {
      for (Path p : s.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
        String text = Files.readString(p);
        JsonNode b = JSON.readTree(text);
        if ("Bundle".equals(b.path("resourceType").asText())
            && "transaction".equals(b.path("type").asText())) {
          bundles.add(text);
          perRound += b.path("entry").size();
        }
      }
    }
    log.printf("data: %d transaction bundles, %d resources per round, %d rounds%n",
        bundles.size(), perRound, o.repeats());
    Path dir = WorkDirs.create(o.workDir(), "fhir-bench-node");
    try {
      ingestAndRead(o, bundles, perRound, dir, log);
    } finally {
      WorkDirs.delete(dir);
    }
    if (o.validations() > 0) {
      validation(bundles, o.validations(), log);
    }
  }

  private static void ingestAndRead(Options o, List<String> bundles, int perRound, Path dir,
      PrintStream log) throws Exception {
    NetworkInit.init(dir, new NetworkInit.Options("careledger-bench", "org1", "Bench", "admin",
        "node1", "127.0.0.1:" + WorkDirs.raftPort(), "127.0.0.1:0"), null,
        System.currentTimeMillis());
    try (Node node = Node.start(NodeConfig.load(dir, null), null)) {
      // a service identity of the custodian: it writes, and reads under the treating rule
      // (every read commits its access event first); admins do not read PHI
      ApiClient admin = new ApiClient(node.baseUrl(), AuditBenchmark.register(node.baseUrl(),
          KeyFile.read(dir.resolve("keys/admin.key"), null), "bench-service",
          org.careledger.core.contract.Role.SERVICE));
      String token = admin.token();
      org.eclipse.jetty.client.HttpClient jetty = new org.eclipse.jetty.client.HttpClient();
      jetty.setMaxConnectionsPerDestination(Math.max(8, o.threads()));
      jetty.start();
      // warm-up, not measured
      List<String> warmup = new ArrayList<>();
      for (int r = 0; r < o.warmupRounds(); r++) {
        warmup.addAll(bundles);
      }
      if (warmup.isEmpty()) {
        warmup.add(bundles.get(0));
      }
      parallel(warmup, o.threads(), b -> post(jetty, node.baseUrl(), token, b, null));
      log.printf("warm-up: %d rounds (%d resources), not measured%n", o.warmupRounds(),
          perRound * o.warmupRounds());
      List<String> locations = Collections.synchronizedList(new ArrayList<>());
      List<String> work = new ArrayList<>();
      for (int r = 0; r < o.repeats(); r++) {
        work.addAll(bundles);
      }
      double restRate = parallel(work, o.threads(),
          b -> post(jetty, node.baseUrl(), token, b, locations));
      log.printf("ingest via /fhir: %.0f resources/s (%d resources, %d threads)%n", restRate,
          perRound * o.repeats(), o.threads());

      Importer.Report imported = new Importer(admin, null, o.threads(), new PrintStream(
          java.io.OutputStream.nullOutputStream())).run(Importer.read(o.bundles()));
      double importRate = (imported.created() + imported.unchanged()) / imported.seconds();
      log.printf("ingest via careledger import: %.0f resources/s (%d resources)%n", importRate,
          imported.created() + imported.unchanged());

      long[] cold = readLatencies(jetty, node.baseUrl(), token, locations, o.reads());
      log.printf("read by id via /fhir, first reads after ingest: p50 %.2f ms, p99 %.2f ms"
          + " (%d reads, one client)%n", pct(cold, 0.5), pct(cold, 0.99), cold.length);
      // steady state: HAPI's server code is large and takes thousands of requests to compile
      readLatencies(jetty, node.baseUrl(), token, locations, 5000);
      long[] lat = readLatencies(jetty, node.baseUrl(), token, locations, o.reads());
      log.printf("read by id via /fhir, steady (after 5,000 more): p50 %.2f ms, p99 %.2f ms"
          + " (%d reads, one client); p90 %.2f ms, p99.9 %.2f ms, slowest %.2f ms%n",
          pct(lat, 0.5), pct(lat, 0.99), lat.length, pct(lat, 0.9), pct(lat, 0.999),
          lat[lat.length - 1] / 1e6);
      jetty.stop();

      if (o.postgresUrl() != null) {
        double pgRate = postgresIngest(o.postgresUrl(), work, o.threads());
        postgresReads(o.postgresUrl(), 5000);
        long[] pgLat = postgresReads(o.postgresUrl(), o.reads());
        log.printf("baseline PostgreSQL JSONB: %.0f resources/s; read by id p50 %.2f ms,"
            + " p99 %.2f ms%n", pgRate, pct(pgLat, 0.5), pct(pgLat, 0.99));
        log.printf("ratios: /fhir ingest %.3f of PostgreSQL, import %.3f; read p99 %.1f x"
            + " PostgreSQL's%n", restRate / pgRate, importRate / pgRate,
            pct(lat, 0.99) / pct(pgLat, 0.99));
      }
    }
  }

  interface Job {
    void run(String bundle) throws Exception;
  }

  private static double parallel(List<String> work, int threads, Job job) throws Exception {
    // counted before the clock starts, so that the client spends nothing on it meanwhile
    java.util.Map<String, Integer> entries = new java.util.IdentityHashMap<>();
    for (String b : work) {
      entries.computeIfAbsent(b, x -> {
        try {
          return JSON.readTree(x).path("entry").size();
        } catch (java.io.IOException e) {
          throw new IllegalStateException(e);
        }
      });
    }
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    AtomicLong resources = new AtomicLong();
    long start = System.nanoTime();
    List<Future<?>> fs = new ArrayList<>();
    for (String b : work) {
      fs.add(pool.submit(() -> {
        job.run(b);
        resources.addAndGet(entries.get(b));
        return null;
      }));
    }
    for (Future<?> f : fs) {
      f.get();
    }
    pool.shutdown();
    return resources.get() / ((System.nanoTime() - start) / 1e9);
  }

  /** Posts with Jetty's client, which costs the shared CPUs less than the JDK's. */
  private static void post(org.eclipse.jetty.client.HttpClient http, String base, String token,
      String bundle, List<String> locations) throws Exception {
    org.eclipse.jetty.client.ContentResponse r = http.newRequest(base + "/fhir").method("POST")
        .headers(h -> h.put("Authorization", "Bearer " + token))
        .timeout(5, java.util.concurrent.TimeUnit.MINUTES)
        .body(new org.eclipse.jetty.client.BytesRequestContent("application/fhir+json",
            bundle.getBytes(java.nio.charset.StandardCharsets.UTF_8))).send();
    if (r.getStatus() != 200) {
      throw new IllegalStateException("bundle refused: HTTP " + r.getStatus());
    }
    // the locations are needed only for the reads: a few thousand are plenty
    if (locations != null && locations.size() < 5000) {
      for (JsonNode e : JSON.readTree(r.getContent()).path("entry")) {
        locations.add(e.path("response").path("location").asText().split("/_history")[0]);
      }
    }
  }

  private static long[] readLatencies(org.eclipse.jetty.client.HttpClient http, String base,
      String token, List<String> locations, int reads) throws Exception {
    Random rnd = new Random(1);
    long[] lat = new long[reads];
    for (int i = 0; i < reads; i++) {
      String where = locations.get(rnd.nextInt(locations.size()));
      long t0 = System.nanoTime();
      org.eclipse.jetty.client.ContentResponse r = http.newRequest(base + "/fhir/" + where)
          .headers(h -> h.put("Authorization", "Bearer " + token)).send();
      lat[i] = System.nanoTime() - t0;
      if (r.getStatus() != 200) {
        throw new IllegalStateException("read failed: HTTP " + r.getStatus());
      }
    }
    java.util.Arrays.sort(lat);
    return lat;
  }

  private static final List<String> PG_IDS = Collections.synchronizedList(new ArrayList<>());

  private static double postgresIngest(String url, List<String> work, int threads)
      throws Exception {
    try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS resources");
      s.execute("CREATE TABLE resources (id text PRIMARY KEY, type text NOT NULL,"
          + " resource jsonb NOT NULL)");
    }
    ThreadLocal<Connection> conns = new ThreadLocal<>();
    List<Connection> all = Collections.synchronizedList(new ArrayList<>());
    double rate = parallel(work, threads, b -> {
      Connection c = conns.get();
      if (c == null) {
        c = DriverManager.getConnection(url);
        c.setAutoCommit(false);
        conns.set(c);
        all.add(c);
      }
      try (PreparedStatement ps = c.prepareStatement(
          "INSERT INTO resources (id, type, resource) VALUES (?, ?, ?::jsonb)")) {
        for (JsonNode e : JSON.readTree(b).path("entry")) {
          String id = UUID.randomUUID().toString();
          ps.setString(1, id);
          ps.setString(2, e.path("resource").path("resourceType").asText());
          ps.setString(3, e.path("resource").toString());
          ps.addBatch();
          PG_IDS.add(id);
        }
        ps.executeBatch();
      }
      c.commit();
    });
    for (Connection c : all) {
      c.close();
    }
    return rate;
  }

  private static long[] postgresReads(String url, int reads) throws Exception {
    Random rnd = new Random(1);
    long[] lat = new long[reads];
    try (Connection c = DriverManager.getConnection(url);
        PreparedStatement ps = c.prepareStatement("SELECT resource FROM resources WHERE id = ?")) {
      for (int i = 0; i < reads; i++) {
        ps.setString(1, PG_IDS.get(rnd.nextInt(PG_IDS.size())));
        long t0 = System.nanoTime();
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            throw new IllegalStateException("row missing");
          }
          rs.getString(1);
        }
        lat[i] = System.nanoTime() - t0;
      }
    }
    java.util.Arrays.sort(lat);
    return lat;
  }

  /** HAPI's validator as a new user configures it, against this node's shared one. */
  private static void validation(List<String> bundles, int n, PrintStream log) throws Exception {
    FhirContext ctx = FhirContext.forR4();
    List<IBaseResource> resources = new ArrayList<>();
    for (String b : bundles) {
      for (Bundle.BundleEntryComponent e : ctx.newJsonParser().parseResource(Bundle.class, b)
          .getEntry()) {
        if (resources.size() < n) {
          resources.add(e.getResource());
        }
      }
    }
    FhirValidator plain = ctx.newValidator();
    plain.registerValidatorModule(new FhirInstanceValidator(ctx));
    for (int i = 0; i < Math.min(20, resources.size()); i++) {
      plain.validateWithResult(resources.get(i));
    }
    long t0 = System.nanoTime();
    for (IBaseResource r : resources) {
      plain.validateWithResult(r);
    }
    double plainRate = resources.size() / ((System.nanoTime() - t0) / 1e9);
    FullValidator ours = new FullValidator(false);
    for (int i = 0; i < Math.min(20, resources.size()); i++) {
      ours.validate(resources.get(i), List.of());
    }
    t0 = System.nanoTime();
    resources.parallelStream().forEach(r -> ours.validate(r, List.of()));
    double oursRate = resources.size() / ((System.nanoTime() - t0) / 1e9);
    log.printf("full validation: HAPI out of the box %.0f resources/s (one thread); this node's"
        + " %.0f resources/s (shared validator, %d threads); ratio %.2f%n", plainRate, oursRate,
        Runtime.getRuntime().availableProcessors(), oursRate / plainRate);
  }

  private static double pct(long[] sorted, double p) {
    return sorted[(int) Math.min(sorted.length - 1, Math.floor(p * sorted.length))] / 1e6;
  }
}
