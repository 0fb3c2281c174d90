package org.careledger.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.careledger.core.crypto.Codec;
import org.careledger.node.LedgerVerifier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "verify", mixinStandardHelpOptions = true,
    description = "Re-check a stored ledger end to end: hashes, signatures, log, block links and"
        + " state by replay. Works while the node runs. Exits 3 naming the first bad block.")
final class VerifyCommand implements Callable<Integer> {
  @Option(names = "--data", defaultValue = "data",
      description = "The node's data dir (default: ${DEFAULT-VALUE}).")
  Path data;

  @Override
  public Integer call() throws Exception {
    LedgerVerifier.Report r = LedgerVerifier.verify(data);
    if (!r.ok()) {
      throw new Main.VerificationFailed("verification FAILED after " + r.blocks()
          + " good blocks: " + r.problem());
    }
    System.out.println("verified " + r.blocks() + " blocks, " + r.transactions()
        + " transactions; log root " + Codec.hex(r.logRoot()));
    return 0;
  }
}
