package org.careledger.cli;

import java.nio.file.Files;
import java.util.concurrent.Callable;
import org.careledger.bench.AuditBenchmark;
import org.careledger.bench.WorkDirs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench-audit", mixinStandardHelpOptions = true,
    description = "Benchmark audited reads (consent check, access event committed, decrypt,"
        + " verify) on a fresh node, against the same reads on a node with audit-reads off.")
final class BenchAuditCommand implements Callable<Integer> {
  @Option(names = "--records", defaultValue = "1000",
      description = "Observations to read from (default: ${DEFAULT-VALUE}).")
  int records;

  @Option(names = "--rate", defaultValue = "200",
      description = "Steady rate for the latency figures, reads/s (default: ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--seconds", defaultValue = "15",
      description = "Seconds per phase (default: ${DEFAULT-VALUE}).")
  int seconds;

  @Option(names = "--clients", defaultValue = "32",
      description = "Readers at saturation (default: ${DEFAULT-VALUE}).")
  int clients;

  @Override
  public Integer call() throws Exception {
    if (records < 1 || rate < 1 || seconds < 1 || clients < 1) {
      throw new IllegalArgumentException("all options must be positive");
    }
    java.nio.file.Path work = Files.createTempDirectory("careledger-bench-audit");
    try {
      AuditBenchmark.run(new AuditBenchmark.Options(records, rate, seconds, clients, work),
          System.out);
    } finally {
      WorkDirs.delete(work);
    }
    return 0;
  }
}
