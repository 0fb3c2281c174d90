package org.careledger.cli;

import java.nio.file.Path;
import java.util.List;

/**
 * The CLI part of the ledger-core suite against a network of three organizations' node
 * processes, through the first node.
 */
class CliThreeNodeTest extends CliTest {
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
