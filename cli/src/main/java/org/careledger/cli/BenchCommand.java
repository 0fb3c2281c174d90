package org.careledger.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.careledger.bench.LoadGenerator;
import org.careledger.bench.WorkDirs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Run the end-to-end load generator against a running node (--node, --key with"
        + " an org admin key) or a fresh node of its own (--fresh).")
final class BenchCommand implements Callable<Integer> {
  @Option(names = "--node", description = "Node API URL; several, comma-separated, spread"
      + " the load over a network's nodes and fail over when one is down.")
  String node;

  @Option(names = "--key", description = "An org admin key file (registers the load signers).")
  Path key;

  @Option(names = "--fresh", description = "Start a fresh node in a temporary dir and load it.")
  boolean fresh;

  @Option(names = "--clients", defaultValue = "256",
      description = "Concurrent requests in closed-loop mode (default: ${DEFAULT-VALUE}).")
  int clients;

  @Option(names = "--signers", defaultValue = "16",
      description = "Distinct registered signer identities (default: ${DEFAULT-VALUE}).")
  int signers;

  @Option(names = "--seconds", defaultValue = "20",
      description = "How long to send (default: ${DEFAULT-VALUE}).")
  int seconds;

  @Option(names = "--warmup", defaultValue = "5",
      description = "Seconds of load before measuring starts (default: ${DEFAULT-VALUE}).")
  int warmup;

  @Option(names = "--rate", defaultValue = "0",
      description = "Open loop at this many tx/s; 0 = closed loop (default: ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--batch", defaultValue = "1",
      description = "Transactions per request; >1 uses the NDJSON batch endpoint"
          + " (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--ledger-sync",
      description = "With --fresh: also sync every RocksDB block write (to measure what"
          + " paying for durability twice costs).")
  boolean ledgerSync;

  @Mixin Options.Passphrase passphrase;

  @Override
  public Integer call() throws Exception {
    if (fresh == (node != null)) {
      throw new IllegalArgumentException("give either --fresh or --node with --key");
    }
    if (node != null && key == null) {
      throw new IllegalArgumentException("--node needs --key (an org admin key file)");
    }
    if (clients < 1 || seconds < 1 || signers < 1 || rate < 0 || batch < 1 || warmup < 0) {
      throw new IllegalArgumentException("--clients, --seconds and --signers must be positive");
    }
    Path work = Files.createTempDirectory("careledger-bench");
    try {
      LoadGenerator.run(new LoadGenerator.Options(node, key, passphrase.orNull(), clients,
          signers, seconds, warmup, rate, batch, ledgerSync, work), System.out);
    } finally {
      WorkDirs.delete(work);
    }
    return 0;
  }
}
