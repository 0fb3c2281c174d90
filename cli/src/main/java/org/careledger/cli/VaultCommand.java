package org.careledger.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.careledger.node.NodeConfig;
import org.careledger.node.fhir.RecordStore;
import org.careledger.node.store.LedgerStore;
import org.careledger.node.vault.Vault;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code careledger vault}: work on a stopped node's vault. */
@Command(name = "vault", mixinStandardHelpOptions = true,
    description = "Work on a stopped node's vault.",
    subcommands = {VaultCommand.RotateKey.class})
final class VaultCommand {
  private VaultCommand() {}

  @Command(name = "rotate-key", mixinStandardHelpOptions = true,
      description = "Give the vault a new key-encryption key: every record version's data key"
          + " is wrapped again under it, the vault's table files are rewritten, and the old key"
          + " is removed from keys/vault.keys. The node must be stopped. If it is interrupted,"
          + " run it again: it goes on where it was. Backups made before hold the old key.")
  static final class RotateKey implements Callable<Integer> {
    @Option(names = "--data", defaultValue = "data",
        description = "The node's data dir (default: ${DEFAULT-VALUE}).")
    Path data;

    @Mixin Options.Passphrase passphrase;

    @Override
    public Integer call() throws Exception {
      NodeConfig config = NodeConfig.load(data, null);
      if (LedgerStore.inUse(config.ledgerDir())) {
        throw new IOException("the node of " + data + " is running (its ledger is locked);"
            + " stop it first");
      }
      char[] pass = passphrase.orNull();
      Path keys = config.vaultKeysFile();
      if (!java.nio.file.Files.isRegularFile(keys)) {
        throw new IOException("there are no vault keys at " + keys + " (a node makes them at"
            + " its first start)");
      }
      // reads the keys (a wrong passphrase or a damaged file stops here) before it writes
      Vault.beginKeyRotation(keys, pass);
      RecordStore.Rewrapped done;
      try (LedgerStore store = LedgerStore.open(config.ledgerDir())) {
        done = RecordStore.rewrapVault(store, Vault.open(keys, pass));
      }
      Vault.finishKeyRotation(keys, pass);
      System.out.println("new key-encryption key in " + keys + ": " + done.entries()
          + " encrypted record versions wrapped again; the old key is gone"
          + (done.left() == 0 ? "" : "; " + done.left() + " damaged entries were left as they"
              + " were (see the log)"));
      return 0;
    }
  }
}
