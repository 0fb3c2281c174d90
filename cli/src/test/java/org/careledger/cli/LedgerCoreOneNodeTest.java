package org.careledger.cli;

/** The ledger-core suite against a one-node network. */
class LedgerCoreOneNodeTest extends LedgerCoreSuite {
  @Override
  Backend backend() {
    return Backend.oneNode();
  }
}
