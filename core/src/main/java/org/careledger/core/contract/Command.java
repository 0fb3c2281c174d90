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

  /**
   * Commands of the {@code patients} contract: a custodian's node offers an enrollment for one
   * of its patients (a code given to the patient out of band, on the ledger only as a hash);
   * the patient redeems it with their own key; the patient asks for erasure.
   */
  sealed interface Patients extends Command {}

  /**
   * An enrollment offer for the patient with pseudonym {@code patient} at the signer's
   * organization, made by {@code offeredBy}; when {@code recoverOrNull} names a patient
   * identity, redeeming it replaces that identity's (lost) key.
   */
  record OfferEnrollment(byte[] codeHash, String patient, long expires, String offeredBy,
      String recoverOrNull) implements Patients {}

  /**
   * Redeems an enrollment code. Signed by {@code publicKey}: a new identity {@code id}, a key
   * replacing a lost one (recovery offers), or an existing patient linking another
   * organization's records (then {@code publicKey} is that patient's registered key).
   */
  record Enroll(String code, String id, byte[] publicKey) implements Patients {}

  /** A patient asks an organization to erase all their records there. */
  record RequestErasure(String org, String legalBasis) implements Patients {}

  /**
   * A record the patient wrote themselves (a measurement from their phone), held by
   * {@code org}'s vault: its pseudonymous id, resource type and the commitment
   * SHA-256(salt || resource bytes). Signed by the patient, so no node can author it; the
   * patient pseudonym is the signer's link at {@code org}.
   */
  record Contribute(String org, String record, String resourceType, byte[] commitment)
      implements Patients {}

  /**
   * Commands of the {@code consent} contract. Grants, revocations and declines are signed by
   * the patient's own key only; a practitioner may only ask. Each grant and request is its own
   * state entry, so concurrent ones never conflict.
   */
  sealed interface Consent extends Command {}

  /**
   * A grant: {@code grantee} is {@code identity:<id>}, {@code org:<org>} or
   * {@code role:<role>@<org>}; the scope is resource types ({@code *} for all) and/or record
   * pseudonyms; purposes are FHIR v3 PurposeOfUse codes; [start, end] in ms; records carrying
   * any of the {@code exclude} codes (security label, category or code) are not covered.
   */
  record Grant(String id, String grantee, List<String> types, List<String> records,
      List<String> purposes, long start, long end, List<String> exclude) implements Consent {}

  /** Revokes one of the signer's grants. */
  record RevokeGrant(String id) implements Consent {}

  /**
   * A practitioner (of any member organization) asks the patient known by pseudonym
   * {@code patient} at custodian {@code org} for access: purposes, resource types ({@code *}
   * for all), until {@code end}, and why. It grants nothing; the patient is shown it and may
   * grant or decline.
   */
  record RequestAccess(String id, String org, String patient, List<String> purposes,
      List<String> types, long end, String reason) implements Consent {}

  /** The patient declines one of the requests made to them. */
  record DeclineRequest(String id) implements Consent {}

  /**
   * Commands of the {@code access} contract, issued by the node that decided: who asked for
   * what, for which purpose, and what was decided on which basis. Refusals are recorded too.
   */
  sealed interface Access extends Command {}

  /** One decision about one patient's records (patient may be empty when none is known). */
  record AccessEvent(String patient, String custodian, List<String> records,
      List<String> types, String decision, String basis, boolean breakGlass) {}

  /** The events of one request by {@code accessor} (an identity id, or "anonymous"). */
  record LogAccess(String accessor, String accessorOrg, String action, String purpose,
      String reason, List<AccessEvent> events) implements Access {}

  /**
   * Commands of the {@code network} contract: which organizations make up the network. A change
   * is proposed by an admin of a member organization and takes effect when admins of a majority
   * of the member organizations have approved it (the proposer's organization counts as one).
   */
  sealed interface Network extends Command {}

  /** Proposes that organization {@code org}, with its first admin and its node, joins. */
  record ProposeAddOrg(String id, OrgSpec org, String reason) implements Network {}

  /** Proposes that organization {@code org} leaves: its identities and its node are cut off. */
  record ProposeRemoveOrg(String id, String org, String reason) implements Network {}

  /**
   * Proposes that node identity {@code oldNode} (a member organization's node) is replaced by
   * a new node of the same organization: {@code nodeId} with {@code nodeKey}, reached at
   * {@code nodeAddress}. The old identity and its key are revoked; the new node joins the Raft
   * group under its new id (Raft never takes back a member id whose log was lost).
   */
  record ProposeReplaceNode(String id, String oldNode, String nodeId, byte[] nodeKey,
      String nodeAddress, String reason) implements Network {}

  /** An admin approves open proposal {@code id} on behalf of the admin's organization. */
  record ApproveProposal(String id) implements Network {}

  /** The first transaction of every chain. */
  record Genesis(List<OrgSpec> organizations) implements Command {}

  /**
   * An organization named in the genesis, with its first admin and its node; an organization
   * without a node of its own (node fields null) uses other members' nodes.
   */
  record OrgSpec(String id, String name, String adminId, byte[] adminKey, String nodeId,
      byte[] nodeKey, String nodeAddress) {}
}
