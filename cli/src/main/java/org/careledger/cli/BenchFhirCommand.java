package org.careledger.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.careledger.bench.FhirBenchmark;
import org.careledger.bench.WorkDirs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench-fhir", mixinStandardHelpOptions = true,
    description = "Benchmark records on a fresh node: FHIR transaction bundles through /fhir and"
        + " through import, read by id, full validation; with PostgreSQL JSONB as the baseline.")
final class BenchFhirCommand implements Callable<Integer> {
  @Option(names = "--bundles", required = true,
      description = "Folder of FHIR transaction bundles (e.g. Synthea output).")
  Path bundles;

  @Option(names = "--repeats", defaultValue = "5",
      description = "Times each bundle is posted (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--warmup-rounds", defaultValue = "10",
      description = "Rounds of the bundles posted first, not measured (default:"
          + " ${DEFAULT-VALUE}).")
  int warmupRounds;

  @Option(names = "--threads", defaultValue = "4",
      description = "Concurrent bundles (default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--reads", defaultValue = "2000",
      description = "Reads by id (default: ${DEFAULT-VALUE}).")
  int reads;

  @Option(names = "--validations", defaultValue = "500",
      description = "Resources to validate fully (default: ${DEFAULT-VALUE}; 0 skips).")
  int validations;

  @Option(names = "--postgres", description = "JDBC URL of a PostgreSQL for the baseline,"
      + " e.g. jdbc:postgresql://127.0.0.1:5432/bench?user=bench&password=...")
  String postgres;

  @Override
  public Integer call() throws Exception {
    if (repeats < 1 || threads < 1 || reads < 1 || validations < 0 || warmupRounds < 0) {
      throw new IllegalArgumentException("--repeats, --threads and --reads must be positive");
    }
    Path work = Files.createTempDirectory("careledger-bench-fhir");
    try {
      FhirBenchmark.run(new FhirBenchmark.Options(bundles, repeats, warmupRounds, threads, reads,
          postgres, validations, work), System.out);
    } finally {
      WorkDirs.delete(work);
    }
    return 0;
  }
}
