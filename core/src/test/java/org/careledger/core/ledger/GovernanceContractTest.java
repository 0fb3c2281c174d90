package org.careledger.core.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.tx.Refusal;
import org.junit.jupiter.api.Test;

/** The network contract: organizations join and leave by a majority of member admins. */
class GovernanceContractTest extends RecordsContractTest {
  static final long NOW = T0 + 10_000;
  final Ed25519.KeyPair admin3 = Ed25519.KeyPair.generate();
  final Ed25519.KeyPair node3 = Ed25519.KeyPair.generate();

  Command.OrgSpec org3() {
    return new Command.OrgSpec("org3", "Three", "admin3", admin3.publicKey(), "node3",
        node3.publicKey(), "127.0.0.3:3");
  }

  static List<String> members(LedgerReplayTest.Chain c) {
    return Governance.members(c.state::get, List.of("org1", "org2"));
  }

  static String status(LedgerReplayTest.Chain c, String id) {
    return Membership.readJson(c.state::get, Governance.proposalKey(id)).get("status").asText();
  }

  /** org1 proposes org3, org2 approves: org3 is a member with its admin and its node. */
  LedgerReplayTest.Chain withOrg3() {
    LedgerReplayTest.Chain c = chain();
    assertThat(outcome(c.block(List.of(tx(admin1, new Command.ProposeAddOrg("p1", org3(),
        "a new lab"))), NOW))).isNull();
    assertThat(status(c, "p1")).isEqualTo("open");
    assertThat(Membership.organization(c.state::get, "org3")).isNull();
    assertThat(outcome(c.block(List.of(tx(admin2, new Command.ApproveProposal("p1"))), NOW)))
        .isNull();
    return c;
  }

  @Test
  void anOrganizationJoinsWhenAMajorityOfMembersApproved() {
    LedgerReplayTest.Chain c = withOrg3();
    assertThat(status(c, "p1")).isEqualTo("approved");
    assertThat(members(c)).containsExactly("org1", "org2", "org3");
    Membership.Identity node = Membership.identity(c.state::get, "node3");
    assertThat(node.role()).isEqualTo(Role.NODE);
    assertThat(node.org()).isEqualTo("org3");
    assertThat(node.address()).isEqualTo("127.0.0.3:3");
    assertThat(Membership.key(c.state::get, node3.keyId()).active()).isTrue();
    // the new admin acts for the new organization at once
    assertThat(outcome(c.block(List.of(tx(admin3, new Command.Register("dr-c",
        Role.PRACTITIONER, Ed25519.KeyPair.generate().publicKey(), null))), NOW))).isNull();
    assertThat(Membership.identity(c.state::get, "dr-c").org()).isEqualTo("org3");
    // a decided proposal takes no more votes
    assertThat(outcome(c.block(List.of(tx(admin3, new Command.ApproveProposal("p1"))), NOW)))
        .isEqualTo(Refusal.Reason.CONFLICT);
  }

  @Test
  void oneVotePerOrganizationAndOnlyAdminsOfMembersVote() {
    LedgerReplayTest.Chain c = chain();
    c.block(List.of(tx(admin1, new Command.ProposeAddOrg("p1", org3(), "lab"))), NOW);
    assertThat(outcome(c.block(List.of(tx(admin1, new Command.ApproveProposal("p1"))), NOW)))
        .isEqualTo(Refusal.Reason.DUPLICATE);
    Ed25519.KeyPair doctor = Ed25519.KeyPair.generate();
    c.block(List.of(tx(admin2, new Command.Register("dr-b", Role.PRACTITIONER,
        doctor.publicKey(), null))), NOW);
    assertThat(outcome(c.block(List.of(tx(doctor, new Command.ApproveProposal("p1"))), NOW)))
        .isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    assertThat(outcome(c.block(List.of(tx(node2, new Command.ApproveProposal("p1"))), NOW)))
        .isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    assertThat(outcome(c.block(List.of(tx(admin2, new Command.ApproveProposal("nope"))), NOW)))
        .isEqualTo(Refusal.Reason.NOT_FOUND);
    assertThat(status(c, "p1")).isEqualTo("open");
    assertThat(Membership.organization(c.state::get, "org3")).isNull();
    // the same id twice, and keys or ids that already exist, are refused
    assertThat(outcome(c.block(List.of(tx(admin2, new Command.ProposeAddOrg("p1", org3(),
        "again"))), NOW))).isEqualTo(Refusal.Reason.CONFLICT);
    assertThat(outcome(c.block(List.of(tx(admin2, new Command.ProposeAddOrg("p2",
        new Command.OrgSpec("org3", "Three", "admin3", admin3.publicKey(), "node3",
            node1.publicKey(), "127.0.0.3:3"), "reuses node1's key"))), NOW)))
        .isEqualTo(Refusal.Reason.CONFLICT);
    assertThat(outcome(c.block(List.of(tx(admin2, new Command.ProposeAddOrg("p3",
        new Command.OrgSpec("org2", "Two again", "admin9", admin3.publicKey(), null, null,
            null), "an existing org"))), NOW))).isEqualTo(Refusal.Reason.CONFLICT);
  }

  @Test
  void aRemovedOrganizationsKeysNoLongerSignAndItsNodeIsNoLongerANode() {
    LedgerReplayTest.Chain c = withOrg3();
    assertThat(outcome(c.block(List.of(tx(admin3, new Command.ProposeRemoveOrg("p2", "org2",
        "left the consortium"))), NOW))).isNull();
    // 1 of 3 is not a majority
    assertThat(status(c, "p2")).isEqualTo("open");
    assertThat(outcome(c.block(List.of(tx(node2, commit(REC, 1, false))), NOW))).isNull();
    assertThat(outcome(c.block(List.of(tx(admin1, new Command.ApproveProposal("p2"))), NOW)))
        .isNull();
    assertThat(status(c, "p2")).isEqualTo("approved");
    assertThat(members(c)).containsExactly("org1", "org3");
    assertThat(Membership.organization(c.state::get, "org2").member()).isFalse();
    // no key of org2 signs any more: its admin, its node
    assertThat(outcome(c.block(List.of(tx(admin2, new Command.Anchor(new byte[32], "x"))),
        NOW))).isEqualTo(Refusal.Reason.REVOKED_SIGNER);
    assertThat(outcome(c.block(List.of(tx(node2, commit(REC, 2, false))), NOW)))
        .isEqualTo(Refusal.Reason.REVOKED_SIGNER);
    // and removing a non-member, or the last member, is refused
    assertThat(outcome(c.block(List.of(tx(admin1, new Command.ProposeRemoveOrg("p3", "org2",
        "twice"))), NOW))).isEqualTo(Refusal.Reason.NOT_FOUND);
  }

  @Test
  void theLastOrganizationCannotLeave() {
    LedgerReplayTest.Chain c = chain();
    c.block(List.of(tx(admin1, new Command.ProposeRemoveOrg("p1", "org2", "leaves"))), NOW);
    c.block(List.of(tx(admin2, new Command.ApproveProposal("p1"))), NOW);
    assertThat(members(c)).containsExactly("org1");
    assertThat(outcome(c.block(List.of(tx(admin1, new Command.ProposeRemoveOrg("p2", "org1",
        "everyone leaves"))), NOW))).isEqualTo(Refusal.Reason.CONFLICT);
    // with one member left, that member's proposal alone is a majority
    assertThat(outcome(c.block(List.of(tx(admin1, new Command.ProposeAddOrg("p3", org3(),
        "lab"))), NOW))).isNull();
    assertThat(status(c, "p3")).isEqualTo("approved");
  }

  @Test
  void aNodeIsReplacedByANewNodeOfItsOrganizationWhenAMajorityApproved() {
    LedgerReplayTest.Chain c = withOrg3();
    Ed25519.KeyPair node3b = Ed25519.KeyPair.generate();
    // org3's admin proposes a new node for org3 after its disk was lost: 1 of 3
    assertThat(outcome(c.block(List.of(tx(admin3, new Command.ProposeReplaceNode("p2",
        "node3", "node3b", node3b.publicKey(), "127.0.0.3:4", "disk lost"))), NOW))).isNull();
    assertThat(status(c, "p2")).isEqualTo("open");
    assertThat(Membership.identity(c.state::get, "node3b")).isNull();
    assertThat(Membership.identity(c.state::get, "node3").active()).isTrue();
    assertThat(outcome(c.block(List.of(tx(admin1, new Command.ApproveProposal("p2"))), NOW)))
        .isNull();
    assertThat(status(c, "p2")).isEqualTo("approved");
    // the old identity and key are revoked, the new node belongs to org3, members unchanged
    Membership.Identity old = Membership.identity(c.state::get, "node3");
    assertThat(old.active()).isFalse();
    assertThat(Membership.key(c.state::get, node3.keyId()).active()).isFalse();
    Membership.Identity fresh = Membership.identity(c.state::get, "node3b");
    assertThat(fresh.role()).isEqualTo(Role.NODE);
    assertThat(fresh.org()).isEqualTo("org3");
    assertThat(fresh.active()).isTrue();
    assertThat(fresh.address()).isEqualTo("127.0.0.3:4");
    assertThat(Membership.key(c.state::get, node3b.keyId()).active()).isTrue();
    assertThat(members(c)).containsExactly("org1", "org2", "org3");
    // the old node's key signs nothing more; the new one does
    assertThat(outcome(c.block(List.of(tx(node3, new Command.LogAccess("x", "org3", "read",
        "TREAT", "", List.of(new Command.AccessEvent("", "org3", List.of(), List.of(),
            "allow", "no-match", false))))), NOW))).isEqualTo(Refusal.Reason.REVOKED_SIGNER);
    assertThat(outcome(c.block(List.of(tx(node3b, new Command.LogAccess("x", "org3", "read",
        "TREAT", "", List.of(new Command.AccessEvent("", "org3", List.of(), List.of(),
            "allow", "no-match", false))))), NOW))).isNull();
    // a replaced node cannot be replaced again, and the old id cannot come back
    assertThat(outcome(c.block(List.of(tx(admin3, new Command.ProposeReplaceNode("p3",
        "node3", "node3c", Ed25519.KeyPair.generate().publicKey(), "127.0.0.3:5", "again"))),
        NOW))).isEqualTo(Refusal.Reason.CONFLICT);
    assertThat(outcome(c.block(List.of(tx(admin3, new Command.ProposeReplaceNode("p4",
        "node3b", "node3", Ed25519.KeyPair.generate().publicKey(), "127.0.0.3:5", "back"))),
        NOW))).isEqualTo(Refusal.Reason.CONFLICT);
  }

  @Test
  void aReplacementNeedsANodeANewIdAndANewKey() {
    LedgerReplayTest.Chain c = withOrg3();
    byte[] k = Ed25519.KeyPair.generate().publicKey();
    assertThat(outcome(c.block(List.of(tx(admin1, new Command.ProposeReplaceNode("p2",
        "nobody", "node9", k, "127.0.0.9:1", "x"))), NOW))).isEqualTo(Refusal.Reason.NOT_FOUND);
    assertThat(outcome(c.block(List.of(tx(admin1, new Command.ProposeReplaceNode("p2",
        "admin2", "node9", k, "127.0.0.9:1", "an admin is not a node"))), NOW)))
        .isEqualTo(Refusal.Reason.NOT_FOUND);
    assertThat(outcome(c.block(List.of(tx(admin1, new Command.ProposeReplaceNode("p2",
        "node2", "node1", k, "127.0.0.9:1", "an id in use"))), NOW)))
        .isEqualTo(Refusal.Reason.CONFLICT);
    assertThat(outcome(c.block(List.of(tx(admin1, new Command.ProposeReplaceNode("p2",
        "node2", "node2", k, "127.0.0.9:1", "the same id"))), NOW)))
        .isEqualTo(Refusal.Reason.CONFLICT);
    assertThat(outcome(c.block(List.of(tx(admin1, new Command.ProposeReplaceNode("p2",
        "node2", "node9", node1.publicKey(), "127.0.0.9:1", "a key in use"))), NOW)))
        .isEqualTo(Refusal.Reason.CONFLICT);
    // a node cannot propose it, and nothing was stored by the refusals
    assertThat(outcome(c.block(List.of(tx(node2, new Command.ProposeReplaceNode("p2",
        "node2", "node9", k, "127.0.0.9:1", "x"))), NOW)))
        .isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    assertThat(Membership.readJson(c.state::get, Governance.proposalKey("p2"))).isNull();
    // two proposals for one node: the second to reach a majority cannot take effect
    assertThat(outcome(c.block(List.of(tx(admin1, new Command.ProposeReplaceNode("p5",
        "node2", "node2b", k, "127.0.0.2:5", "first"))), NOW))).isNull();
    assertThat(outcome(c.block(List.of(tx(admin1, new Command.ProposeReplaceNode("p6",
        "node2", "node2c", Ed25519.KeyPair.generate().publicKey(), "127.0.0.2:6", "second"))),
        NOW))).isNull();
    assertThat(outcome(c.block(List.of(tx(admin2, new Command.ApproveProposal("p5"))), NOW)))
        .isNull();
    assertThat(status(c, "p5")).isEqualTo("approved");
    assertThat(outcome(c.block(List.of(tx(admin2, new Command.ApproveProposal("p6"))), NOW)))
        .isEqualTo(Refusal.Reason.CONFLICT);
    assertThat(status(c, "p6")).isEqualTo("open");
    assertThat(Membership.identity(c.state::get, "node2c")).isNull();
  }

  @Test
  void commandsRoundTripThroughTheirJsonForm() throws Exception {
    for (Command cmd : List.of(new Command.ProposeAddOrg("p1", org3(), "lab"),
        new Command.ProposeRemoveOrg("p2", "org2", "left"), new Command.ApproveProposal("p1"),
        new Command.ProposeReplaceNode("p3", "node3", "node3b", node3.publicKey(),
            "127.0.0.3:4", "disk lost"))) {
      Command back = CommandCodec.decode(CommandCodec.NETWORK, CommandCodec.encode(cmd));
      assertThat(CommandCodec.encode(back)).isEqualTo(CommandCodec.encode(cmd));
      assertThat(CommandCodec.contractOf(back)).isEqualTo("network");
    }
  }
}
