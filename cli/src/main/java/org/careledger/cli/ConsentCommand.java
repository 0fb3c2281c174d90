package org.careledger.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import org.careledger.client.ApiClient;
import org.careledger.client.ApiException;
import org.careledger.client.Transactions;
import org.careledger.core.contract.Command;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.fhir.ConsentMapping;
import org.careledger.node.fhir.FhirSetup;
import org.hl7.fhir.r4.model.Consent;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@picocli.CommandLine.Command(name = "consent", mixinStandardHelpOptions = true,
    description = "A patient's consents, signed with the patient's own key: grant, revoke,"
        + " list; a practitioner's request for access, and the patient's answer.",
    subcommands = {ConsentCommand.Grant.class, ConsentCommand.Revoke.class,
        ConsentCommand.ListGrants.class, ConsentCommand.Ask.class,
        ConsentCommand.ListRequests.class, ConsentCommand.Decline.class})
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
      long now = System.currentTimeMillis();
      List<String> t = records.isEmpty() || !types.equals(List.of("*")) ? types : List.of();
      Command.Grant g = new Command.Grant(newId(), grantee, t, records,
          purposes, now, now + days * 86_400_000L, exclude);
      if (fhir.fhir) {
        Ed25519.KeyPair key = client.loadKey();
        ApiClient api = client.connect(key);
        String patient = fhir.patientId(api);
        Consent c = ConsentMapping.sign(ConsentMapping.toFhir(g, patient), signed(api, key, g));
        c.setId((String) null);
        JsonNode created = api.request("POST", "/fhir/Consent", encode(c));
        System.out.println("committed through FHIR as Consent/" + created.get("id").asText());
      } else {
        Submitter.submit(client, g, null);
      }
      System.out.println("grant " + g.id());
      return 0;
    }

    @Mixin ViaFhir fhir;
  }

  /** Sending the signed transaction inside a FHIR Consent instead of to /api/v1. */
  static final class ViaFhir {
    @Option(names = "--fhir", description = "Send the signed transaction inside a FHIR Consent"
        + " (POST or PUT /fhir/Consent) instead of to /api/v1/transactions.")
    boolean fhir;

    @Option(names = "--patient-id", description = "With --fhir: your Patient id at this"
        + " organization (default: the one Patient resource the node shows you).")
    String patientId;

    String patientId(ApiClient api) throws ApiException {
      if (patientId != null) {
        return patientId;
      }
      JsonNode entries = api.get("/fhir/Patient?_count=2").path("entry");
      if (entries.size() != 1) {
        throw new IllegalArgumentException("this organization shows you " + entries.size()
            + " Patient resources; name yours with --patient-id");
      }
      return entries.get(0).get("resource").get("id").asText();
    }
  }

  static byte[] signed(ApiClient api, Ed25519.KeyPair key, Command c) throws ApiException {
    String chain = api.getPublic("/health").get("chain").asText();
    return Transactions.sign(chain, key, c, System.currentTimeMillis(),
        Transactions.DEFAULT_VALIDITY_MS);
  }

  static byte[] encode(Consent c) {
    return FhirSetup.CONTEXT.newJsonParser().encodeResourceToString(c)
        .getBytes(StandardCharsets.UTF_8);
  }

  @picocli.CommandLine.Command(name = "revoke", mixinStandardHelpOptions = true,
      description = "Revoke one of your grants; it stops applying at the next read.")
  static final class Revoke implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--id", required = true, description = "The grant id.")
    String id;

    @Mixin ViaFhir fhir;

    @Override
    public Integer call() throws Exception {
      if (!fhir.fhir) {
        Submitter.submit(client, new Command.RevokeGrant(id), null);
        return 0;
      }
      Ed25519.KeyPair key = client.loadKey();
      ApiClient api = client.connect(key);
      JsonNode grant = null;
      for (JsonNode g : api.get("/api/v1/patients/me/consents").get("grants")) {
        if (g.get("id").asText().equals(id)) {
          grant = g;
        }
      }
      if (grant == null) {
        throw new IllegalArgumentException("you have no grant " + id);
      }
      Consent c = ConsentMapping.toFhir(grant, fhir.patientId(api));
      c.getPolicy().clear();
      c.setStatus(Consent.ConsentState.INACTIVE);
      ConsentMapping.sign(c, signed(api, key, new Command.RevokeGrant(id)));
      api.request("PUT", "/fhir/Consent/" + c.getIdElement().getIdPart(), encode(c));
      System.out.println("revoked through FHIR: Consent/" + c.getIdElement().getIdPart());
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

  private static String newId() {
    byte[] id = new byte[16];
    new java.security.SecureRandom().nextBytes(id);
    return HexFormat.of().formatHex(id);
  }

  @picocli.CommandLine.Command(name = "request", mixinStandardHelpOptions = true,
      description = "As a practitioner: ask a patient for access to their records at the node"
          + " you connect to."
          + " The patient sees who asks, for what and why, and decides.")
  static final class Ask implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--patient", required = true,
        description = "The patient's FHIR id at the node's organization.")
    String patient;

    @Option(names = "--purpose", split = ",", defaultValue = "TREAT",
        description = "Purposes of use (FHIR v3 PurposeOfUse), e.g. TREAT.")
    List<String> purposes;

    @Option(names = "--types", split = ",", defaultValue = "*",
        description = "Resource types, or * for all.")
    List<String> types;

    @Option(names = "--days", defaultValue = "30", description = "For this many days.")
    int days;

    @Option(names = "--reason", required = true, description = "Why you need access.")
    String reason;

    @Override
    public Integer call() throws Exception {
      if (days < 1 || days > 3650) {
        throw new IllegalArgumentException("--days must be 1..3650");
      }
      JsonNode who = client.connect(client.loadKey()).get("/api/v1/patients/lookup?id="
          + java.net.URLEncoder.encode(patient, StandardCharsets.UTF_8));
      if (!who.get("enrolled").asBoolean()) {
        throw new IllegalArgumentException("patient " + patient + " has not enrolled yet");
      }
      String id = newId();
      Submitter.submit(client, new Command.RequestAccess(id, who.get("org").asText(),
          who.get("patient").asText(),
          purposes, types, System.currentTimeMillis() + days * 86_400_000L, reason), null);
      System.out.println("request " + id);
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "requests", mixinStandardHelpOptions = true,
      description = "As a patient: the requests for access made to you.")
  static final class ListRequests implements Callable<Integer> {
    @Mixin Options.Client client;

    @Override
    public Integer call() throws Exception {
      JsonNode body = client.connect(client.loadKey()).get("/api/v1/patients/me/requests");
      for (JsonNode r : body.get("requests")) {
        System.out.println("  request " + r.get("id").asText() + "  " + r.get("state").asText()
            + "  from " + r.get("requester").asText() + " at " + r.get("requesterOrg").asText()
            + "  for " + r.get("purposes") + " " + r.get("types") + "  until "
            + Instant.ofEpochMilli(r.get("end").asLong()) + "  reason: "
            + r.get("reason").asText());
      }
      return 0;
    }
  }

  @picocli.CommandLine.Command(name = "decline", mixinStandardHelpOptions = true,
      description = "As a patient: decline a request for access (grant it with 'consent"
          + " grant').")
  static final class Decline implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--id", required = true, description = "The request id.")
    String id;

    @Override
    public Integer call() throws Exception {
      Submitter.submit(client, new Command.DeclineRequest(id), null);
      System.out.println("declined " + id);
      return 0;
    }
  }
}
