package org.careledger.cli;

import java.nio.file.Path;

/** The ledger-core suite against a one-node network. */
class LedgerCoreOneNodeTest extends LedgerCoreSuite {
  @Override
  NodeProcess start(Path dir) throws Exception {
    return NodeProcess.init(dir.resolve("node")).start();
  }

  @Override
  void stop() throws Exception {
    node.close();
  }
}
