package org.careledger.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import org.careledger.core.contract.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@picocli.CommandLine.Command(name = "consent", mixinStandardHelpOptions = true,
    description = "A patient's consents, signed with the patient's own key: grant, revoke,"
        + " list.",
    subcommands = {ConsentCommand.Grant.class, ConsentCommand.Revoke.class,
        ConsentCommand.ListGrants.class})
final class ConsentCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.err);
  }

  static void printGrants(JsonNode body) {
    for (JsonNode g : body.get("grants")) {
      long end = g.get("end").asLong();
      String state = !"active".equals(g.get("status").asText()) ? g.get("status").asText()
          : end < System.currentTimeMillis() ? "expired" : "active";
      System.out.println("  grant " + g.get("id").asText() + "  " + state + "  to "
          + g.get("grantee").asText() + "  " + g.path("types") + " " + g.path("records")
          + "  for " + g.get("purposes") + "  until " + Instant.ofEpochMilli(end)
          + (g.has("exclude") ? "  except " + g.get("exclude") : ""));
    }
  }

  @picocli.CommandLine.Command(name = "grant", mixinStandardHelpOptions = true,
      description = "Grant access to your records.")
  static final class Grant implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--grantee", required = true, description = "identity:ID, org:ORG or"
        + " role:ROLE@ORG.")
    String grantee;

    @Option(names = "--types", split = ",", description = "Resource types, or * for all"
        + " (default: *).")
    List<String> types = new ArrayList<>(List.of("*"));

    @Option(names = "--records", split = ",", description = "Specific record pseudonyms.")
    List<String> records = new ArrayList<>();

    @Option(names = "--purpose", split = ",", defaultValue = "TREAT",
        description = "Purposes of use: TREAT, ETREAT, HPAYMT, HOPERAT, HRESCH, PATRQT, PUBHLTH"
            + " (default: ${DEFAULT-VALUE}).")
    List<String> purposes;

    @Option(names = "--days", defaultValue = "30", description = "Valid for this many days"
        + " from now (default: ${DEFAULT-VALUE}).")
    int days;

    @Option(names = "--exclude", split = ",", description = "Codes whose records are not"
        + " covered (security label, category or code, e.g. PSY).")
    List<String> exclude = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
      if (days < 1 || days > 3650) {
        throw new IllegalArgumentException("--days must be 1..3650");
      }
      byte[] id = new byte[16];
      new java.security.SecureRandom().nextBytes(id);
      long now = System.currentTimeMillis();
      List<String> t = records.isEmpty() || !types.equals(List.of("*")) ? types : List.of();
      Command.Grant g = new Command.Grant(HexFormat.of().formatHex(id), grantee, t, records,
          purposes, now, now + days * 86_400_000L, exclude);
      Submitter.submit(client, g, null);
      System.out.println("grant " + g.id());
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "revoke", mixinStandardHelpOptions = true,
      description = "Revoke one of your grants; it stops applying at the next read.")
  static final class Revoke implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--id", required = true, description = "The grant id.")
    String id;

    @Override
    public Integer call() throws Exception {
      Submitter.submit(client, new Command.RevokeGrant(id), null);
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "list", mixinStandardHelpOptions = true,
      description = "Your grants: active, expired and revoked.")
  static final class ListGrants implements Callable<Integer> {
    @Mixin Options.Client client;

    @Override
    public Integer call() throws Exception {
      printGrants(client.connect(client.loadKey()).get("/api/v1/patients/me/consents"));
      return 0;
    }
  }
}
