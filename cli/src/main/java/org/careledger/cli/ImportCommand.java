package org.careledger.cli;

import org.careledger.client.Importer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "import", mixinStandardHelpOptions = true,
    description = "Import FHIR Bundles (JSON files, folders of them, NDJSON) into a node's"
        + " /fhir. Each bundle is one all-or-nothing transaction; running it again adds nothing"
        + " twice; after a crash, run it again to resume. Exits 1 if a bundle was rejected.")
final class ImportCommand implements Callable<Integer> {
  @Parameters(index = "0", description = "A .json or .ndjson file, or a folder of them.")
  Path path;

  @Mixin Options.Client client;

  @Option(names = "--threads", defaultValue = "4",
      description = "Bundles sent at once (default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--state",
      description = "File recording imported bundles (default: PATH.import-state beside it).")
  Path state;

  @Override
  public Integer call() throws Exception {
    if (threads < 1 || threads > 64) {
      throw new IllegalArgumentException("--threads must be 1..64");
    }
    List<Importer.Unit> units = Importer.read(path);
    Path stateFile = state != null ? state
        : path.toAbsolutePath().resolveSibling(path.getFileName() + ".import-state");
    Importer.Report r = new Importer(client.connect(client.loadKey()), stateFile, threads,
        System.err).run(units);
    return Importer.print(r, System.out) == 0 ? 0 : Main.FAILED;
  }
}
