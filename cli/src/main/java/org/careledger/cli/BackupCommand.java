package org.careledger.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code careledger backup}: a running node writes a backup of its data dir. */
@Command(name = "backup", mixinStandardHelpOptions = true,
    description = "Ask a running node for a backup: a consistent copy of its ledger, vault and"
        + " FHIR index, its vault keys and its configuration, written to backups/<time>/ in"
        + " its data dir (not its node key, not raft/). Copy it off the machine, then delete"
        + " it there. Needs an admin key of the node's organization.")
final class BackupCommand implements Callable<Integer> {
  @Mixin Options.Client client;

  @Override
  public Integer call() throws Exception {
    JsonNode r = client.connect(client.loadKey()).post("/api/v1/backup", "{}".getBytes(
        java.nio.charset.StandardCharsets.UTF_8));
    System.out.println("backup of height " + r.get("height").asLong() + " in "
        + r.get("dir").asText());
    return 0;
  }
}
