package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.careledger.client.ApiClient;
import org.careledger.node.LedgerVerifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** careledger import: reports, idempotence, and resuming after the node was killed. */
class ImportTest {
  @TempDir Path tmp;

  static Path copyOfSynthea(Path dst) throws Exception {
    return TestFiles.copyTree(
        Path.of(ImportTest.class.getResource("/testdata/synthea-r4").toURI()), dst);
  }

  static CliTest.Run cli(String... args) {
    return CliTest.cli(args);
  }

  static int total(FhirHttp fhir, String type) throws Exception {
    return new ObjectMapper().readTree(fhir.get("/" + type + "?_count=1").body()).get("total")
        .asInt();
  }

  @Test
  void importsReportsRejectsAndAddsNothingTwice() throws Exception {
    NodeProcess node = NodeProcess.init(tmp.resolve("node")).start();
    try {
      Path in = copyOfSynthea(tmp.resolve("in"));
      Files.writeString(in.resolve("broken.json"), "{\"resourceType\":\"Bundle\",\"type\":"
          + "\"transaction\",\"entry\":[{\"fullUrl\":\"urn:uuid:11111111-1111-1111-1111-"
          + "111111111111\",\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\"},"
          + "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}]}");
      Files.writeString(in.resolve("loose.ndjson"),
          "{\"resourceType\":\"Patient\",\"id\":\"nd-1\",\"gender\":\"female\"}\n"
              + "{\"resourceType\":\"Patient\",\"id\":\"nd-2\",\"gender\":\"male\"}\n");
      String key = node.dir.resolve("keys/admin.key").toString();
      CliTest.Run first = cli("import", in.toString(), "--node", node.url(), "--key", key);
      assertThat(first.code()).as(first.out()).isEqualTo(Main.FAILED);
      assertThat(first.out()).contains("imported 2146 resources").contains("1 bundle(s) rejected")
          .contains("broken.json").contains("Observation.code: required element is missing")
          .contains("resources/s");
      FhirHttp fhir = new FhirHttp(node.url(),
          node.serviceToken());
      int patients = total(fhir, "Patient");
      int observations = total(fhir, "Observation");
      // reads add their access events; importing again must add nothing at all
      long height = new ApiClient(node.url(), node.adminKey()).get("/api/v1/status")
          .get("height").asLong();
      assertThat(patients).isEqualTo(23);
      assertThat(observations).isEqualTo(1018);
      // again with the state file: everything is skipped; without it: nothing is added
      CliTest.Run again = cli("import", in.toString(), "--node", node.url(), "--key", key);
      assertThat(again.out()).contains("22 bundle(s) skipped as already imported");
      Files.delete(in.resolveSibling("in.import-state"));
      CliTest.Run fresh = cli("import", in.toString(), "--node", node.url(), "--key", key);
      assertThat(fresh.out()).contains("0 created, 2146 already present");
      assertThat(new ApiClient(node.url(), node.adminKey()).get("/api/v1/status").get("height")
          .asLong()).isEqualTo(height);
      assertThat(total(fhir, "Patient")).isEqualTo(patients);
      assertThat(total(fhir, "Observation")).isEqualTo(observations);
      CliTest.Run missing = cli("import", tmp.resolve("nowhere").toString(), "--node",
          node.url(), "--key", key);
      assertThat(missing.code()).isEqualTo(Main.FAILED);
      assertThat(missing.oneLineError()).isTrue();
    } finally {
      node.close();
    }
  }

  @Test
  void anImportCutOffByACrashCompletesWhenRunAgain() throws Exception {
    NodeProcess node = NodeProcess.init(tmp.resolve("crash")).start();
    try {
      Path in = copyOfSynthea(tmp.resolve("crash-in"));
      String key = node.dir.resolve("keys/admin.key").toString();
      Thread importer = new Thread(() -> cli("import", in.toString(), "--node", node.url(),
          "--key", key, "--threads", "1"));
      importer.start();
      Thread.sleep(1500);
      node.kill();
      importer.join();
      node.start();
      CliTest.Run resumed = cli("import", in.toString(), "--node", node.url(), "--key", key);
      assertThat(resumed.code()).as(resumed.out()).isZero();
      FhirHttp fhir = new FhirHttp(node.url(),
          node.serviceToken());
      assertThat(total(fhir, "Patient")).isEqualTo(21);
      assertThat(total(fhir, "Observation")).isEqualTo(1018);
      assertThat(total(fhir, "Claim")).isEqualTo(210);
      assertThat(LedgerVerifier.verify(node.dir).problem()).isNull();
    } finally {
      node.close();
    }
  }
}
