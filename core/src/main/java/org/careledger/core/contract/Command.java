package org.careledger.core.contract;

import java.util.List;

/**
 * Every command a transaction can carry, by contract. Switches over these are exhaustive and have
 * no default branch, so adding a command breaks the build wherever it must be handled.
 */
public sealed interface Command {

  /** Commands of the {@code membership} contract. */
  sealed interface Membership extends Command {}

  /** An org admin registers a new identity in the admin's organization. */
  record Register(String id, Role role, byte[] publicKey, String displayName)
      implements Membership {}

  /** An identity's key is replaced, by its org admin or by the identity itself. */
  record Rotate(String id, byte[] publicKey) implements Membership {}

  /** An identity is revoked, by its org admin or by the identity itself. */
  record Revoke(String id, String reason) implements Membership {}

  /** Commands of the {@code notary} contract. */
  sealed interface Notary extends Command {}

  /** Anchors the digest of an off-ledger document under a label. */
  record Anchor(byte[] digest, String label) implements Notary {}

  /**
   * Commands of the {@code records} contract. They are issued by the custodian organization's
   * node, which attests what was stored in its vault and which authenticated identity submitted
   * it; no PHI and no FHIR id appears in them.
   */
  sealed interface Records extends Command {}

  /** One stored version of a record: its pseudonymous id, commitment and patient pseudonym. */
  record RecordVersion(String record, long version, String resourceType, byte[] commitment,
      String patient, boolean deleted) {}

  /** Anchors new record versions, all or none, submitted by the identity {@code submitter}. */
  record CommitRecords(String submitter, List<RecordVersion> versions) implements Records {}

  /** Records that the vault data of these records was destroyed, on whose request and why. */
  record EraseRecords(String requestedBy, String legalBasis, List<String> records)
      implements Records {}

  /** The first transaction of every chain. */
  record Genesis(List<OrgSpec> organizations) implements Command {}

  /** An organization named in the genesis, with its first admin and its node. */
  record OrgSpec(String id, String name, String adminId, byte[] adminKey, String nodeId,
      byte[] nodeKey, String nodeAddress) {}
}
