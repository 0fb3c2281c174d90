package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every command of the careledger CLI against real node processes, with its exit codes; part
 * of the ledger-core suite, run unchanged against a one-node network ({@code CliOneNodeTest})
 * and a three-node network ({@code CliThreeNodeTest}). Also the CLI helpers other tests use.
 */
abstract class CliTest extends BackendSuite {
  static String admin;

  /**
   * An enrollment code for a patient, offered through the CLI by {@code key} (a front-desk
   * identity of the node's organization); asserts the offer worked.
   */
  static String offerCode(String url, Path key, String patientId) {
    Run offer = cli("patient", "offer", "--node", url, "--key", key.toString(), "--patient",
        patientId);
    org.assertj.core.api.Assertions.assertThat(offer.code()).as(offer.out()).isZero();
    return offer.out().replaceAll("(?s).*enrollment code ([A-Z2-7-]{29}).*", "$1");
  }

  record Run(int code, String out) {
    boolean oneLineError() {
      String[] lines = out.strip().split("\n");
      return lines.length == 1 && lines[0].startsWith("careledger: ")
          && !out.contains("\tat ") && !out.contains("Exception");
    }
  }

  static synchronized Run cli(String... args) {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8);
    System.setOut(ps);
    System.setErr(ps);
    try {
      return new Run(Main.run(args), buf.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @BeforeAll
  void setUp() {
    admin = node.dir.resolve("keys/admin.key").toString();
  }

  String[] withNode(String... args) {
    String[] all = new String[args.length + 2];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "--node";
    all[args.length + 1] = node.url();
    return all;
  }

  @Test
  void networkGovernanceCommandsListMembersAndRefuseBadInput() throws Exception {
    Run list = cli(withNode("network", "proposals", "--key", admin));
    assertThat(list.code()).as(list.out()).isZero();
    assertThat(list.out()).contains("org1  member");
    Run unknown = cli(withNode("network", "approve", "--key", admin, "--id", "no-such"));
    assertThat(unknown.code()).isEqualTo(Main.FAILED);
    assertThat(unknown.oneLineError()).as(unknown.out()).isTrue();
    assertThat(unknown.out()).contains("no proposal no-such");
    Run noFile = cli(withNode("network", "propose-add", "--key", admin, "--org-file",
        node.dir.resolve("missing.json").toString(), "--reason", "x"));
    assertThat(noFile.code()).isEqualTo(Main.FAILED);
    assertThat(noFile.oneLineError()).as(noFile.out()).isTrue();
    // a data dir that already has its genesis is not joined to a running network again
    Run listed = cli("init", "join", "--running", "--data", node.dir.toString(), "--genesis",
        node.dir.resolve("genesis.json").toString());
    assertThat(listed.code()).isEqualTo(Main.FAILED);
    assertThat(listed.oneLineError()).as(listed.out()).isTrue();
    assertThat(cli(withNode("network", "proposals", "--key", admin)).out())
        .doesNotContain("no-such");
  }

  @Test
  void initRefusesToOverwriteAnExistingNode() {
    Run r = cli("init", "--data", node.dir.toString());
    assertThat(r.code()).isEqualTo(Main.FAILED);
    assertThat(r.oneLineError()).as(r.out()).isTrue();
    assertThat(r.out()).contains("refusing to overwrite");
  }

  @Test
  void keygenWritesAnOwnerOnlyKeyAndEncryptsWithAPassphrase() throws Exception {
    Path plain = tmp.resolve("plain.key");
    Run r = cli("keygen", "--out", plain.toString());
    assertThat(r.code()).isZero();
    assertThat(r.out()).containsPattern("keyId +[0-9a-f]{32}");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(plain)))
        .isEqualTo("rw-------");
    Path pass = tmp.resolve("pass.txt");
    Files.writeString(pass, "correct horse battery staple\n");
    Path enc = tmp.resolve("enc.key");
    assertThat(cli("keygen", "--out", enc.toString(), "--passphrase-file", pass.toString())
        .code()).isZero();
    assertThat(Files.readString(enc)).contains("\"encrypted\"").doesNotContain("\"secret\"");
    // the encrypted key signs in with the passphrase, and fails cleanly without or with another
    Files.writeString(tmp.resolve("wrong.txt"), "wrong\n");
    Run wrong = cli(withNode("status", "--key", enc.toString(), "--passphrase-file",
        tmp.resolve("wrong.txt").toString()));
    assertThat(wrong.code()).isEqualTo(Main.FAILED);
    assertThat(wrong.out()).contains("wrong passphrase");
    assertThat(wrong.oneLineError()).isTrue();
    Files.setPosixFilePermissions(plain, PosixFilePermissions.fromString("rw-r--r--"));
    Run open = cli(withNode("status", "--key", plain.toString()));
    assertThat(open.code()).isEqualTo(Main.FAILED);
    assertThat(open.out()).contains("readable by others");
  }

  @Test
  void registerSubmitReadProveRotateRevoke() throws Exception {
    Path alice = tmp.resolve("alice.key");
    assertThat(cli("keygen", "--out", alice.toString()).code()).isZero();
    Run reg = cli(withNode("identity", "register", "--key", admin, "--id", "dr-alice",
        "--role", "practitioner", "--public-key-file", alice.toString()));
    assertThat(reg.code()).as(reg.out()).isZero();
    assertThat(reg.out()).containsPattern("committed [0-9a-f]{64} at leaf \\d+ in block \\d+");

    Run show = cli(withNode("identity", "show", "--key", admin, "--id", "dr-alice"));
    assertThat(show.out()).contains("\"role\" : \"practitioner\"").contains("\"org\" : \"org1\"");

    Path receipt = tmp.resolve("receipt.json");
    Run sub = cli(withNode("tx", "submit", "--key", alice.toString(), "--contract", "notary",
        "--command", "{\"type\":\"anchor\",\"digest\":\"" + "ab".repeat(32)
            + "\",\"label\":\"discharge summary\"}", "--receipt", receipt.toString()));
    assertThat(sub.code()).as(sub.out()).isZero();
    String genesis = node.dir.resolve("genesis.json").toString();
    Run ok = cli("proof", "verify", "--receipt", receipt.toString(), "--genesis", genesis);
    assertThat(ok.code()).as(ok.out()).isZero();
    assertThat(ok.out()).contains("receipt OK");

    // a doctored receipt fails with exit code 3
    ObjectMapper m = new ObjectMapper();
    ObjectNode r = (ObjectNode) m.readTree(receipt.toFile());
    ((ObjectNode) r.get("tx").get("payload").get("command")).put("label", "altered");
    Path bad = tmp.resolve("bad-receipt.json");
    m.writeValue(bad.toFile(), r);
    Run fail = cli("proof", "verify", "--receipt", bad.toString(), "--genesis", genesis);
    assertThat(fail.code()).isEqualTo(Main.VERIFY_FAILED);
    assertThat(fail.out()).contains("proof FAILED");

    String txId = r.get("txId").asText();
    Path read = tmp.resolve("read.json");
    assertThat(cli(withNode("tx", "get", "--key", admin, "--id", txId, "--out",
        read.toString())).code()).isZero();
    assertThat(cli("proof", "verify", "--receipt", read.toString(), "--genesis", genesis)
        .code()).isZero();
    Path cons = tmp.resolve("consistency.json");
    Run c = cli(withNode("proof", "consistency", "--key", admin, "--from-height", "1",
        "--genesis", genesis, "--out", cons.toString()));
    assertThat(c.code()).as(c.out()).isZero();
    assertThat(cli("proof", "verify", "--consistency", cons.toString(), "--genesis", genesis)
        .code()).isZero();

    // a pre-signed transaction submitted from a file
    Run signed = cli(withNode("tx", "submit", "--key", alice.toString(), "--contract",
        "notary", "--command", "{\"type\":\"anchor\",\"digest\":\"" + "cd".repeat(32)
            + "\",\"label\":\"x\"}", "--sign-only"));
    Path txFile = tmp.resolve("tx.json");
    Files.writeString(txFile, signed.out().strip());
    assertThat(cli(withNode("tx", "submit", "--key", admin, "--file", txFile.toString()))
        .code()).isZero();
    Run dup = cli(withNode("tx", "submit", "--key", admin, "--file", txFile.toString()));
    assertThat(dup.code()).isEqualTo(Main.FAILED);
    assertThat(dup.out()).contains("Transaction refused");
    assertThat(dup.oneLineError()).isTrue();

    Path alice2 = tmp.resolve("alice2.key");
    cli("keygen", "--out", alice2.toString());
    assertThat(cli(withNode("identity", "rotate", "--key", alice.toString(), "--id", "dr-alice",
        "--public-key-file", alice2.toString())).code()).isZero();
    Run old = cli(withNode("status", "--key", alice.toString()));
    assertThat(old.code()).isEqualTo(Main.FAILED);
    assertThat(old.out()).contains("revoked");
    assertThat(cli(withNode("status", "--key", alice2.toString())).out())
        .contains("signed in as dr-alice");
    assertThat(cli(withNode("identity", "revoke", "--key", admin, "--id", "dr-alice",
        "--reason", "left the hospital")).code()).isZero();
    assertThat(cli(withNode("status", "--key", alice2.toString())).code())
        .isEqualTo(Main.FAILED);
  }

  @Test
  void tokenPrintsABearerTokenTheApiAccepts() throws Exception {
    Run t = cli(withNode("token", "--key", admin));
    assertThat(t.code()).isZero();
    String token = t.out().strip();
    assertThat(token).matches("[A-Za-z0-9_-]{43}");
    var r = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create(node.url() + "/api/v1/status")).header("Authorization",
        "Bearer " + token).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
  }

  @Test
  void statusReportsTheChain() {
    Run s = cli(withNode("status", "--key", admin));
    assertThat(s.code()).isZero();
    assertThat(s.out()).contains("chain     careledger-test")
        .containsPattern("node      node1 \\((leader|follower of node[23])\\)");
  }

  @Test
  void verifyPassesWhileTheNodeRuns() {
    Run v = cli("verify", "--data", node.dir.toString());
    assertThat(v.code()).as(v.out()).isZero();
    assertThat(v.out()).startsWith("verified ");
  }

  @Test
  void benchRunsAgainstARunningNode() {
    Run b = cli(withNode("bench", "--key", admin, "--seconds", "2", "--clients", "32",
        "--signers", "2", "--rate", "100"));
    assertThat(b.code()).as(b.out()).isZero();
    assertThat(b.out()).containsPattern("committed \\d+ tx").contains("ratio committed/raw-verify")
        .contains("(0 failed)");
  }

  @Test
  void usageErrorsAndUnreachableNodesGiveClearMessages() throws Exception {
    Run noKey = cli("status");
    assertThat(noKey.code()).isEqualTo(2);
    assertThat(noKey.out()).contains("Missing required option: '--key");
    Run down = cli("status", "--key", admin, "--node", "http://127.0.0.1:"
        + NodeProcess.freePort());
    assertThat(down.code()).isEqualTo(Main.FAILED);
    assertThat(down.oneLineError()).as(down.out()).isTrue();
    assertThat(down.out()).contains("cannot reach");
    Run badJson = cli(withNode("tx", "submit", "--key", admin, "--contract", "notary",
        "--command", "{not json"));
    assertThat(badJson.code()).isEqualTo(Main.FAILED);
    assertThat(badJson.oneLineError()).isTrue();
    for (String cmd : new String[] {"init", "node", "keygen", "identity", "tx", "verify",
        "proof", "status", "bench", "token", "import", "demo", "bench-fhir"}) {
      Run help = cli(cmd, "--help");
      assertThat(help.code()).as(cmd).isZero();
      assertThat(help.out()).as(cmd).contains("Usage: careledger " + cmd);
    }
  }
}
