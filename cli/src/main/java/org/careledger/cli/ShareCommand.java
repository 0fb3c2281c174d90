package org.careledger.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.crypto.tink.KeysetHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.careledger.client.ApiClient;
import org.careledger.client.GenesisFile;
import org.careledger.client.Sharing;
import org.careledger.core.crypto.Codec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@picocli.CommandLine.Command(name = "share", mixinStandardHelpOptions = true,
    description = "Fetch a patient's records from their custodian's node, re-encrypted to a"
        + " one-time HPKE key of yours, and check each against its commitment on the ledger.")
final class ShareCommand implements Callable<Integer> {
  @Mixin Options.Client client;

  @Option(names = "--patient", required = true, description = "The patient identity.")
  String patient;

  @Option(names = "--types", split = ",", description = "Only these resource types.")
  List<String> types = List.of();

  @Option(names = "--purpose", defaultValue = "TREAT",
      description = "Purpose of use (default: ${DEFAULT-VALUE}).")
  String purpose;

  @Option(names = "--genesis", required = true,
      description = "genesis.json of the network (its node keys sign the tree heads).")
  Path genesis;

  @Option(names = "--out", required = true, description = "Folder for the verified records.")
  Path out;

  @Override
  public Integer call() throws Exception {
    ApiClient api = client.connect(client.loadKey());
    GenesisFile g = GenesisFile.parse(Files.readAllBytes(genesis));
    KeysetHandle recipient = Sharing.newRecipient();
    StringBuilder body = new StringBuilder("{\"patient\":\"").append(patient)
        .append("\",\"recipientKey\":\"").append(Codec.b64(Sharing.publicKeyset(recipient)))
        .append("\",\"types\":[");
    for (int i = 0; i < types.size(); i++) {
      body.append(i == 0 ? "\"" : ",\"").append(types.get(i)).append('"');
    }
    body.append("]}");
    JsonNode r = api.post("/api/v1/share", body.toString().getBytes(StandardCharsets.UTF_8),
        "X-Purpose-Of-Use", purpose);
    List<Sharing.Received> got;
    try {
      got = Sharing.open(recipient, g.chain(), r, id -> api.get("/api/v1/transactions/" + id),
          g.nodeKeys());
    } catch (java.security.GeneralSecurityException e) {
      throw new Main.VerificationFailed(e.getMessage());
    }
    Files.createDirectories(out);
    for (Sharing.Received rec : got) {
      Files.write(out.resolve(rec.resourceType() + "-" + rec.record() + ".json"),
          rec.content());
    }
    System.out.println(got.size() + " record(s) from " + r.get("custodian").asText()
        + " verified against the ledger and written to " + out + "; " + r.get("refused")
        .asInt() + " refused; access event " + r.path("accessEventTx").asText("-"));
    return 0;
  }
}
