package org.careledger.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import org.careledger.client.ApiClient;
import org.careledger.client.GenesisFile;
import org.careledger.client.ProofCheck;
import org.careledger.client.Transactions;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.contract.Command;
import org.careledger.core.crypto.Ed25519;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@picocli.CommandLine.Command(name = "patient", mixinStandardHelpOptions = true,
    description = "Patients: enrollment offers and redemption, a patient's own view, access"
        + " events with proofs, download of all records, erasure.",
    subcommands = {PatientCommand.Offer.class, PatientCommand.Enroll.class,
        PatientCommand.Show.class, PatientCommand.Events.class, PatientCommand.Export.class,
        PatientCommand.Erase.class})
final class PatientCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.err);
  }

  @picocli.CommandLine.Command(name = "offer", mixinStandardHelpOptions = true,
      description = "A custodian (admin, practitioner or service) offers an enrollment code for"
          + " one of its Patient records; give the code to the patient.")
  static final class Offer implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--patient", required = true, description = "FHIR id of the Patient.")
    String patient;

    @Option(names = "--recover", description = "Patient identity whose lost key the code"
        + " replaces (recovery).")
    String recover;

    @Override
    public Integer call() throws Exception {
      String body = "{\"patient\":" + new ObjectMapper().writeValueAsString(patient)
          + (recover == null ? "" : ",\"recover\":" + new ObjectMapper()
              .writeValueAsString(recover)) + "}";
      JsonNode r = client.connect(client.loadKey()).post("/api/v1/enrollments",
          body.getBytes(StandardCharsets.UTF_8));
      System.out.println("enrollment code " + r.get("code").asText() + " (organization "
          + r.get("org").asText() + ", valid until "
          + Instant.ofEpochMilli(r.get("expires").asLong()) + ")");
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "enroll", mixinStandardHelpOptions = true,
      description = "A patient redeems an enrollment code: creates their key (or uses --key to"
          + " link another organization, or --recover-into for a recovery code) and registers"
          + " it.")
  static final class Enroll implements Callable<Integer> {
    @Option(names = "--node", defaultValue = "http://127.0.0.1:8080",
        description = "Node API URL (default: ${DEFAULT-VALUE}).")
    String node;

    @Option(names = "--code", required = true, description = "The enrollment code.")
    String code;

    @Option(names = "--id", required = true, description = "Your patient identity id.")
    String id;

    @Option(names = "--key", required = true, description = "Your key file: created if it"
        + " does not exist, otherwise used (linking another organization).")
    Path key;

    @Mixin Options.Passphrase passphrase;

    @Override
    public Integer call() throws Exception {
      Ed25519.KeyPair k;
      boolean created = !Files.exists(key);
      if (created) {
        k = Ed25519.KeyPair.generate();
      } else {
        k = KeyFile.read(key, KeyFile.isEncrypted(key) ? passphrase.orNull() : null);
      }
      ApiClient api = new ApiClient(node, k);
      String chain = api.getPublic("/health").get("chain").asText();
      byte[] tx = Transactions.sign(chain, k, new Command.Enroll(code.trim().toUpperCase(
          java.util.Locale.ROOT), id, k.publicKey()), System.currentTimeMillis(),
          Transactions.DEFAULT_VALIDITY_MS);
      JsonNode receipt = api.postPublic("/api/v1/enroll", tx);
      if (created) {
        KeyFile.write(key, k, passphrase.orNull());
      }
      System.out.println("enrolled " + id + " (key " + k.keyId() + ") in transaction "
          + receipt.get("txId").asText() + (created ? "; key written to " + key : ""));
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "show", mixinStandardHelpOptions = true,
      description = "Your identity, the organizations holding your records, your grants.")
  static final class Show implements Callable<Integer> {
    @Mixin Options.Client client;

    @Override
    public Integer call() throws Exception {
      ApiClient api = client.connect(client.loadKey());
      JsonNode me = api.get("/api/v1/patients/me");
      System.out.println(me.get("id").asText() + " (" + me.get("status").asText() + ")");
      for (JsonNode l : me.get("links")) {
        System.out.println("  records at " + l.get("org").asText() + " since "
            + Instant.ofEpochMilli(l.get("since").asLong()));
      }
      for (JsonNode e : me.get("events")) {
        System.out.println("  " + Instant.ofEpochMilli(e.get("time").asLong()) + "  "
            + e.get("event").asText() + " at " + e.get("org").asText());
      }
      ConsentCommand.printGrants(api.get("/api/v1/patients/me/consents"));
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "events", mixinStandardHelpOptions = true,
      description = "Every access to your records, allowed or refused, each checked against"
          + " a signed tree head when --genesis is given.")
  static final class Events implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--genesis", description = "genesis.json: check every event's proof.")
    Path genesis;

    @Override
    public Integer call() throws Exception {
      ApiClient api = client.connect(client.loadKey());
      // the node answers the newest events a page at a time, oldest first within the page
      java.util.LinkedList<JsonNode> events = new java.util.LinkedList<>();
      String older = null;
      do {
        JsonNode page = api.get("/api/v1/patients/me/access-events?limit=1000"
            + (older == null ? "" : "&before=" + older));
        List<JsonNode> got = new java.util.ArrayList<>();
        page.get("events").forEach(got::add);
        events.addAll(0, got);
        older = page.has("older") ? page.get("older").asText() : null;
      } while (older != null);
      List<byte[]> trusted = genesis == null ? null
          : GenesisFile.parse(Files.readAllBytes(genesis)).nodeKeys();
      int bad = 0;
      for (JsonNode e : events) {
        String check = "";
        if (trusted != null) {
          List<String> problems = ProofCheck.receipt(e.get("receipt"), trusted);
          check = problems.isEmpty() ? "  proof ok" : "  PROOF FAILS: " + problems.get(0);
          bad += problems.isEmpty() ? 0 : 1;
        }
        System.out.println(Instant.ofEpochMilli(e.get("time").asLong()) + "  "
            + e.get("decision").asText().toUpperCase(java.util.Locale.ROOT) + "  "
            + e.get("accessor").asText() + (e.get("accessorOrg").asText().isEmpty() ? ""
                : "@" + e.get("accessorOrg").asText()) + "  " + e.get("action").asText() + " "
            + e.get("records").size() + " record(s) " + e.get("types") + "  purpose "
            + e.get("purpose").asText() + "  basis " + e.get("basis").asText()
            + (e.get("breakGlass").asBoolean() ? "  BREAK-GLASS: " + e.get("reason").asText()
                : "") + check);
      }
      System.out.println(events.size() + " access event(s)");
      if (bad > 0) {
        throw new Main.VerificationFailed(bad + " event proof(s) failed");
      }
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "export", mixinStandardHelpOptions = true,
      description = "Download all your records held by this node as a FHIR Bundle.")
  static final class Export implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--out", required = true, description = "File to write the Bundle to.")
    Path out;

    @Override
    public Integer call() throws Exception {
      JsonNode b = client.connect(client.loadKey()).get("/api/v1/patients/me/records");
      Files.writeString(out, new ObjectMapper().writerWithDefaultPrettyPrinter()
          .writeValueAsString(b) + "\n");
      System.out.println(b.path("entry").size() + " record(s) written to " + out);
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "erase", mixinStandardHelpOptions = true,
      description = "Ask an organization to erase all your records: your signed request and"
          + " the erasure are both ledger events.")
  static final class Erase implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--org", required = true, description = "The organization to ask.")
    String org;

    @Option(names = "--legal-basis", defaultValue = "GDPR Art. 17(1)",
        description = "Legal basis (default: ${DEFAULT-VALUE}).")
    String legalBasis;

    @Override
    public Integer call() throws Exception {
      Ed25519.KeyPair k = client.loadKey();
      ApiClient api = client.connect(k);
      String chain = api.get("/api/v1/status").get("chain").asText();
      byte[] tx = Transactions.sign(chain, k, new Command.RequestErasure(org, legalBasis),
          System.currentTimeMillis(), Transactions.DEFAULT_VALIDITY_MS);
      JsonNode r = api.post("/api/v1/patients/me/erasure", tx);
      System.out.println("erasure request " + r.get("request").get("txId").asText()
          + "; erased " + r.get("erasedRecords").asInt() + " record(s)"
          + (r.has("erasure") ? " in transaction " + r.get("erasure").get("txId").asText()
              : ""));
      return 0;
    }
  }
}
