package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.ledger.Block;
import org.careledger.core.ledger.BlockHeader;
import org.careledger.core.ledger.BlockProposal;
import org.careledger.core.ledger.Cosignature;
import org.careledger.node.LedgerService;
import org.careledger.node.NetworkInit;
import org.careledger.node.store.LedgerStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The first node of a three-organization network, on its real RocksDB ledger, given proposals
 * as the Raft log would deliver them: the other nodes' signatures of a block it applied are
 * added to that block; a signature by a key that is not a member's node key, one that does not
 * verify, or a member's signature over a header this node did not apply is never added; and
 * when a majority of node keys sign a different header at a height this node applied, this
 * node stops applying. A proposal that names a proposer which is not a node key makes no block.
 */
class CosignatureTest {
  @TempDir Path tmp;
  LedgerStore store;
  LedgerService ledger;
  final List<Ed25519.KeyPair> nodeKeys = new ArrayList<>();
  Ed25519.KeyPair admin;
  long raftIndex;

  @BeforeEach
  void openFirstNode() throws Exception {
    List<NetworkInit.OrgPlan> plans = new ArrayList<>();
    for (int k = 1; k <= 3; k++) {
      String host = "127.0.0." + k;
      plans.add(new NetworkInit.OrgPlan("org" + k, "Organization " + k, "admin" + k,
          "node" + k, host + ":" + NodeProcess.freePort(host), host + ":0"));
    }
    NetworkInit.network(tmp, "careledger-test", plans, null, System.currentTimeMillis());
    for (int k = 1; k <= 3; k++) {
      nodeKeys.add(KeyFile.read(tmp.resolve("org" + k + "/keys/node.key"), null));
    }
    admin = KeyFile.read(tmp.resolve("org1/keys/admin.key"), null);
    store = LedgerStore.open(tmp.resolve("org1/ledger"));
    ledger = LedgerService.open("node1", store,
        Files.readAllBytes(tmp.resolve("org1/genesis.json")), nodeKeys.get(0));
    // block 1: one transaction, proposed by node2
    apply(new BlockProposal(System.currentTimeMillis(), nodeKeys.get(1).keyId(),
        List.of(TxFixture.signedBy(admin).bytes())));
    assertThat(ledger.latest().header().height()).isEqualTo(1);
  }

  @AfterEach
  void close() throws Exception {
    store.close();
  }

  void apply(BlockProposal p) throws Exception {
    ledger.apply(p, ++raftIndex);
  }

  void cosign(Cosignature... cs) throws Exception {
    apply(new BlockProposal(System.currentTimeMillis(), nodeKeys.get(1).keyId(), List.of(),
        List.of(cs)));
  }

  List<String> signersOfBlock1() {
    return store.block(1).signatures().stream().map(Block.Signature::keyId).toList();
  }

  BlockHeader block1() {
    return store.block(1).header();
  }

  /** Block 1's header with another time: what a node that diverged would have signed. */
  BlockHeader forgedBlock1() {
    BlockHeader h = block1();
    return new BlockHeader(h.chain(), h.height(), h.prev(), h.logSize(), h.logRoot(),
        h.stateWrites(), h.time() + 1, h.proposer(), h.txCount());
  }

  long quorumHeight() {
    Block b = ledger.quorumHead();
    return b == null ? -1 : b.header().height();
  }

  @Test
  void membersSignaturesAreAddedOnce() throws Exception {
    assertThat(signersOfBlock1()).containsExactly(nodeKeys.get(0).keyId());
    Cosignature byNode2 = Cosignature.sign(block1(), nodeKeys.get(1));
    cosign(byNode2, byNode2, Cosignature.sign(block1(), nodeKeys.get(2)));
    assertThat(signersOfBlock1()).containsExactly(nodeKeys.get(0).keyId(),
        nodeKeys.get(1).keyId(), nodeKeys.get(2).keyId());
    assertThat(quorumHeight()).isEqualTo(1);
  }

  @Test
  void aNonMembersSignatureIsIgnored() throws Exception {
    Ed25519.KeyPair outsider = Ed25519.KeyPair.generate();
    cosign(Cosignature.sign(block1(), outsider));
    assertThat(signersOfBlock1()).containsExactly(nodeKeys.get(0).keyId());
    assertThat(quorumHeight()).as("no majority-signed head").isLessThan(1);
  }

  @Test
  void aSignatureThatDoesNotVerifyIsIgnored() throws Exception {
    Cosignature good = Cosignature.sign(block1(), nodeKeys.get(1));
    byte[] sig = good.sig().clone();
    sig[10] ^= 1;
    cosign(new Cosignature(good.header(), good.keyId(), sig));
    assertThat(signersOfBlock1()).containsExactly(nodeKeys.get(0).keyId());
  }

  @Test
  void aMembersSignatureOverAnotherHeaderIsNotAddedAndOneIsNoMajority() throws Exception {
    cosign(Cosignature.sign(forgedBlock1(), nodeKeys.get(1)));
    assertThat(signersOfBlock1()).containsExactly(nodeKeys.get(0).keyId());
    assertThat(block1().time()).isNotEqualTo(forgedBlock1().time());
    // this node goes on applying
    apply(new BlockProposal(System.currentTimeMillis(), nodeKeys.get(1).keyId(),
        List.of(TxFixture.signedBy(admin).bytes())));
    assertThat(ledger.latest().header().height()).isEqualTo(2);
  }

  @Test
  void aProposalUnderAKeyThatIsNotANodeKeyMakesNoBlock() throws Exception {
    Ed25519.KeyPair outsider = Ed25519.KeyPair.generate();
    apply(new BlockProposal(System.currentTimeMillis(), outsider.keyId(),
        List.of(TxFixture.signedBy(admin).bytes()),
        List.of(Cosignature.sign(block1(), nodeKeys.get(1)))));
    assertThat(ledger.latest().header().height()).isEqualTo(1);
    assertThat(signersOfBlock1()).containsExactly(nodeKeys.get(0).keyId());
    assertThat(ledger.appliedIndex()).isEqualTo(raftIndex);
    // the same transaction under a node's key is applied
    apply(new BlockProposal(System.currentTimeMillis(), nodeKeys.get(2).keyId(),
        List.of(TxFixture.signedBy(admin).bytes())));
    assertThat(ledger.latest().header().height()).isEqualTo(2);
  }

  @Test
  void aMajorityOverAnotherHeaderStopsThisNode() throws Exception {
    BlockHeader other = forgedBlock1();
    assertThatThrownBy(() -> cosign(Cosignature.sign(other, nodeKeys.get(1)),
        Cosignature.sign(other, nodeKeys.get(2))))
        .isInstanceOf(LedgerService.DivergedException.class)
        .hasMessageContaining("DIVERGED at height 1");
  }

  @Test
  void thisNodesOwnSignatureComingBackThroughTheLogCountsOnce() throws Exception {
    Cosignature mine = Cosignature.sign(block1(), nodeKeys.get(0));
    cosign(mine, mine);
    assertThat(signersOfBlock1()).containsExactly(nodeKeys.get(0).keyId());
    assertThat(quorumHeight()).as("one signature of three is no majority").isLessThan(1);
  }

  @Test
  void aSignatureUnderThisNodesKeyIdThatItDidNotMakeIsIgnored() throws Exception {
    // another key's signature, labelled with this node's key id
    Cosignature byNode2 = Cosignature.sign(block1(), nodeKeys.get(1));
    cosign(new Cosignature(block1(), nodeKeys.get(0).keyId(), byNode2.sig()));
    // this node's key id over a header it did not apply
    Cosignature forged = Cosignature.sign(forgedBlock1(), nodeKeys.get(1));
    cosign(new Cosignature(forgedBlock1(), nodeKeys.get(0).keyId(), forged.sig()));
    assertThat(signersOfBlock1()).containsExactly(nodeKeys.get(0).keyId());
    assertThat(quorumHeight()).isLessThan(1);
    // a genuine second signature still makes the majority
    cosign(byNode2);
    assertThat(quorumHeight()).isEqualTo(1);
  }
}
