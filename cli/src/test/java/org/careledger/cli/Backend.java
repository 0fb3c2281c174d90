package org.careledger.cli;

import java.nio.file.Path;
import java.util.List;

/** A network the ledger-core suites run against: started once per suite, then stopped. */
interface Backend {
  /** Starts the network's nodes under {@code dir}; returns the node the suite talks to. */
  NodeProcess start(Path dir) throws Exception;

  /** Stops every node. */
  void stop() throws Exception;

  /** A one-node network. */
  static Backend oneNode() {
    return new Backend() {
      private NodeProcess node;

      @Override
      public NodeProcess start(Path dir) throws Exception {
        node = NodeProcess.init(dir.resolve("node")).start();
        return node;
      }

      @Override
      public void stop() throws Exception {
        node.close();
      }
    };
  }

  /**
   * A network of three organizations' node processes on 127.0.0.1-3, reached through the
   * first node: the leader, or a follower that forwards to it, as the election goes.
   */
  static Backend threeNodes() {
    return new Backend() {
      private NetworkFaultTest.Network network;

      @Override
      public NodeProcess start(Path dir) throws Exception {
        List<NodeProcess> nodes = NodeProcess.network(dir, 3);
        network = new NetworkFaultTest.Network(nodes);
        network.startAll();
        return nodes.get(0);
      }

      @Override
      public void stop() throws Exception {
        network.close();
      }
    };
  }
}
