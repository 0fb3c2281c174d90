package org.careledger.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.careledger.client.ApiClient;
import org.careledger.client.Transactions;
import org.careledger.core.crypto.Ed25519;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "tx", mixinStandardHelpOptions = true,
    description = "Submit and read transactions.",
    subcommands = {TxCommand.Submit.class, TxCommand.Get.class})
final class TxCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.err);
  }

  @Command(name = "submit", mixinStandardHelpOptions = true,
      description = "Submit a transaction: either signed bytes from a file (sent as they are),"
          + " or a contract and command that are signed here with --key.")
  static final class Submit implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--file", description = "A signed transaction (canonical JSON) to send.")
    Path file;

    @Option(names = "--contract", description = "Contract name, e.g. notary.")
    String contract;

    @Option(names = "--command",
        description = "Command JSON, e.g. '{\"type\":\"anchor\",\"digest\":\"..\",\"label\":\"..\"}'.")
    String command;

    @Option(names = "--sign-only", description = "Print the signed transaction; do not send.")
    boolean signOnly;

    @Option(names = "--receipt", description = "Write the receipt to this file.")
    Path receipt;

    @Override
    public Integer call() throws Exception {
      Ed25519.KeyPair key = client.loadKey();
      ApiClient api = client.connect(key);
      byte[] tx;
      if (file != null) {
        tx = Files.readAllBytes(file);
      } else {
        if (contract == null || command == null) {
          throw new IllegalArgumentException("give --file, or --contract and --command");
        }
        JsonNode cmd;
        try {
          cmd = new ObjectMapper().readTree(command);
        } catch (java.io.IOException e) {
          throw new IllegalArgumentException("--command is not JSON");
        }
        if (!(cmd instanceof ObjectNode o)) {
          throw new IllegalArgumentException("--command must be a JSON object");
        }
        String chain = api.get("/api/v1/status").get("chain").asText();
        tx = Transactions.sign(chain, key, contract, o, System.currentTimeMillis(),
            Transactions.DEFAULT_VALIDITY_MS);
      }
      if (signOnly) {
        System.out.println(new String(tx, java.nio.charset.StandardCharsets.UTF_8));
        return 0;
      }
      Submitter.submitBytes(api, tx, receipt);
      return 0;
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true,
      description = "Fetch a committed transaction with its proof against the latest head.")
  static final class Get implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--id", required = true, description = "Transaction id (hex).")
    String id;

    @Option(names = "--out", description = "Write it to this file instead of printing it.")
    Path out;

    @Override
    public Integer call() throws Exception {
      JsonNode r = client.connect(client.loadKey()).get("/api/v1/transactions/" + id);
      String text = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(r);
      if (out != null) {
        Files.writeString(out, text + "\n");
      } else {
        System.out.println(text);
      }
      return 0;
    }
  }
}
