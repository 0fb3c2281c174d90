package org.careledger.cli;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.NetworkInit;

/**
 * A real node in its own JVM process, started with the same main class as bin/careledger, on
 * loopback ports chosen at random. Tests kill it with SIGKILL (destroyForcibly) or stop it.
 */
final class NodeProcess implements AutoCloseable {
  final Path dir;
  final String host;
  final int httpPort;
  private final boolean single;
  private Process process;
  private final Path log;

  private NodeProcess(Path dir, String host, int httpPort, boolean single) {
    this.dir = dir;
    this.host = host;
    this.httpPort = httpPort;
    this.single = single;
    this.log = dir.resolveSibling(dir.getFileName() + ".log");
  }

  private NodeProcess(Path dir, int httpPort) {
    this(dir, "127.0.0.1", httpPort, true);
  }

  static int freePort() throws IOException {
    return freePort("127.0.0.1");
  }

  static int freePort(String host) throws IOException {
    return NetworkInit.freePort(host);
  }

  /**
   * A network of {@code n} organizations (org1..orgN), each with its own node on 127.0.0.K,
   * set up with the same steps as across machines; the nodes are not started.
   */
  static List<NodeProcess> network(Path root, int n) throws IOException {
    List<NetworkInit.OrgPlan> plans = new ArrayList<>();
    List<NodeProcess> nodes = new ArrayList<>();
    for (int k = 1; k <= n; k++) {
      String host = "127.0.0." + k;
      int http = freePort(host);
      plans.add(new NetworkInit.OrgPlan("org" + k, "Organization " + k, "admin" + k, "node" + k,
          host + ":" + freePort(host), host + ":" + http));
      nodes.add(new NodeProcess(root.resolve("org" + k), host, http, false));
    }
    NetworkInit.network(root, "careledger-test", plans, null, System.currentTimeMillis());
    return nodes;
  }

  /** The process id while it runs (for signals). */
  long pid() {
    return process.pid();
  }

  /** Sends a signal (STOP, CONT) to the running process. */
  void signal(String name) throws Exception {
    Process p = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException("kill -" + name + " failed");
    }
  }

  /** Starts the process without waiting for it to be healthy. */
  NodeProcess launch() throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add(single ? "-Xmx512m" : "-Xmx384m");
    cmd.add("--enable-native-access=ALL-UNNAMED");
    cmd.addAll(NodeJvm.get().jvmArgs());
    cmd.add("org.careledger.cli.Main");
    cmd.add("node");
    cmd.add("--data");
    cmd.add(dir.toString());
    process = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    return this;
  }

  /** The exit code once the process has ended by itself within {@code timeout}, or null. */
  Integer awaitExit(Duration timeout) throws InterruptedException {
    return process.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
        ? process.exitValue() : null;
  }

  /** Creates a one-organization network in {@code dir}. */
  static NodeProcess init(Path dir) throws IOException {
    return init(dir, List.of());
  }

  /** Creates a network of org1 (with this node) and member organizations in {@code dir}. */
  static NodeProcess init(Path dir, List<NetworkInit.Member> members) throws IOException {
    int http = freePort();
    int raft = freePort();
    NetworkInit.init(dir, new NetworkInit.Options("careledger-test", "org1", "Test Hospital",
        "admin", "node1", "127.0.0.1:" + raft, "127.0.0.1:" + http, members), null,
        System.currentTimeMillis());
    return new NodeProcess(dir, http);
  }

  /** The node of an existing one-node data dir (for instance a copy of another's). */
  static NodeProcess existing(Path dir) throws IOException {
    org.careledger.node.NodeConfig c = org.careledger.node.NodeConfig.load(dir, null);
    return new NodeProcess(dir, c.httpHost(), c.httpPort(), true);
  }

  /** The node of an existing data dir of a multi-node network. */
  static NodeProcess existingOfNetwork(Path dir) throws IOException {
    org.careledger.node.NodeConfig c = org.careledger.node.NodeConfig.load(dir, null);
    return new NodeProcess(dir, c.httpHost(), c.httpPort(), false);
  }

  /** Changes this node's node.json before it starts. */
  void configure(java.util.function.Consumer<com.fasterxml.jackson.databind.node.ObjectNode> edit)
      throws Exception {
    Path f = dir.resolve("node.json");
    var o = (com.fasterxml.jackson.databind.node.ObjectNode)
        org.careledger.core.json.CanonicalJson.parse(Files.readAllBytes(f));
    edit.accept(o);
    Files.writeString(f, o.toPrettyString());
  }

  String url() {
    return "http://" + host + ":" + httpPort;
  }

  Ed25519.KeyPair adminKey() throws IOException {
    return KeyFile.read(dir.resolve("keys/admin.key"), null);
  }

  /**
   * The key of "records-service", a service identity of the node's organization that the
   * treating-relationship rule lets read and write its records (admins write but do not read
   * PHI); registered by the admin on first use.
   */
  Ed25519.KeyPair serviceKey() throws Exception {
    Path f = dir.resolve("keys/service.key");
    if (Files.exists(f)) {
      return KeyFile.read(f, null);
    }
    Ed25519.KeyPair k = Ed25519.KeyPair.generate();
    new org.careledger.client.ApiClient(url(), adminKey()).submit(TxFixture.signedBy(adminKey())
        .chain("careledger-test").command(new org.careledger.core.contract.Command.Register(
            "records-service", org.careledger.core.contract.Role.SERVICE, k.publicKey(), null))
        .bytes());
    KeyFile.write(f, k, null);
    return k;
  }

  /** A bearer token of {@link #serviceKey()}. */
  String serviceToken() throws Exception {
    return new org.careledger.client.ApiClient(url(), serviceKey()).token();
  }

  static String classpath() {
    return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
  }

  /**
   * How node processes run: RocksDB's JNI library from the build, the classpath, and a
   * class-data-sharing archive of a node's start that every node process of this test run maps
   * instead of loading and verifying the same thousands of classes (HAPI FHIR, Ratis, Jetty)
   * again: made once per test run by one node that starts, commits a transaction and stops. The suite starts a hundred or so nodes, on two
   * cores shared with the nodes already running. The JVM archives classes from jars only and
   * refuses a classpath with a non-empty directory, so the module's class directory goes in a
   * jar, and the tests' own classes, which no node uses, are left out. If the archive cannot be
   * made, nodes run without one.
   */
  record NodeJvm(List<String> jvmArgs) {
    private static NodeJvm made;

    static synchronized NodeJvm get() throws Exception {
      if (made == null) {
        made = make();
      }
      return made;
    }

    private static NodeJvm make() throws Exception {
      Path work = Files.createDirectories(Path.of("target", "node-processes").toAbsolutePath());
      // RocksDB's JNI library as the build unpacked it; otherwise each node process extracts a
      // 15 MB copy into the temp dir, which stays there when the test kills the process
      Path unpacked = Path.of("target", "native").toAbsolutePath();
      List<String> nativeLibs = Files.isDirectory(unpacked)
          ? List.of("-Djava.library.path=" + unpacked) : List.of();
      List<String> cp = new ArrayList<>();
      for (String entry : classpath().split(File.pathSeparator)) {
        Path p = Path.of(entry);
        if (!Files.isDirectory(p)) {
          cp.add(entry);
        } else if (!p.endsWith("test-classes")) {
          cp.add(jar(p, work.resolve(p.getParent().getFileName() + "-" + p.getFileName()
              + ".jar")).toString());
        }
      }
      String classpath = String.join(File.pathSeparator, cp);
      Path archive = work.resolve("node-classes.jsa");
      Files.deleteIfExists(archive);
      Path training = Files.createTempDirectory(work, "training-");
      try {
        int http = freePort();
        NetworkInit.init(training.resolve("node"), new NetworkInit.Options("careledger-test",
            "org1", "Test Hospital", "admin", "node1", "127.0.0.1:" + freePort(),
            "127.0.0.1:" + http), null, System.currentTimeMillis());
        NodeProcess node = new NodeProcess(training.resolve("node"), http);
        Path partial = work.resolve("node-classes.jsa.part");
        List<String> cmd = new ArrayList<>(List.of(javaBin().toString(), "-Xmx512m",
            "--enable-native-access=ALL-UNNAMED", "-XX:ArchiveClassesAtExit=" + partial));
        cmd.addAll(nativeLibs);
        cmd.addAll(List.of("-cp", classpath, "org.careledger.cli.Main", "node", "--data",
            node.dir.toString()));
        node.process = new ProcessBuilder(cmd).redirectErrorStream(true)
            .redirectOutput(node.log.toFile()).start();
        try {
          node.awaitHealthy(Duration.ofSeconds(90));
          new org.careledger.client.ApiClient(node.url(), node.adminKey())
              .submit(TxFixture.signedBy(node.adminKey()).bytes());
        } finally {
          node.stop();
        }
        // a node ends with 143 after SIGTERM; the JVM writes the archive as it exits
        if ((node.process.exitValue() == 0 || node.process.exitValue() == 143)
            && Files.size(partial) > 0) {
          Files.move(partial, archive, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
      } catch (Exception | AssertionError e) {
        System.err.println("node processes run without a class-data archive: " + e);
      } finally {
        TestFiles.deleteTree(training);
      }
      List<String> args = new ArrayList<>(nativeLibs);
      if (Files.exists(archive) && new ProcessBuilder(javaBin().toString(), "-Xshare:on",
          "-XX:SharedArchiveFile=" + archive, "-cp", classpath, "-version")
          .redirectErrorStream(true).redirectOutput(work.resolve("archive-check.log").toFile())
          .start().waitFor() == 0) {
        // -Xshare:on: the JVM maps the archive with this classpath or fails
        args.add("-XX:SharedArchiveFile=" + archive);
      } else {
        System.err.println("node processes run without a class-data archive; see " + work);
      }
      args.add("-cp");
      args.add(classpath);
      return new NodeJvm(List.copyOf(args));
    }

    /** The classes under {@code dir}, in a jar. */
    private static Path jar(Path dir, Path jar) throws IOException {
      try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar));
          var files = Files.walk(dir)) {
        for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
          out.putNextEntry(new java.util.jar.JarEntry(
              dir.relativize(f).toString().replace(File.separatorChar, '/')));
          Files.copy(f, out);
          out.closeEntry();
        }
      }
      return jar;
    }
  }

  NodeProcess start() throws Exception {
    launch();
    awaitHealthy(Duration.ofSeconds(60));
    return this;
  }

  void awaitHealthy(Duration timeout) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      if (!process.isAlive()) {
        throw new IllegalStateException("node exited with " + process.exitValue() + "; see "
            + log);
      }
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url() + "/health"))
            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
        // a node of a network is ready once it knows a leader; a node alone must lead
        if (r.statusCode() == 200 && r.body().contains(single ? "\"leader\":true"
            : "\"leaderId\"")) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("node did not become healthy in " + timeout + "; see " + log);
  }

  /** SIGKILL: the process gets no chance to flush or close anything. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  /** SIGTERM: an orderly shutdown. */
  void stop() throws InterruptedException {
    process.destroy();
    process.waitFor();
  }

  boolean alive() {
    return process != null && process.isAlive();
  }

  String logText() throws IOException {
    return Files.exists(log) ? Files.readString(log) : "";
  }

  @Override
  public void close() throws Exception {
    if (alive()) {
      kill();
    }
  }

  static File javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toFile();
  }
}
