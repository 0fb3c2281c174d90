package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Map;
import org.careledger.node.LedgerVerifier;
import org.careledger.node.vault.Vault;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code careledger vault rotate-key} on a stopped node, as operations.md has it: refused while
 * the node runs; an interrupted rotation goes on where it was; afterwards every record version
 * reads back as before, its ciphertext unchanged, while neither the old keys file nor an entry
 * still wrapped under the old key opens any more.
 */
class VaultRotationTest {
  @TempDir Path tmp;

  @Test
  void aRotatedVaultReadsAsBeforeAndTheOldKeyOpensNothing() throws Exception {
    NodeProcess node = NodeProcess.init(tmp.resolve("node")).start();
    Path keys = node.dir.resolve("keys/vault.keys");
    String patient;
    String other;
    String v1;
    String v2;
    try {
      FhirHttp fhir = new FhirHttp(node.url(), node.serviceToken());
      patient = FhirIntegrityTest.id(fhir.post("/Patient", "{\"resourceType\":\"Patient\","
          + "\"name\":[{\"family\":\"Rotated\"}]}"));
      other = FhirIntegrityTest.id(fhir.post("/Patient", "{\"resourceType\":\"Patient\","
          + "\"name\":[{\"family\":\"Other\"}]}"));
      HttpResponse<String> updated = fhir.put("/Patient/" + patient, "{\"resourceType\":"
          + "\"Patient\",\"id\":\"" + patient + "\",\"name\":[{\"family\":\"Rotated2\"}]}");
      assertThat(updated.statusCode()).as(updated.body()).isEqualTo(200);
      v1 = fhir.get("/Patient/" + patient + "/_history/1").body();
      v2 = fhir.get("/Patient/" + patient).body();

      // not while the node runs; its keys stay as they were
      byte[] before = Files.readAllBytes(keys);
      CliTest.Run running = CliTest.cli("vault", "rotate-key", "--data", node.dir.toString());
      assertThat(running.code()).isEqualTo(Main.FAILED);
      assertThat(running.oneLineError()).as(running.out()).isTrue();
      assertThat(running.out()).contains("is running (its ledger is locked)");
      assertThat(Files.readAllBytes(keys)).isEqualTo(before);
    } finally {
      node.stop();
    }
    Path oldKeys = tmp.resolve("old-vault.keys");
    Files.copy(keys, oldKeys);
    Map<String, byte[]> oldRows = FhirIntegrityTest.vaultRows(node.dir);
    assertThat(oldRows).hasSize(3);

    // a rotation interrupted after its first step (the new key added, nothing wrapped again)
    Vault.beginKeyRotation(keys, null);
    CliTest.Run rotated = CliTest.cli("vault", "rotate-key", "--data", node.dir.toString());
    assertThat(rotated.code()).as(rotated.out()).isZero();
    assertThat(rotated.out()).contains("3 encrypted record versions wrapped again; the old key"
        + " is gone");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keys)))
        .isEqualTo("rw-------");
    assertThat(keys.resolveSibling("vault.keys.new")).doesNotExist();
    Map<String, byte[]> newRows = FhirIntegrityTest.vaultRows(node.dir);
    assertThat(newRows.keySet()).isEqualTo(oldRows.keySet());
    for (String k : oldRows.keySet()) {
      // the wrapped data key changed; the ciphertext after it (the last 60 bytes and more) not
      assertThat(newRows.get(k)).as(k).isNotEqualTo(oldRows.get(k));
      byte[] o = oldRows.get(k);
      byte[] n = newRows.get(k);
      assertThat(Arrays.copyOfRange(n, n.length - 60, n.length))
          .isEqualTo(Arrays.copyOfRange(o, o.length - 60, o.length));
    }
    assertThat(LedgerVerifier.verify(node.dir).problem()).isNull();

    node.start();
    try {
      FhirHttp fhir = new FhirHttp(node.url(), node.serviceToken());
      assertThat(fhir.get("/Patient/" + patient + "/_history/1").body()).isEqualTo(v1);
      assertThat(fhir.get("/Patient/" + patient).body()).isEqualTo(v2);
      assertThat(fhir.get("/Patient/" + other).statusCode()).isEqualTo(200);
    } finally {
      node.stop();
    }

    // an entry still wrapped under the old key (a stale copy of the first version) no longer
    // opens
    String stale = Vault.open(keys, null).pseudonym("record", "Patient/" + patient) + "/"
        + String.format("%020d", 1);
    assertThat(oldRows).containsKey(stale);
    FhirIntegrityTest.withVault(node.dir, (db, vault) -> db.put(vault,
        stale.getBytes(StandardCharsets.UTF_8), oldRows.get(stale)));
    // and the old keys file opens none of the new entries
    Files.move(keys, tmp.resolve("new-vault.keys"));
    Files.copy(oldKeys, keys, StandardCopyOption.COPY_ATTRIBUTES);
    node.start();
    try {
      FhirHttp fhir = new FhirHttp(node.url(), node.serviceToken());
      for (String id : new String[] {patient, other}) {
        HttpResponse<String> r = fhir.get("/Patient/" + id);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(500);
        assertThat(r.body()).contains("integrity").doesNotContain("Rotated", "Other");
      }
    } finally {
      node.stop();
    }
    Files.copy(tmp.resolve("new-vault.keys"), keys, StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.COPY_ATTRIBUTES);
    node.start();
    try {
      FhirHttp fhir = new FhirHttp(node.url(), node.serviceToken());
      assertThat(fhir.get("/Patient/" + other).statusCode()).isEqualTo(200);
      assertThat(fhir.get("/Patient/" + patient).body()).isEqualTo(v2);
      // the stale entry is refused with the integrity alert, never served
      int logged = node.logText().length();
      HttpResponse<String> old = fhir.get("/Patient/" + patient + "/_history/1");
      assertThat(old.statusCode()).as(old.body()).isEqualTo(500);
      assertThat(old.body()).doesNotContain("Rotated");
      assertThat(node.logText().substring(logged)).contains("ALERT vault integrity failure");
    } finally {
      node.stop();
    }
  }
}
