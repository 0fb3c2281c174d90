package org.careledger.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.careledger.node.NetworkInit;
import org.careledger.node.Node;
import org.careledger.node.NodeConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "node", mixinStandardHelpOptions = true,
    description = "Run a node until interrupted.")
final class NodeCommand implements Callable<Integer> {
  @Option(names = "--data", defaultValue = "data",
      description = "The node's data dir (default: ${DEFAULT-VALUE}).")
  Path data;

  @Option(names = "--http", description = "HOST:PORT for the API (default: from node.json).")
  String http;

  @Option(names = "--init-if-missing",
      description = "Create a one-organization development network in --data if it holds no"
          + " node yet.")
  boolean initIfMissing;

  @Mixin Options.Passphrase passphrase;

  /** Keeps the node running until the process is told to stop; then closes it. */
  static int serveUntilStopped(Node node) throws InterruptedException {
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
      } catch (Exception e) {
        System.err.println("careledger: error while stopping: " + e.getClass().getSimpleName());
      }
      stop.countDown();
    }, "shutdown"));
    stop.await();
    return 0;
  }

  @Override
  public Integer call() throws Exception {
    if (!Files.exists(data.resolve(NodeConfig.FILE))) {
      if (!initIfMissing) {
        throw new IllegalStateException("no node in " + data
            + "; run 'careledger init --data " + data + "' or add --init-if-missing");
      }
      NetworkInit.Result r = NetworkInit.init(data, new NetworkInit.Options("careledger-dev",
          "org1", "Example Hospital", "admin", "node1", "127.0.0.1:9090",
          http != null ? http : "127.0.0.1:8080"), passphrase.orNull(),
          System.currentTimeMillis());
      System.out.println("created a development network in " + data + "; admin key: "
          + data.resolve("keys/admin.key") + " (" + r.adminKeyId() + ")");
    }
    if (!Files.exists(data.resolve("genesis.json"))) {
      throw new IllegalStateException(data + " has no genesis.json yet; install the network's"
          + " genesis with 'careledger init join --data " + data + " --genesis FILE'");
    }
    NodeConfig config = NodeConfig.load(data, http);
    Node node = Node.start(config, passphrase.orNull());
    System.out.println("node " + config.nodeId() + " ready at " + node.baseUrl());
    System.out.println("try: bin/careledger status --node " + node.baseUrl() + " --key "
        + data.resolve("keys/admin.key"));
    return serveUntilStopped(node);
  }
}
