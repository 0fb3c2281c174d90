package org.careledger.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Sha256;

/**
 * Bulk import of FHIR Bundles (JSON files, folders, NDJSON) into a node's {@code /fhir}.
 *
 * <p>Each input bundle becomes one FHIR transaction (all or nothing). Entries that would be
 * created with a server-assigned id are sent as updates with an id derived from their
 * {@code fullUrl} (or from their place and content), and the server adds no version for a
 * resource that is unchanged, so running an import twice adds nothing twice. A state file
 * records the bundles already imported; after a crash the import simply runs again.
 */
public final class Importer {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int NDJSON_CHUNK = 100;
  /** Entries per transaction; larger bundles are split (their references resolved first). */
  static final int CHUNK = 1000;

  /** One transaction to send: where it came from, its digest, and its entry count. */
  public record Unit(String source, String digest, ObjectNode bundle, int resources) {}

  /** The outcome. */
  public record Report(int units, int skipped, long created, long unchanged, double seconds,
      List<String> rejected) {}

  private final ApiClient api;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10)).build();
  private final Path stateFile;
  private final int threads;
  private final PrintStream progress;

  public Importer(ApiClient api, Path stateFile, int threads, PrintStream progress) {
    this.api = api;
    this.stateFile = stateFile;
    this.threads = threads;
    this.progress = progress;
  }

  /** Reads every unit under {@code path}; refuses input that is not FHIR JSON. */
  public static List<Unit> read(Path path) throws IOException {
    List<Path> files;
    if (Files.isDirectory(path)) {
      try (Stream<Path> s = Files.walk(path)) {
        files = s.filter(p -> p.toString().endsWith(".json") || p.toString().endsWith(".ndjson"))
            .filter(Files::isRegularFile).sorted().toList();
      }
    } else if (Files.isRegularFile(path)) {
      files = List.of(path);
    } else {
      throw new IOException("no file or folder at " + path);
    }
    List<Unit> units = new ArrayList<>();
    for (Path f : files) {
      String name = path.equals(f) ? f.getFileName().toString() : path.relativize(f).toString();
      if (f.toString().endsWith(".ndjson")) {
        List<JsonNode> loose = new ArrayList<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
          lineNo++;
          if (line.isBlank()) {
            continue;
          }
          JsonNode r = parse(line, name + " line " + lineNo);
          if ("Bundle".equals(r.path("resourceType").asText())) {
            units.addAll(units(name + " line " + lineNo, line, (ObjectNode) r));
          } else {
            loose.add(r);
          }
        }
        for (int i = 0; i < loose.size(); i += NDJSON_CHUNK) {
          List<JsonNode> chunk = loose.subList(i, Math.min(loose.size(), i + NDJSON_CHUNK));
          units.addAll(units(name + " resources " + (i + 1) + "-" + (i + chunk.size()),
              chunk.toString(), wrap(chunk)));
        }
      } else {
        String text = Files.readString(f);
        JsonNode r = parse(text, name);
        units.addAll(units(name, text, "Bundle".equals(r.path("resourceType").asText())
            ? (ObjectNode) r : wrap(List.of(r))));
      }
    }
    // biggest first, so that the last bundles running do not leave the other threads idle
    units.sort((a, b) -> Integer.compare(b.resources(), a.resources()));
    return units;
  }

  /**
   * One unit per bundle, or several for a bundle of more than {@link #CHUNK} entries: its
   * fullUrl references are resolved here to the stable ids, so its chunks stand alone.
   */
  private static List<Unit> units(String source, String text, ObjectNode bundle) {
    Unit whole = unit(source, text, bundle);
    ArrayNode entries = (ArrayNode) whole.bundle().get("entry");
    if (entries.size() <= CHUNK) {
      return List.of(whole);
    }
    java.util.Map<String, String> target = new java.util.HashMap<>();
    for (JsonNode e : entries) {
      if (e.hasNonNull("fullUrl") && e.has("resource")) {
        target.put(e.get("fullUrl").asText(), e.get("request").get("url").asText());
      }
    }
    for (JsonNode e : entries) {
      if (e.has("resource")) {
        resolve(e.get("resource"), target);
      }
    }
    List<Unit> out = new ArrayList<>();
    for (int i = 0; i < entries.size(); i += CHUNK) {
      ObjectNode tx = JSON.createObjectNode();
      tx.put("resourceType", "Bundle");
      tx.put("type", "transaction");
      ArrayNode part = tx.putArray("entry");
      for (int j = i; j < Math.min(entries.size(), i + CHUNK); j++) {
        part.add(entries.get(j));
      }
      out.add(new Unit(source + " entries " + (i + 1) + "-" + (i + part.size()),
          whole.digest() + "#" + (i / CHUNK), tx, part.size()));
    }
    return out;
  }

  private static void resolve(JsonNode node, java.util.Map<String, String> target) {
    if (node instanceof ObjectNode o) {
      JsonNode ref = o.get("reference");
      if (ref != null && ref.isTextual() && target.containsKey(ref.asText())) {
        o.put("reference", target.get(ref.asText()));
      }
      o.elements().forEachRemaining(c -> resolve(c, target));
    } else if (node instanceof ArrayNode a) {
      a.forEach(c -> resolve(c, target));
    }
  }

  private static JsonNode parse(String text, String where) throws IOException {
    JsonNode r;
    try {
      r = JSON.readTree(text);
    } catch (IOException e) {
      throw new IOException(where + " is not JSON");
    }
    if (r == null || !r.isObject() || !r.path("resourceType").isTextual()) {
      throw new IOException(where + " is not a FHIR resource (no resourceType)");
    }
    return r;
  }

  private static ObjectNode wrap(List<JsonNode> resources) {
    ObjectNode b = JSON.createObjectNode();
    b.put("resourceType", "Bundle");
    b.put("type", "transaction");
    ArrayNode entries = b.putArray("entry");
    for (JsonNode r : resources) {
      entries.addObject().set("resource", r);
    }
    return b;
  }

  /** Turns a bundle into a transaction of updates with stable ids. */
  private static Unit unit(String source, String text, ObjectNode bundle) {
    String digest = Codec.hex(Sha256.hash(text.getBytes(StandardCharsets.UTF_8)));
    ObjectNode tx = JSON.createObjectNode();
    tx.put("resourceType", "Bundle");
    tx.put("type", "transaction");
    ArrayNode out = tx.putArray("entry");
    int i = 0;
    for (JsonNode e : bundle.path("entry")) {
      JsonNode r = e.get("resource");
      String method = e.path("request").path("method").asText("POST");
      if (r == null || !r.isObject() || method.equals("DELETE") || method.equals("GET")) {
        if (method.equals("DELETE")) {
          out.add(e);
        }
        i++;
        continue;
      }
      String type = r.path("resourceType").asText();
      String id;
      if (method.equals("PUT") && e.path("request").path("url").asText().contains("/")) {
        id = e.path("request").path("url").asText().split("/")[1].split("\\?")[0];
      } else if (e.hasNonNull("fullUrl")) {
        id = stableId(e.get("fullUrl").asText());
      } else if (r.hasNonNull("id") && !"transaction".equals(bundle.path("type").asText())) {
        id = r.get("id").asText();
      } else {
        id = stableId(source + "#" + i + "#" + Codec.hex(Sha256.hash(
            r.toString().getBytes(StandardCharsets.UTF_8))));
      }
      ObjectNode copy = ((ObjectNode) r).deepCopy();
      copy.put("id", id);
      ObjectNode entry = out.addObject();
      if (e.hasNonNull("fullUrl")) {
        entry.put("fullUrl", e.get("fullUrl").asText());
      }
      entry.set("resource", copy);
      entry.putObject("request").put("method", "PUT").put("url", type + "/" + id);
      i++;
    }
    return new Unit(source, digest, tx, out.size());
  }

  static String stableId(String seed) {
    return UUID.nameUUIDFromBytes(("careledger-import|" + seed).getBytes(StandardCharsets.UTF_8))
        .toString();
  }

  public Report run(List<Unit> units) throws Exception {
    Set<String> done = Collections.synchronizedSet(new HashSet<>());
    if (stateFile != null && Files.exists(stateFile)) {
      done.addAll(Files.readAllLines(stateFile));
    }
    long total = units.stream().filter(u -> !done.contains(u.digest()))
        .mapToLong(Unit::resources).sum();
    AtomicLong sent = new AtomicLong();
    AtomicLong created = new AtomicLong();
    AtomicLong unchanged = new AtomicLong();
    List<String> rejected = Collections.synchronizedList(new ArrayList<>());
    String token = api.token();
    long start = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    int skipped = 0;
    List<Future<?>> jobs = new ArrayList<>();
    for (Unit u : units) {
      if (done.contains(u.digest())) {
        skipped++;
        continue;
      }
      jobs.add(pool.submit(() -> {
        send(u, token, created, unchanged, rejected);
        sent.addAndGet(u.resources());
        synchronized (this) {
          if (stateFile != null && !rejected.toString().contains(u.source() + ":")) {
            Files.writeString(stateFile, u.digest() + "\n", StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
          }
        }
        return null;
      }));
    }
    pool.shutdown();
    Thread bar = new Thread(() -> {
      boolean tty = System.console() != null;
      long last = 0;
      while (!pool.isTerminated()) {
        long now = System.nanoTime();
        if (tty || now - last > 2_000_000_000L) {
          print(sent.get(), total, start, tty);
          last = now;
        }
        try {
          Thread.sleep(tty ? 250 : 500);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "progress");
    bar.setDaemon(true);
    bar.start();
    for (Future<?> j : jobs) {
      j.get();
    }
    bar.interrupt();
    print(sent.get(), total, start, System.console() != null);
    progress.println();
    return new Report(units.size(), skipped, created.get(), unchanged.get(),
        (System.nanoTime() - start) / 1e9, List.copyOf(rejected));
  }

  private void print(long sent, long total, long start, boolean tty) {
    double secs = Math.max(0.001, (System.nanoTime() - start) / 1e9);
    double rate = sent / secs;
    int width = 30;
    int filled = total == 0 ? width : (int) (width * sent / total);
    String eta = rate > 0 && total > sent ? String.format("%.0fs", (total - sent) / rate) : "0s";
    String line = String.format("[%s%s] %3d%% %d/%d resources  %.0f res/s  ETA %s",
        "#".repeat(filled), "-".repeat(width - filled),
        total == 0 ? 100 : (int) (100 * sent / total), sent, total, rate, eta);
    progress.print(tty ? "\r" + line : line + "\n");
    progress.flush();
  }

  private void send(Unit u, String token, AtomicLong created, AtomicLong unchanged,
      List<String> rejected) throws IOException, InterruptedException {
    HttpRequest req = HttpRequest.newBuilder(URI.create(api.node() + "/fhir"))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/fhir+json")
        .timeout(Duration.ofSeconds(300))
        .POST(HttpRequest.BodyPublishers.ofString(u.bundle().toString())).build();
    HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
    // bundles often share resources (the same Organization in many patients' bundles): two
    // bundles sent at once then race on that record and one gets a version conflict; the
    // retry finds the record already there, unchanged
    for (int attempt = 1; r.statusCode() == 409 && attempt <= 5; attempt++) {
      Thread.sleep(50L * attempt);
      r = http.send(req, HttpResponse.BodyHandlers.ofString());
    }
    JsonNode body;
    try {
      body = JSON.readTree(r.body());
    } catch (IOException e) {
      body = JSON.createObjectNode();
    }
    if (r.statusCode() != 200) {
      List<String> problems = new ArrayList<>();
      for (JsonNode issue : body.path("issue")) {
        problems.add(issue.path("diagnostics").asText());
      }
      rejected.add(u.source() + ": HTTP " + r.statusCode() + (problems.isEmpty() ? ""
          : ": " + String.join("; ", problems)));
      return;
    }
    for (JsonNode e : body.path("entry")) {
      if (e.path("response").path("status").asText().startsWith("201")) {
        created.incrementAndGet();
      } else {
        unchanged.incrementAndGet();
      }
    }
  }

  /** Prints the final report; returns the number of rejected units. */
  public static int print(Report r, PrintStream out) {
    long sent = r.created() + r.unchanged();
    out.printf("imported %d resources from %d bundle(s) in %.1f s (%.0f resources/s):"
            + " %d created, %d already present; %d bundle(s) skipped as already imported%n",
        sent, r.units() - r.skipped() - r.rejected().size(), r.seconds(),
        sent / Math.max(0.001, r.seconds()), r.created(), r.unchanged(), r.skipped());
    if (!r.rejected().isEmpty()) {
      out.println(r.rejected().size() + " bundle(s) rejected, nothing of them stored:");
      r.rejected().forEach(s -> out.println("  " + s));
    }
    return r.rejected().size();
  }
}
