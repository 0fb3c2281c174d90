package org.careledger.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.careledger.client.keys.KeyFile;

import org.careledger.core.contract.Role;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "identity", mixinStandardHelpOptions = true,
    description = "Register, rotate, revoke and show identities (membership contract).",
    subcommands = {IdentityCommand.Register.class, IdentityCommand.Rotate.class,
        IdentityCommand.Revoke.class, IdentityCommand.Show.class})
final class IdentityCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.err);
  }

  /** A public key given as a key file or as base64url. */
  static final class PublicKey {
    @Option(names = "--public-key-file", description = "Key file whose public key to use.")
    Path file;

    @Option(names = "--public-key", description = "Ed25519 public key, base64url.")
    String b64;

    byte[] bytes() throws java.io.IOException {
      if (file != null) {
        return KeyFile.publicKey(file);
      }
      byte[] k;
      try {
        k = org.careledger.core.crypto.Codec.unb64(b64);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--public-key is not base64url");
      }
      if (k.length != 32) {
        throw new IllegalArgumentException("--public-key must be 32 bytes");
      }
      return k;
    }
  }

  @Command(name = "register", mixinStandardHelpOptions = true,
      description = "An org admin registers a new identity in the admin's organization.")
  static final class Register implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--id", required = true, description = "New identity id.")
    String id;

    @Option(names = "--role", required = true,
        description = "admin, practitioner, service, patient, auditor, insurer, researcher,"
            + " manufacturer, distributor or pharmacy.")
    String role;

    @Option(names = "--display-name", description = "Optional display name (not PHI).")
    String displayName;

    @ArgGroup(multiplicity = "1") PublicKey key;

    @Option(names = "--receipt", description = "Write the receipt to this file.")
    Path receipt;

    @Override
    public Integer call() throws Exception {
      Submitter.submit(client,
          new org.careledger.core.contract.Command.Register(id, Role.fromWire(role), key.bytes(), displayName), receipt);
      return 0;
    }
  }

  @Command(name = "rotate", mixinStandardHelpOptions = true,
      description = "Replace an identity's key (by the identity itself or its org admin).")
  static final class Rotate implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--id", required = true, description = "Identity id.")
    String id;

    @ArgGroup(multiplicity = "1") PublicKey key;

    @Option(names = "--receipt", description = "Write the receipt to this file.")
    Path receipt;

    @Override
    public Integer call() throws Exception {
      Submitter.submit(client, new org.careledger.core.contract.Command.Rotate(id, key.bytes()), receipt);
      return 0;
    }
  }

  @Command(name = "revoke", mixinStandardHelpOptions = true,
      description = "Revoke an identity and its key (by the identity itself or its org admin).")
  static final class Revoke implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--id", required = true, description = "Identity id.")
    String id;

    @Option(names = "--reason", required = true, description = "Why (recorded on the ledger).")
    String reason;

    @Option(names = "--receipt", description = "Write the receipt to this file.")
    Path receipt;

    @Override
    public Integer call() throws Exception {
      Submitter.submit(client, new org.careledger.core.contract.Command.Revoke(id, reason), receipt);
      return 0;
    }
  }

  @Command(name = "show", mixinStandardHelpOptions = true,
      description = "Show an identity as the ledger records it.")
  static final class Show implements Callable<Integer> {
    @Mixin Options.Client client;

    @Option(names = "--id", required = true, description = "Identity id.")
    String id;

    @Override
    public Integer call() throws Exception {
      var api = client.connect(client.loadKey());
      System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter()
          .writeValueAsString(api.get("/api/v1/membership/identities/" + id)));
      return 0;
    }
  }
}
