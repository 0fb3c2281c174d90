package org.careledger.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.careledger.client.GenesisFile;
import org.careledger.client.ProofCheck;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "proof", mixinStandardHelpOptions = true,
    description = "Check receipts and proofs offline against the genesis' node keys.",
    subcommands = {ProofCommand.Verify.class, ProofCommand.Consistency.class})
final class ProofCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.err);
  }

  static List<byte[]> trustedKeys(Path genesis) throws java.io.IOException {
    return GenesisFile.parse(Files.readAllBytes(genesis)).nodeKeys();
  }

  static void report(List<String> problems, String okMessage) {
    if (!problems.isEmpty()) {
      throw new Main.VerificationFailed("proof FAILED: " + String.join("; ", problems));
    }
    System.out.println(okMessage);
  }

  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = "Check a receipt (from tx submit --receipt or tx get --out): the transaction"
          + " hashes to its id, its inclusion proof reaches the log root of the signed header,"
          + " and a genesis node key signed that header. Or check a consistency proof file.")
  static final class Verify implements Callable<Integer> {
    @Option(names = "--receipt", description = "Receipt file.")
    Path receipt;

    @Option(names = "--consistency",
        description = "Consistency proof file from 'proof consistency --out'.")
    Path consistency;

    @Option(names = "--genesis", required = true,
        description = "The network's genesis.json (source of the trusted node keys).")
    Path genesis;

    @Override
    public Integer call() throws Exception {
      if ((receipt == null) == (consistency == null)) {
        throw new IllegalArgumentException("give exactly one of --receipt and --consistency");
      }
      ObjectMapper m = new ObjectMapper();
      if (receipt != null) {
        JsonNode r = m.readTree(receipt.toFile());
        report(ProofCheck.receipt(r, trustedKeys(genesis)), "receipt OK: transaction "
            + r.path("txId").asText() + " is leaf " + r.path("inclusionProof").path("leafIndex")
            + " of a log of " + r.path("inclusionProof").path("treeSize")
            + " signed by a genesis node");
      } else {
        JsonNode c = m.readTree(consistency.toFile());
        report(ProofCheck.consistency(c, trustedKeys(genesis)), "consistency OK: block "
            + c.path("first").path("header").path("height") + " is a prefix of block "
            + c.path("second").path("header").path("height"));
      }
      return 0;
    }
  }

  @Command(name = "consistency", mixinStandardHelpOptions = true,
      description = "Fetch a consistency proof between two signed heads and check it.")
  static final class Consistency implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--from-height", required = true, description = "Older block height.")
    long from;

    @Option(names = "--to-height", description = "Newer block height (default: latest).")
    Long to;

    @Option(names = "--genesis", required = true, description = "The network's genesis.json.")
    Path genesis;

    @Option(names = "--out", description = "Also write the proof to this file.")
    Path out;

    @Override
    public Integer call() throws Exception {
      JsonNode c = client.connect(client.loadKey()).get("/api/v1/proofs/consistency?fromHeight="
          + from + (to == null ? "" : "&toHeight=" + to));
      if (out != null) {
        Files.writeString(out, c.toPrettyString() + "\n");
      }
      report(ProofCheck.consistency(c, trustedKeys(genesis)), "consistency OK: log of "
          + c.path("first").path("header").path("logSize") + " is a prefix of log of "
          + c.path("second").path("header").path("logSize"));
      return 0;
    }
  }
}
