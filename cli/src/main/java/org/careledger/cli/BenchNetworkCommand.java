package org.careledger.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.careledger.bench.LoadGenerator;
import org.careledger.bench.NetworkBenchmark;
import org.careledger.bench.WorkDirs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench-network", mixinStandardHelpOptions = true,
    description = "Measure committed tx/s and commit latency of fresh 1-, 3- and 5-node networks"
        + " on this machine (node K on 127.0.0.K), in one run, as ratios to the first size.")
final class BenchNetworkCommand implements Callable<Integer> {
  @Option(names = "--nodes", split = ",", defaultValue = "1,3,5",
      description = "Network sizes, in order; the first is the baseline (default:"
          + " ${DEFAULT-VALUE}).")
  List<Integer> nodes;

  @Option(names = "--clients", defaultValue = "256",
      description = "Concurrent requests in closed-loop mode (default: ${DEFAULT-VALUE}).")
  int clients;

  @Option(names = "--seconds", defaultValue = "20",
      description = "Measured seconds per size (default: ${DEFAULT-VALUE}).")
  int seconds;

  @Option(names = "--warmup", defaultValue = "5",
      description = "Seconds of load before measuring (default: ${DEFAULT-VALUE}).")
  int warmup;

  @Option(names = "--rate", defaultValue = "0",
      description = "Open loop at this many tx/s; 0 = closed loop (default: ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--batch", defaultValue = "1",
      description = "Transactions per request (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--catch-up", defaultValue = "0",
      description = "Instead: a 3-node network commits this many transactions while its third"
          + " node is down, then that node catches up, then rebuilds a wiped ledger"
          + " (default: ${DEFAULT-VALUE}, off).")
  long catchUp;

  @Option(names = "--keep-raft-log",
      description = "With --catch-up: the nodes keep their whole Raft log, so node3 catches up"
          + " by replaying it instead of from a snapshot.")
  boolean keepRaftLog;

  @Override
  public Integer call() throws Exception {
    if (catchUp < 0) {
      throw new IllegalArgumentException("--catch-up must be positive");
    }
    if (catchUp > 0) {
      Path work = Files.createTempDirectory("careledger-bench-catch-up");
      try {
        NetworkBenchmark.catchUp(catchUp, keepRaftLog, new LoadGenerator.Options(null, null,
            null, clients, 16, seconds, warmup, rate, batch, false, work), System.out);
      } finally {
        WorkDirs.delete(work);
      }
      return 0;
    }
    if (nodes.isEmpty() || nodes.stream().anyMatch(n -> n < 1 || n > 9) || clients < 1
        || seconds < 1 || warmup < 0 || rate < 0 || batch < 1) {
      throw new IllegalArgumentException("--nodes takes sizes 1..9; the other numbers must be"
          + " positive");
    }
    Path work = Files.createTempDirectory("careledger-bench-network");
    try {
      NetworkBenchmark.run(nodes.stream().mapToInt(Integer::intValue).toArray(),
          new LoadGenerator.Options(null, null, null, clients, 16, seconds, warmup, rate, batch,
              false, work), System.out);
    } finally {
      WorkDirs.delete(work);
    }
    return 0;
  }
}
