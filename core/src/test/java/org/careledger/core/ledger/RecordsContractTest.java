package org.careledger.core.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.tx.Refusal;
import org.careledger.core.tx.TxCodec;
import org.junit.jupiter.api.Test;

class RecordsContractTest {
  static final long T0 = LedgerReplayTest.T0;
  final Ed25519.KeyPair admin1 = Ed25519.KeyPair.generate();
  final Ed25519.KeyPair node1 = Ed25519.KeyPair.generate();
  final Ed25519.KeyPair admin2 = Ed25519.KeyPair.generate();
  final Ed25519.KeyPair node2 = Ed25519.KeyPair.generate();
  int nonce;

  LedgerReplayTest.Chain chain() {
    Command.Genesis g = new Command.Genesis(List.of(
        new Command.OrgSpec("org1", "One", "admin1", admin1.publicKey(), "node1",
            node1.publicKey(), "127.0.0.1:1"),
        new Command.OrgSpec("org2", "Two", "admin2", admin2.publicKey(), "node2",
            node2.publicKey(), "127.0.0.1:2")));
    return new LedgerReplayTest.Chain(TxCodec.sign(TxCodec.payload("test", admin1.keyId(),
        "genesis-nonce", T0, T0 + 1000, "genesis", CommandCodec.encode(g)), admin1));
  }

  byte[] tx(Ed25519.KeyPair k, Command c) {
    return LedgerReplayTest.tx(k, c, String.format("nonce-%06d", nonce++), T0 + 10_000);
  }

  static Command.CommitRecords commit(String record, long version, boolean deleted) {
    return new Command.CommitRecords("svc-ehr", List.of(new Command.RecordVersion(record,
        version, "Observation", Sha256.hash(new byte[] {(byte) version}),
        "0123456789abcdef0123456789abcdef", deleted)));
  }

  static Refusal.Reason outcome(Ledger.BlockResult r) {
    return r.results().get(0) instanceof TxResult.Refused f ? f.refusal().reason() : null;
  }

  static final String REC = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

  @Test
  void theCustodianNodeAnchorsVersionsInOrder() {
    LedgerReplayTest.Chain c = chain();
    assertThat(outcome(c.block(List.of(tx(node1, commit(REC, 1, false))), T0 + 10_000)))
        .isNull();
    assertThat(outcome(c.block(List.of(tx(node1, commit(REC, 3, false))), T0 + 10_000)))
        .isEqualTo(Refusal.Reason.CONFLICT);
    assertThat(outcome(c.block(List.of(tx(node1, commit(REC, 2, true))), T0 + 10_000)))
        .isNull();
    assertThat(Records.record(c.state::get, REC).get("status").asText()).isEqualTo("deleted");
    assertThat(Records.record(c.state::get, REC).get("custodian").asText()).isEqualTo("org1");
    assertThat(Records.commitment(c.state::get, REC, 1))
        .isEqualTo(Sha256.hash(new byte[] {1}));
    assertThat(Records.version(c.state::get, REC, 2).get("submitter").asText())
        .isEqualTo("svc-ehr");
  }

  @Test
  void onlyTheCustodiansNodeMayAddOrErase() {
    LedgerReplayTest.Chain c = chain();
    c.block(List.of(tx(node1, commit(REC, 1, false))), T0 + 10_000);
    assertThat(outcome(c.block(List.of(tx(node2, commit(REC, 2, false))), T0 + 10_000)))
        .isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    assertThat(outcome(c.block(List.of(tx(admin1, commit(REC, 2, false))), T0 + 10_000)))
        .isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    assertThat(outcome(c.block(List.of(tx(node2, new Command.EraseRecords("admin2", "x",
        List.of(REC)))), T0 + 10_000))).isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    // a node may issue nothing but records commands
    assertThat(outcome(c.block(List.of(tx(node1, new Command.Anchor(new byte[32], "x"))),
        T0 + 10_000))).isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
  }

  @Test
  void anErasedRecordTakesNoNewVersionsAndKeepsItsHistory() {
    LedgerReplayTest.Chain c = chain();
    c.block(List.of(tx(node1, commit(REC, 1, false))), T0 + 10_000);
    assertThat(outcome(c.block(List.of(tx(node1, new Command.EraseRecords("admin1",
        "GDPR Art. 17(1)(b)", List.of(REC)))), T0 + 10_000))).isNull();
    assertThat(Records.record(c.state::get, REC).get("erasure").get("legalBasis").asText())
        .isEqualTo("GDPR Art. 17(1)(b)");
    assertThat(Records.commitment(c.state::get, REC, 1)).isNotNull();
    assertThat(outcome(c.block(List.of(tx(node1, commit(REC, 2, false))), T0 + 10_000)))
        .isEqualTo(Refusal.Reason.CONFLICT);
    assertThat(outcome(c.block(List.of(tx(node1, new Command.EraseRecords("admin1", "again",
        List.of(REC)))), T0 + 10_000))).isEqualTo(Refusal.Reason.CONFLICT);
  }

  @Test
  void aCommitIsAllOrNothing() {
    LedgerReplayTest.Chain c = chain();
    String other = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    Command.CommitRecords both = new Command.CommitRecords("svc", List.of(
        commit(other, 1, false).versions().get(0), commit(REC, 2, false).versions().get(0)));
    Ledger.BlockResult r = c.block(List.of(tx(node1, both)), T0 + 10_000);
    assertThat(outcome(r)).isEqualTo(Refusal.Reason.CONFLICT);
    assertThat(Records.record(c.state::get, other)).isNull();
    assertThat(CommandCodec.encode(both).toString()).doesNotContain("Patient/");
  }
}
