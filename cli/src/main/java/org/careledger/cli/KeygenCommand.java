package org.careledger.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "keygen", mixinStandardHelpOptions = true,
    description = "Generate an Ed25519 key file (mode 0600; encrypted when a passphrase is set).")
final class KeygenCommand implements Callable<Integer> {
  @Option(names = "--out", required = true, description = "Key file to create.")
  Path out;

  @Mixin Options.Passphrase passphrase;

  @Override
  public Integer call() throws Exception {
    Ed25519.KeyPair k = Ed25519.KeyPair.generate();
    KeyFile.write(out, k, passphrase.orNull());
    System.out.println("keyId     " + k.keyId());
    System.out.println("publicKey " + Codec.b64(k.publicKey()));
    k.destroy();
    return 0;
  }
}
