package org.careledger.cli;

/** The ledger-core suite against a three-node network. */
class LedgerCoreThreeNodeTest extends LedgerCoreSuite {
  @Override
  Backend backend() {
    return Backend.threeNodes();
  }
}
