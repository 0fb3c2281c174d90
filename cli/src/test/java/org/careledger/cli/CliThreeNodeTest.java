package org.careledger.cli;

/** The CLI part of the ledger-core suite against a three-node network. */
class CliThreeNodeTest extends CliTest {
  @Override
  Backend backend() {
    return Backend.threeNodes();
  }
}
