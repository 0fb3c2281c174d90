package org.careledger.cli;

/** The CLI part of the ledger-core suite against a one-node network. */
class CliOneNodeTest extends CliTest {
  @Override
  Backend backend() {
    return Backend.oneNode();
  }
}
