package org.careledger.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.careledger.client.ApiClient;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.crypto.Ed25519;
import picocli.CommandLine.Option;

/** Option groups shared by several commands. */
final class Options {
  private Options() {}

  /** Where a passphrase for encrypted key files comes from. */
  static final class Passphrase {
    @Option(names = "--passphrase-file",
        description = "File whose first line is the key passphrase (default: the "
            + "CARELEDGER_PASSPHRASE environment variable; none: keys are stored unencrypted, "
            + "mode 0600).")
    Path file;

    char[] orNull() throws IOException {
      if (file != null) {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.isEmpty() || lines.get(0).isEmpty()) {
          throw new IOException("passphrase file " + file + " is empty");
        }
        return lines.get(0).toCharArray();
      }
      String env = System.getenv("CARELEDGER_PASSPHRASE");
      return env == null || env.isEmpty() ? null : env.toCharArray();
    }
  }

  /** The node(s) to talk to and the key to sign in with. */
  static final class Client {
    @Option(names = "--node", split = ",", defaultValue = "http://127.0.0.1:8080",
        description = "Node API URL(s), comma-separated; the next is tried when one is down "
            + "(default: ${DEFAULT-VALUE}).")
    List<String> nodes;

    @Option(names = "--key", required = true,
        description = "Your key file (signs the sign-in assertion and any transaction).")
    Path key;

    @picocli.CommandLine.Mixin Passphrase passphrase = new Passphrase();

    Ed25519.KeyPair loadKey() throws IOException {
      return KeyFile.read(key, KeyFile.isEncrypted(key) ? passphrase.orNull() : null);
    }

    ApiClient connect(Ed25519.KeyPair k) {
      return new ApiClient(nodes, k);
    }
  }
}
