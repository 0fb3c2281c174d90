package org.careledger.cli;

import java.nio.file.Path;
import java.util.List;

/**
 * The ledger-core suite against a network of three organizations' node processes on
 * 127.0.0.1-3, through the first node: the leader, or a follower that forwards to it, as the
 * election goes.
 */
class LedgerCoreThreeNodeTest extends LedgerCoreSuite {
  private NetworkFaultTest.Network network;

  @Override
  NodeProcess start(Path dir) throws Exception {
    List<NodeProcess> nodes = NodeProcess.network(dir, 3);
    network = new NetworkFaultTest.Network(nodes);
    network.startAll();
    return nodes.get(0);
  }

  @Override
  void stop() throws Exception {
    network.close();
  }
}
