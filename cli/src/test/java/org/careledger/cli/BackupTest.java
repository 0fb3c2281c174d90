package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.careledger.node.LedgerVerifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A running node's backup ({@code careledger backup}), as operations.md has it: taken by an
 * admin of the node's organization while the node serves, verifiable on its own, and restored
 * under the node's own Raft directory after the disk lost its ledger: a record erased after
 * the backup stays erased, and one written after it is refused with an alert, not served.
 */
class BackupTest {
  @TempDir Path tmp;

  @Test
  void aRunningNodesBackupRestoresAndWhatWasErasedSinceStaysErased() throws Exception {
    NodeProcess node = NodeProcess.init(tmp.resolve("node")).start();
    String erased;
    String kept;
    String later;
    Path backup;
    try {
      FhirHttp fhir = new FhirHttp(node.url(), node.serviceToken());
      erased = FhirIntegrityTest.id(fhir.post("/Patient", "{\"resourceType\":\"Patient\","
          + "\"name\":[{\"family\":\"Backedup\"}]}"));
      kept = FhirIntegrityTest.id(fhir.post("/Patient", "{\"resourceType\":\"Patient\","
          + "\"name\":[{\"family\":\"Kept\"}]}"));

      // a service of the organization may not ask for one
      HttpResponse<String> refused = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create(node.url() + "/api/v1/backup"))
          .header("Authorization", "Bearer " + node.serviceToken())
          .POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).as(refused.body()).isEqualTo(403);
      assertThat(node.dir.resolve("backups")).doesNotExist();

      CliTest.Run taken = CliTest.cli("backup", "--node", node.url(), "--key",
          node.dir.resolve("keys/admin.key").toString());
      assertThat(taken.code()).as(taken.out()).isZero();
      Matcher m = Pattern.compile("backup of height (\\d+) in (\\S+)").matcher(taken.out());
      assertThat(m.find()).as(taken.out()).isTrue();
      backup = Path.of(m.group(2));
      assertThat(backup.getParent()).isEqualTo(node.dir.resolve("backups"));
      assertThat(backup.resolve("keys/vault.keys")).exists();
      assertThat(backup.resolve("genesis.json")).exists();
      assertThat(backup.resolve("keys/node.key")).doesNotExist();
      assertThat(backup.resolve("raft")).doesNotExist();
      LedgerVerifier.Report checked = LedgerVerifier.verify(backup);
      assertThat(checked.problem()).isNull();
      assertThat(checked.blocks() - 1).isEqualTo(Long.parseLong(m.group(1)));
      assertThat(FhirIntegrityTest.vaultRows(backup)).hasSize(2);

      FhirIntegrityTest.erasePatient(node, erased);
      later = FhirIntegrityTest.id(fhir.post("/Patient", "{\"resourceType\":\"Patient\","
          + "\"name\":[{\"family\":\"Later\"}]}"));
    } finally {
      // killed: the erasure stays in the Raft log, after any snapshot
      node.kill();
    }

    // the ledger directory is lost; the operator restores it from the backup and keeps raft/
    TestFiles.deleteTree(node.dir.resolve("ledger"));
    FhirIntegrityTest.copyTree(backup.resolve("ledger"), node.dir.resolve("ledger"));
    node.start();
    try {
      FhirHttp fhir = new FhirHttp(node.url(), node.serviceToken());
      assertThat(fhir.get("/Patient/" + erased).statusCode()).isEqualTo(410);
      HttpResponse<String> read = fhir.get("/Patient/" + kept);
      assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
      assertThat(read.body()).contains("Kept");
      // written after the backup: on the ledger, not in the restored vault
      HttpResponse<String> lost = fhir.get("/Patient/" + later);
      assertThat(lost.statusCode()).as(lost.body()).isEqualTo(500);
      assertThat(lost.body()).contains("OperationOutcome")
          .contains("is on the ledger but its content is not in this node's vault")
          .doesNotContain("Later");
    } finally {
      node.stop();
    }
    assertThat(node.logText()).contains("ALERT record").contains("is on the ledger but not in"
        + " this node's vault");
    assertThat(FhirIntegrityTest.vaultRows(node.dir)).hasSize(1);
    assertThat(LedgerVerifier.verify(node.dir).problem()).isNull();
  }
}
