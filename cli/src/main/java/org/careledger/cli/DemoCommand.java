package org.careledger.cli;

import org.careledger.client.Importer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import com.fasterxml.jackson.databind.JsonNode;
import org.careledger.client.ApiClient;
import org.careledger.client.ApiException;
import org.careledger.client.Transactions;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Ed25519;
import org.careledger.client.keys.KeyFile;
import org.careledger.node.NetworkInit;
import org.careledger.node.Node;
import org.careledger.node.NodeConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "The quick start: a development node in --data with synthetic patients."
        + " On first start it creates the network, generates patients with Synthea (in its own"
        + " process) and imports them; later starts reuse them.")
final class DemoCommand implements Callable<Integer> {
  @Option(names = "--data", defaultValue = "data",
      description = "Data dir (default: ${DEFAULT-VALUE}).")
  Path data;

  @Option(names = "--http", defaultValue = "127.0.0.1:8080",
      description = "HOST:PORT of the API (default: ${DEFAULT-VALUE}).")
  String http;

  @Option(names = "--patients", defaultValue = "20",
      description = "Living patients Synthea generates (default: ${DEFAULT-VALUE}).")
  int patients;

  @Option(names = "--seed", defaultValue = "42", description = "Synthea seed (default: 42).")
  long seed;

  @Option(names = "--no-sample-data", description = "Do not generate or import patients.")
  boolean noSampleData;

  @Override
  public Integer call() throws Exception {
    if (!Files.exists(data.resolve(NodeConfig.FILE))) {
      NetworkInit.init(data, new NetworkInit.Options("careledger-dev", "org1",
          "Example Hospital", "admin", "node1", "127.0.0.1:9090", http), null,
          System.currentTimeMillis());
      System.out.println("created a development network in " + data);
    }
    NodeConfig config = NodeConfig.load(data, http);
    Node node = Node.start(config, null);
    Path marker = data.resolve("sample-data").resolve("imported");
    if (!noSampleData && !Files.exists(marker)) {
      Path out = data.resolve("sample-data").resolve("synthea");
      generate(out);
      Path admin = data.resolve("keys/admin.key");
      ApiClient api = new ApiClient(node.baseUrl(), KeyFile.read(admin, null));
      List<Importer.Unit> units = Importer.read(out.resolve("fhir"));
      Importer.Report r = new Importer(api, data.resolve("sample-data").resolve("import-state"),
          4, System.err).run(units);
      Importer.print(r, System.out);
      if (r.rejected().isEmpty()) {
        Files.writeString(marker, "ok\n");
      }
    }
    String url = node.baseUrl();
    String patientStep = noSampleData ? null : demoEnrollment(url);
    System.out.println();
    System.out.println("CareLedger node ready at " + url);
    System.out.println("  Portal:    " + url + "/portal/");
    if (patientStep != null) {
      System.out.println("  Patient:   " + patientStep);
    }
    System.out.println("  Clinician: in another browser profile, open the portal, create a key"
        + " as dr-demo, then register it:");
    System.out.println("             bin/careledger identity register --node " + url
        + " --key " + data.resolve("keys/admin.key") + " --id dr-demo --role practitioner"
        + " --public-key <the key the page shows>");
    System.out.println("             and sign in. The patient records measurements under"
        + " \"My measurements\" and sees dr-demo's reads under \"Who saw my data\".");
    System.out.println("  Auditor:   the same with --id audit-demo --role auditor: the portal"
        + " opens on the ledger explorer (blocks, co-signed heads, proofs, network health).");
    System.out.println("  FHIR R4:   " + url + "/fhir   (capability statement: " + url
        + "/fhir/metadata)");
    System.out.println("  JSON API:  " + url + "/api/v1   health: " + url + "/health");
    System.out.println("  try:       bin/careledger status --node " + url + " --key "
        + data.resolve("keys/admin.key"));
    System.out.println("             bin/careledger verify --data " + data);
    System.out.println("Stop with Ctrl-C.");
    return NodeCommand.serveUntilStopped(node);
  }

  /**
   * An enrollment code for the first sample patient, offered by a front-desk service identity
   * ("clerk", registered on first use; its lookup of the patient is an audited read), or null
   * with a note when that patient is already enrolled.
   */
  private String demoEnrollment(String url) {
    try {
      Path clerkFile = data.resolve("keys/clerk.key");
      Ed25519.KeyPair clerk;
      if (Files.exists(clerkFile)) {
        clerk = KeyFile.read(clerkFile, null);
      } else {
        clerk = Ed25519.KeyPair.generate();
        Ed25519.KeyPair admin = KeyFile.read(data.resolve("keys/admin.key"), null);
        ApiClient api = new ApiClient(url, admin);
        String chain = api.getPublic("/health").get("chain").asText();
        api.submit(Transactions.sign(chain, admin, new org.careledger.core.contract.Command
            .Register("clerk", Role.SERVICE, clerk.publicKey(), "Front desk"),
            System.currentTimeMillis(), Transactions.DEFAULT_VALIDITY_MS));
        KeyFile.write(clerkFile, clerk, null);
      }
      ApiClient api = new ApiClient(url, clerk);
      JsonNode found = api.get("/fhir/Patient?_count=1", "X-Purpose-Of-Use", "HOPERAT");
      JsonNode entry = found.path("entry").path(0).path("resource");
      if (entry.isMissingNode()) {
        return null;
      }
      String id = entry.get("id").asText();
      JsonNode offer;
      try {
        offer = api.post("/api/v1/enrollments", ("{\"patient\":\"" + id + "\"}")
            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
      } catch (ApiException e) {
        return "Patient/" + id + " is already enrolled; sign in on the device that enrolled";
      }
      return "open the portal on a phone or browser and enroll Patient/" + id
          + " with code " + offer.get("code").asText();
    } catch (IOException | ApiException | RuntimeException e) {
      return "(no demo enrollment: " + e.getMessage() + ")";
    }
  }

  /** Runs Synthea in its own JVM (it pins an older HAPI FHIR) and checks what it wrote. */
  private void generate(Path out) throws IOException, InterruptedException {
    Path lib = Path.of(System.getProperty("careledger.home", "."), "tools", "synthea", "target",
        "lib");
    if (!Files.isDirectory(lib)) {
      throw new IOException("Synthea is not installed at " + lib
          + "; run bin/careledger (it installs it), or use --no-sample-data");
    }
    Files.createDirectories(out);
    System.out.println("generating " + patients + " synthetic patients with Synthea (seed "
        + seed + "); this takes a minute...");
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx2g",
        "-cp", lib.toAbsolutePath() + "/*", "App", "-p", Integer.toString(patients),
        "-s", Long.toString(seed), "-r", "20250101",
        "--exporter.baseDirectory", out.toAbsolutePath() + "/",
        "--exporter.csv.export", "false",
        "--exporter.hospital.fhir.export", "true",
        "--exporter.practitioner.fhir.export", "true"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(out.resolve("synthea.log").toFile()).start();
    int code = p.waitFor();
    long written;
    try (Stream<Path> s = Files.list(out.resolve("fhir"))) {
      written = s.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".json"))
          .filter(n -> !n.startsWith("hospitalInformation")
              && !n.startsWith("practitionerInformation")).count();
    } catch (IOException e) {
      written = 0;
    }
    // Synthea drops patients on OutOfMemoryError and still exits 0: count what it wrote
    if (code != 0 || written < patients) {
      throw new IOException("Synthea wrote " + written + " of " + patients + " patients (exit "
          + code + "); see " + out.resolve("synthea.log"));
    }
    System.out.println("Synthea wrote " + written + " patient bundles");
  }
}
