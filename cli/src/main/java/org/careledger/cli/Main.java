package org.careledger.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code careledger} command. Exit codes: 0 success; 1 the operation failed (refused,
 * unreachable, not found); 2 usage error; 3 verification found a problem.
 */
@Command(name = "careledger", mixinStandardHelpOptions = true, version = "careledger 0.1.0",
    description = "CareLedger: a verifiable health-records ledger.",
    subcommands = {DemoCommand.class, InitCommand.class, NodeCommand.class, KeygenCommand.class,
        IdentityCommand.class, TxCommand.class, VerifyCommand.class, ProofCommand.class,
        StatusCommand.class, TokenCommand.class, BenchCommand.class, BenchFhirCommand.class,
        ImportCommand.class, PatientCommand.class, ConsentCommand.class, ShareCommand.class,
        BenchAuditCommand.class, BenchNetworkCommand.class, NetworkCommand.class,
        BackupCommand.class, VaultCommand.class,
        CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  public static final int FAILED = 1;
  public static final int VERIFY_FAILED = 3;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.err);
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns the exit code (tests call this in-process). */
  public static int run(String... args) {
    boolean node = args.length > 0 && (args[0].equals("node") || args[0].equals("bench")
        || args[0].equals("demo") || args[0].equals("bench-fhir")
        || args[0].equals("bench-audit") || args[0].equals("bench-network"));
    if (System.getProperty("careledger.log.level") == null) {
      System.setProperty("careledger.log.level", node ? "INFO" : "WARN");
    }
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      commandLine.getErr().println("careledger: " + message(e));
      return e instanceof VerificationFailed ? VERIFY_FAILED : FAILED;
    });
    return cl.execute(args);
  }

  /** One line for a failure; the file system's exceptions otherwise say only the path. */
  static String message(Exception e) {
    return switch (e) {
      case java.nio.file.NoSuchFileException f -> "no such file or directory: " + f.getFile();
      case java.nio.file.AccessDeniedException f -> "permission denied: " + f.getFile();
      case java.nio.file.FileAlreadyExistsException f -> "already exists: " + f.getFile();
      case java.nio.file.NotDirectoryException f -> "not a directory: " + f.getFile();
      case java.nio.file.FileSystemException f -> "cannot use " + f.getFile()
          + (f.getReason() == null ? "" : ": " + f.getReason());
      default -> e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    };
  }

  /** Thrown by commands whose check found a problem; exits with {@link #VERIFY_FAILED}. */
  static final class VerificationFailed extends RuntimeException {
    private static final long serialVersionUID = 1L;

    VerificationFailed(String message) {
      super(message);
    }
  }
}
