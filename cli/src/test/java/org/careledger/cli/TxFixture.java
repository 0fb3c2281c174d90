package org.careledger.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.careledger.client.Transactions;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.tx.TxCodec;

/** Builds signed transactions with sensible defaults; each setter overrides one field. */
final class TxFixture {
  private String chain = "careledger-test";
  private Ed25519.KeyPair key;
  private String signer;
  private String nonce = Transactions.nonce();
  private long notBefore = System.currentTimeMillis() - 60_000;
  private long notAfter = System.currentTimeMillis() + 600_000;
  private String contract = CommandCodec.NOTARY;
  private ObjectNode command = CommandCodec.encode(
      new Command.Anchor(Sha256.hash(Transactions.nonce().getBytes()), "fixture"));

  static TxFixture signedBy(Ed25519.KeyPair key) {
    TxFixture f = new TxFixture();
    f.key = key;
    return f;
  }

  TxFixture chain(String v) {
    chain = v;
    return this;
  }

  TxFixture signerId(String v) {
    signer = v;
    return this;
  }

  TxFixture window(long from, long to) {
    notBefore = from;
    notAfter = to;
    return this;
  }

  TxFixture contract(String v) {
    contract = v;
    return this;
  }

  TxFixture command(Command c) {
    contract = CommandCodec.contractOf(c);
    command = CommandCodec.encode(c);
    return this;
  }

  TxFixture command(ObjectNode c) {
    command = c;
    return this;
  }

  byte[] bytes() {
    ObjectNode p = TxCodec.payload(chain, signer != null ? signer : key.keyId(), nonce,
        notBefore, notAfter, contract, command);
    return TxCodec.sign(p, key);
  }
}
