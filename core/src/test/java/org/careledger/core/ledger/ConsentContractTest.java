package org.careledger.core.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.tx.Refusal;
import org.junit.jupiter.api.Test;

/** The patients, consent and access contracts: who may sign what, and what they change. */
class ConsentContractTest extends RecordsContractTest {
  static final long NOW = T0 + 10_000;
  static final String CODE = "ABCD-EFGH-IJKL-MNOP-QRST-UVWX";
  static final String PSEUDO = "0123456789abcdef0123456789abcdef";
  static final String GRANT = "11111111111111111111111111111111";
  final Ed25519.KeyPair patient = Ed25519.KeyPair.generate();
  final Ed25519.KeyPair doctor = Ed25519.KeyPair.generate();

  LedgerReplayTest.Chain enrolled() {
    LedgerReplayTest.Chain c = chain();
    assertThat(outcome(c.block(List.of(tx(admin2, new Command.Register("dr-b",
        Role.PRACTITIONER, doctor.publicKey(), null))), NOW))).isNull();
    assertThat(outcome(c.block(List.of(tx(node1, offer(CODE, null))), NOW))).isNull();
    assertThat(outcome(c.block(List.of(tx(patient, new Command.Enroll(CODE, "pat-1",
        patient.publicKey()))), NOW))).isNull();
    return c;
  }

  /** Prefix reads over the test chain's state, in key order. */
  static Patients.PrefixScan scan(LedgerReplayTest.Chain c) {
    return (prefix, visitor) -> {
      for (var e : new java.util.TreeMap<>(c.state).entrySet()) {
        if (e.getKey().startsWith(prefix) && !visitor.test(e.getKey(), e.getValue())) {
          return;
        }
      }
    };
  }

  static Command.OfferEnrollment offer(String code, String recover) {
    return new Command.OfferEnrollment(Patients.codeHash(code), PSEUDO, NOW + 60_000, "admin1",
        recover);
  }

  static Command.Grant grant(String id) {
    return new Command.Grant(id, "identity:dr-b", List.of("Observation"), List.of(),
        List.of("TREAT"), NOW, NOW + 3_600_000, List.of("PSY"));
  }

  @Test
  void aPatientEnrollsWithTheirOwnKeyAndTheCodeWorksOnce() {
    LedgerReplayTest.Chain c = enrolled();
    Membership.Identity id = Membership.identity(c.state::get, "pat-1");
    assertThat(id.role()).isEqualTo(Role.PATIENT);
    assertThat(id.keyId()).isEqualTo(patient.keyId());
    assertThat(Patients.owner(c.state::get, "org1", PSEUDO)).isEqualTo("pat-1");
    assertThat(Patients.pseudonymAt(c.state::get, "pat-1", "org1")).isEqualTo(PSEUDO);
    Ed25519.KeyPair thief = Ed25519.KeyPair.generate();
    assertThat(outcome(c.block(List.of(tx(thief, new Command.Enroll(CODE, "pat-2",
        thief.publicKey()))), NOW))).isEqualTo(Refusal.Reason.CONFLICT);
    // a code nobody offered
    assertThat(outcome(c.block(List.of(tx(thief, new Command.Enroll(
        "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA", "pat-2", thief.publicKey()))), NOW)))
        .isEqualTo(Refusal.Reason.NOT_FOUND);
    // an unregistered key signing for some other key is an unknown signer
    assertThat(outcome(c.block(List.of(tx(thief, new Command.Enroll(CODE, "pat-3",
        doctor.publicKey()))), NOW))).isEqualTo(Refusal.Reason.UNKNOWN_SIGNER);
  }

  @Test
  void anExpiredCodeIsRefused() {
    LedgerReplayTest.Chain c = chain();
    c.block(List.of(tx(node1, offer(CODE, null))), NOW);
    long later = NOW + 120_000;
    assertThat(outcome(c.block(List.of(LedgerReplayTest.tx(patient, new Command.Enroll(CODE,
        "pat-1", patient.publicKey()), "nonce-late-01", later)), later)))
        .isEqualTo(Refusal.Reason.CONFLICT);
  }

  @Test
  void onlyNodesOfferAndOnlyThePatientGrantsOrRevokes() {
    LedgerReplayTest.Chain c = enrolled();
    assertThat(outcome(c.block(List.of(tx(admin1, offer("BBBB-BBBB-BBBB-BBBB-BBBB-BBBB",
        null))), NOW))).isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    for (Ed25519.KeyPair forger : List.of(node1, admin1, doctor)) {
      assertThat(outcome(c.block(List.of(tx(forger, grant(GRANT))), NOW)))
          .as("grant signed by %s", forger.keyId()).isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    }
    assertThat(outcome(c.block(List.of(tx(patient, grant(GRANT))), NOW))).isNull();
    assertThat(outcome(c.block(List.of(tx(patient, grant(GRANT))), NOW)))
        .isEqualTo(Refusal.Reason.CONFLICT);
    var g = Membership.readJson(c.state::get, Consents.grantKey("pat-1", GRANT));
    assertThat(g.get("status").asText()).isEqualTo("active");
    assertThat(g.get("exclude").get(0).asText()).isEqualTo("PSY");
    assertThat(outcome(c.block(List.of(tx(node1, new Command.RevokeGrant(GRANT))), NOW)))
        .isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    assertThat(outcome(c.block(List.of(tx(patient, new Command.RevokeGrant(GRANT))), NOW)))
        .isNull();
    assertThat(Membership.readJson(c.state::get, Consents.grantKey("pat-1", GRANT))
        .get("status").asText()).isEqualTo("revoked");
    assertThat(outcome(c.block(List.of(tx(patient, new Command.RevokeGrant(GRANT))), NOW)))
        .isEqualTo(Refusal.Reason.CONFLICT);
  }

  @Test
  void aGrantMustNameAnExistingGrantee() {
    LedgerReplayTest.Chain c = enrolled();
    Command.Grant toNobody = new Command.Grant(GRANT, "identity:nobody", List.of("*"),
        List.of(), List.of("TREAT"), NOW, NOW + 1000, List.of());
    assertThat(outcome(c.block(List.of(tx(patient, toNobody)), NOW)))
        .isEqualTo(Refusal.Reason.NOT_FOUND);
  }

  @Test
  void aLostKeyIsReplacedThroughARecoveryOfferAndTheOldKeyIsRevoked() {
    LedgerReplayTest.Chain c = enrolled();
    Ed25519.KeyPair fresh = Ed25519.KeyPair.generate();
    String code = "CCCC-CCCC-CCCC-CCCC-CCCC-CCCC";
    // a plain offer for an enrolled patient is refused: it would create a second identity
    assertThat(outcome(c.block(List.of(tx(node1, offer(code, null))), NOW)))
        .isEqualTo(Refusal.Reason.CONFLICT);
    assertThat(outcome(c.block(List.of(tx(node1, offer(code, "pat-1"))), NOW))).isNull();
    assertThat(outcome(c.block(List.of(tx(fresh, new Command.Enroll(code, "pat-1",
        fresh.publicKey()))), NOW))).isNull();
    assertThat(Membership.identity(c.state::get, "pat-1").keyId()).isEqualTo(fresh.keyId());
    assertThat(Membership.key(c.state::get, patient.keyId()).status()).isEqualTo("revoked");
    assertThat(outcome(c.block(List.of(tx(patient, grant(GRANT))), NOW)))
        .isEqualTo(Refusal.Reason.REVOKED_SIGNER);
    // the patient sees it in their own events
    List<String> events = new java.util.ArrayList<>();
    c.state.keySet().stream().filter(k -> k.startsWith(Patients.eventPrefix("pat-1")))
        .sorted().forEach(k -> events.add(Membership.readJson(c.state::get, k).get("event")
            .asText()));
    assertThat(events).containsExactlyInAnyOrder("enrolled", "key-recovered");
  }

  @Test
  void accessEventsAreRecordedByTheCustodiansNodeOnly() {
    LedgerReplayTest.Chain c = enrolled();
    Command.LogAccess log = new Command.LogAccess("dr-b", "org2", "read", "TREAT", "",
        List.of(new Command.AccessEvent(PSEUDO, "org1", List.of(REC), List.of("Observation"),
            "deny", "none", false)));
    assertThat(outcome(c.block(List.of(tx(node2, log)), NOW)))
        .isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    assertThat(outcome(c.block(List.of(tx(admin1, log)), NOW)))
        .isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    assertThat(outcome(c.block(List.of(tx(node1, log)), NOW))).isNull();
    assertThat(c.state.keySet().stream().filter(k -> k.startsWith(AccessLog.prefix(PSEUDO))))
        .hasSize(1);
  }

  @Test
  void anErasureRequestNeedsALinkAndIsThePatientsOwn() {
    LedgerReplayTest.Chain c = enrolled();
    assertThat(outcome(c.block(List.of(tx(patient, new Command.RequestErasure("org2",
        "GDPR Art. 17"))), NOW))).isEqualTo(Refusal.Reason.NOT_FOUND);
    assertThat(outcome(c.block(List.of(tx(patient, new Command.RequestErasure("org1",
        "GDPR Art. 17"))), NOW))).isNull();
    assertThat(outcome(c.block(List.of(tx(doctor, new Command.RequestErasure("org1",
        "GDPR Art. 17"))), NOW))).isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
  }

  @Test
  void aPatientContributesTheirOwnRecordAndNoNodeCanRewriteIt() {
    LedgerReplayTest.Chain c = enrolled();
    byte[] commitment = org.careledger.core.crypto.Sha256.hash(new byte[] {1, 2, 3});
    Command.Contribute mine = new Command.Contribute("org1", REC, "Observation", commitment);
    for (Ed25519.KeyPair forger : List.of(node1, admin1, doctor)) {
      assertThat(outcome(c.block(List.of(tx(forger, mine)), NOW)))
          .as("contribution signed by %s", forger.keyId())
          .isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    }
    assertThat(outcome(c.block(List.of(tx(patient, new Command.Contribute("org2", REC,
        "Observation", commitment))), NOW))).isEqualTo(Refusal.Reason.NOT_FOUND);
    assertThat(outcome(c.block(List.of(tx(patient, mine)), NOW))).isNull();
    var rec = Records.record(c.state::get, REC);
    assertThat(rec.get("custodian").asText()).isEqualTo("org1");
    assertThat(rec.get("patient").asText()).isEqualTo(PSEUDO);
    assertThat(rec.get("author").asText()).isEqualTo("pat-1");
    assertThat(rec.get("version").asLong()).isEqualTo(1);
    assertThat(Records.version(c.state::get, REC, 1).get("submitter").asText())
        .isEqualTo("pat-1");
    assertThat(Records.commitment(c.state::get, REC, 1)).isEqualTo(commitment);
    assertThat(outcome(c.block(List.of(tx(patient, mine)), NOW)))
        .isEqualTo(Refusal.Reason.CONFLICT);
    // the custodian's node cannot put its own version over the patient's
    assertThat(outcome(c.block(List.of(tx(node1, commit(REC, 2, false))), NOW)))
        .isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    assertThat(outcome(c.block(List.of(tx(node1, commit(REC, 2, true))), NOW)))
        .isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    // but it can erase it, as any record it holds
    assertThat(outcome(c.block(List.of(tx(node1, new Command.EraseRecords("pat-1",
        "GDPR Art. 17", List.of(REC)))), NOW))).isNull();
    assertThat(Patients.readAll(scan(c), Patients.eventPrefix("pat-1")).stream()
        .map(e -> e.get("event").asText())).contains("contributed");
  }

  @Test
  void aPractitionerAsksForAccessAndOnlyThePatientDeclines() {
    LedgerReplayTest.Chain c = enrolled();
    String req = "22222222222222222222222222222222";
    Command.RequestAccess ask = new Command.RequestAccess(req, "org1", PSEUDO,
        List.of("TREAT"), List.of("*"), NOW + 3_600_000, "follow-up after referral");
    for (Ed25519.KeyPair other : List.of(node1, admin1, patient)) {
      assertThat(outcome(c.block(List.of(tx(other, ask)), NOW)))
          .as("request signed by %s", other.keyId()).isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    }
    assertThat(outcome(c.block(List.of(tx(doctor, new Command.RequestAccess(req, "org1",
        "ffffffffffffffffffffffffffffffff", List.of("TREAT"), List.of("*"), NOW + 1000,
        "x"))), NOW))).isEqualTo(Refusal.Reason.NOT_FOUND);
    assertThat(outcome(c.block(List.of(tx(doctor, new Command.RequestAccess(req, "org1", PSEUDO,
        List.of("TREAT"), List.of("*"), NOW - 1, "x"))), NOW)))
        .isEqualTo(Refusal.Reason.MALFORMED);
    assertThat(outcome(c.block(List.of(tx(doctor, ask)), NOW))).isNull();
    var r = Membership.readJson(c.state::get, Consents.requestKey("pat-1", req));
    assertThat(r.get("status").asText()).isEqualTo("open");
    assertThat(r.get("requester").asText()).isEqualTo("dr-b");
    assertThat(r.get("requesterOrg").asText()).isEqualTo("org2");
    assertThat(r.get("reason").asText()).isEqualTo("follow-up after referral");
    assertThat(outcome(c.block(List.of(tx(doctor, ask)), NOW)))
        .isEqualTo(Refusal.Reason.CONFLICT);
    // a request grants nothing, and only the patient answers it
    assertThat(Consents.grants(scan(c), "pat-1")).isEmpty();
    assertThat(outcome(c.block(List.of(tx(doctor, new Command.DeclineRequest(req))), NOW)))
        .isEqualTo(Refusal.Reason.ROLE_NOT_ALLOWED);
    assertThat(outcome(c.block(List.of(tx(patient, new Command.DeclineRequest(req))), NOW)))
        .isNull();
    assertThat(Membership.readJson(c.state::get, Consents.requestKey("pat-1", req))
        .get("status").asText()).isEqualTo("declined");
    assertThat(outcome(c.block(List.of(tx(patient, new Command.DeclineRequest(req))), NOW)))
        .isEqualTo(Refusal.Reason.CONFLICT);
    assertThat(Patients.readAll(scan(c), Patients.eventPrefix("pat-1")).stream()
        .map(e -> e.get("event").asText())).contains("access-requested");
  }
}
