package org.careledger.core.ledger;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.merkle.MerkleAppender;
import org.careledger.core.merkle.MerkleHash;
import org.careledger.core.tx.Refusal;
import org.careledger.core.tx.Transaction;
import org.careledger.core.tx.TxCodec;

/**
 * The deterministic state machine: checks transactions, runs contracts, and turns a
 * {@link BlockProposal} into a block over a {@link StateView}. Given the same state, proposal,
 * height and previous header hash, every node computes the same results, writes and header.
 *
 * <p>Thread-safe: {@link #check} may run on many threads while one thread executes blocks.
 * Expected rejections are returned as {@link Refusal} values; exceptions mean bugs or a damaged
 * state.
 */
public final class Ledger {
  /** The longest validity window a transaction may declare. */
  public static final long MAX_WINDOW_MS = 24L * 60 * 60 * 1000;

  /** Verifies a transaction's signature against the signer's public key. */
  @FunctionalInterface
  public interface SignatureCheck {
    boolean verify(Transaction tx, byte[] publicKey);

    SignatureCheck DIRECT = (tx, pk) -> Ed25519.verify(pk, tx.signedBytes(), tx.signature());
  }

  /** The outcome of {@link #check}: a transaction ready to execute, or a refusal. */
  public sealed interface Checked {
    record Ok(Transaction tx, Membership.Identity signer, Command command) implements Checked {}

    record Refused(Transaction txOrNull, Refusal refusal) implements Checked {}
  }

  /** A block's effects; {@code header} is null when no transaction was accepted. */
  public record BlockResult(BlockHeader header, List<TxResult> results,
      List<Transaction> accepted, SortedMap<String, byte[]> writes,
      List<MerkleAppender.Node> nodes) {}

  private final String chain;
  private final SignatureCheck signatures;
  private final List<String> genesisOrgs;

  /**
   * A ledger of chain {@code chain}, whose genesis named the organizations {@code genesisOrgs}
   * (the network's members until the network contract first changes them).
   */
  public Ledger(String chain, SignatureCheck signatures, List<String> genesisOrgs) {
    this.chain = chain;
    this.signatures = signatures;
    this.genesisOrgs = List.copyOf(genesisOrgs);
  }

  /** The organization ids a genesis names. */
  public static List<String> orgIds(Command.Genesis g) {
    return g.organizations().stream().map(Command.OrgSpec::id).toList();
  }

  public String chain() {
    return chain;
  }

  /** Decodes and checks transaction bytes; see {@link #check(Transaction, StateView, long)}. */
  public Checked check(byte[] bytes, StateView state, long time) {
    return switch (TxCodec.decode(bytes)) {
      case TxCodec.Decoded.Ok ok -> check(ok.tx(), state, time);
      case TxCodec.Decoded.Refused r -> new Checked.Refused(null, r.refusal());
    };
  }

  /**
   * Every check short of running the contract: chain, validity window at {@code time}, signer
   * known and active, signature, nonce unused, contract and command known, role allowed.
   */
  public Checked check(Transaction tx, StateView state, long time) {
    if (!chain.equals(tx.chain())) {
      return refuse(tx, Refusal.Reason.WRONG_CHAIN,
          "transaction is for chain '" + tx.chain() + "'; this is '" + chain + "'");
    }
    if (tx.notAfter() < tx.notBefore() || tx.notAfter() - tx.notBefore() > MAX_WINDOW_MS) {
      return refuse(tx, Refusal.Reason.OUTSIDE_WINDOW,
          "validity window must be non-empty and at most " + MAX_WINDOW_MS + " ms");
    }
    if (time < tx.notBefore() || time > tx.notAfter()) {
      return refuse(tx, Refusal.Reason.OUTSIDE_WINDOW, "time " + time + " is outside ["
          + tx.notBefore() + ", " + tx.notAfter() + "]");
    }
    Membership.KeyRecord key = Membership.key(state, tx.signer());
    if (key == null) {
      Checked enrolling = selfSignedEnrollment(tx, state);
      if (enrolling != null) {
        return enrolling;
      }
      return refuse(tx, Refusal.Reason.UNKNOWN_SIGNER, "no key " + tx.signer() + " is registered");
    }
    if (!signatures.verify(tx, key.publicKey())) {
      return refuse(tx, Refusal.Reason.BAD_SIGNATURE,
          "signature does not verify with key " + tx.signer());
    }
    Membership.Identity signer = Membership.identity(state, key.identity());
    if (!key.active() || signer == null || !signer.active()) {
      return refuse(tx, Refusal.Reason.REVOKED_SIGNER,
          "key " + tx.signer() + " is " + (key.active() ? "of a revoked identity" : key.status()));
    }
    if (Membership.removedOrg(state, signer.org())) {
      return refuse(tx, Refusal.Reason.REVOKED_SIGNER, "key " + tx.signer()
          + " belongs to organization " + signer.org() + ", which left the network");
    }
    if (state.getOrNull(Membership.nonceKey(tx.signer(), tx.nonce())) != null) {
      return refuse(tx, Refusal.Reason.DUPLICATE,
          "nonce " + tx.nonce() + " was already used by key " + tx.signer());
    }
    if (CommandCodec.GENESIS.equals(tx.contract())) {
      return refuse(tx, Refusal.Reason.UNKNOWN_CONTRACT,
          "the genesis contract runs only in block 0");
    }
    Command command;
    try {
      command = CommandCodec.decode(tx.contract(), tx.command());
    } catch (CommandCodec.CommandException e) {
      return new Checked.Refused(tx, e.refusal());
    }
    if (!mayIssue(signer.role(), command)) {
      return refuse(tx, Refusal.Reason.ROLE_NOT_ALLOWED, "role " + signer.role().wireName()
          + " may not issue " + tx.contract() + "." + tx.command().get("type").textValue());
    }
    return new Checked.Ok(tx, signer, command);
  }

  /**
   * A patient's first enrollment is signed by a key not yet registered: the one the command
   * registers. Everything else about it is checked as for any transaction.
   */
  private Checked selfSignedEnrollment(Transaction tx, StateView state) {
    if (!CommandCodec.PATIENTS.equals(tx.contract())
        || !"enroll".equals(tx.command().path("type").asText())) {
      return null;
    }
    Command command;
    try {
      command = CommandCodec.decode(tx.contract(), tx.command());
    } catch (CommandCodec.CommandException e) {
      return new Checked.Refused(tx, e.refusal());
    }
    Command.Enroll e = (Command.Enroll) command;
    if (!Ed25519.keyId(e.publicKey()).equals(tx.signer())) {
      return null;
    }
    if (!signatures.verify(tx, e.publicKey())) {
      return refuse(tx, Refusal.Reason.BAD_SIGNATURE,
          "signature does not verify with the key being enrolled");
    }
    if (state.getOrNull(Membership.nonceKey(tx.signer(), tx.nonce())) != null) {
      return refuse(tx, Refusal.Reason.DUPLICATE,
          "nonce " + tx.nonce() + " was already used by key " + tx.signer());
    }
    return new Checked.Ok(tx, new Membership.Identity(e.id(), "", Role.PATIENT, tx.signer(),
        "enrolling", null, null), command);
  }

  static boolean mayIssue(Role role, Command command) {
    if (role == Role.NODE) {
      // a node attests what its organization's vault holds, offers enrollments for its
      // patients and records its gatekeeper's decisions; it issues nothing else, and never
      // anything a patient must sign
      return command instanceof Command.Records || command instanceof Command.OfferEnrollment
          || command instanceof Command.LogAccess;
    }
    return switch (command) {
      case Command.Register r -> role == Role.ADMIN;
      case Command.Rotate r -> true;
      case Command.Revoke r -> true;
      case Command.Anchor a -> role != Role.PATIENT && role != Role.AUDITOR;
      case Command.Records r -> false;
      case Command.OfferEnrollment o -> false;
      case Command.Enroll e -> role == Role.PATIENT;
      case Command.RequestErasure e -> role == Role.PATIENT;
      case Command.Contribute c -> role == Role.PATIENT;
      case Command.RequestAccess r -> role == Role.PRACTITIONER;
      case Command.Consent c -> role == Role.PATIENT;
      case Command.Access a -> false;
      case Command.Network n -> role == Role.ADMIN;
      case Command.Genesis g -> false;
    };
  }

  /** Runs the contract of a checked transaction; writes go to {@code state} only if accepted. */
  Refusal execute(Checked.Ok ok, StateOverlay state, long time) {
    Membership.Identity signer = ok.signer();
    return switch (ok.command()) {
      case Command.Register r -> {
        if (r.role() == Role.NODE) {
          yield Refusal.of(Refusal.Reason.ROLE_NOT_ALLOWED,
              "node identities are added by network governance, not by register");
        }
        if (Membership.identity(state, r.id()) != null) {
          yield Refusal.of(Refusal.Reason.CONFLICT, "identity " + r.id() + " already exists");
        }
        String kid = Ed25519.keyId(r.publicKey());
        if (Membership.key(state, kid) != null) {
          yield Refusal.of(Refusal.Reason.CONFLICT, "key " + kid + " is already registered");
        }
        Membership.put(state, new Membership.Identity(r.id(), signer.org(), r.role(), kid,
            Membership.ACTIVE, r.displayName(), null));
        Membership.put(state,
            new Membership.KeyRecord(kid, r.id(), r.publicKey(), Membership.ACTIVE));
        yield null;
      }
      case Command.Rotate r -> {
        Membership.Identity target = Membership.identity(state, r.id());
        Refusal denied = authorizeOnIdentity(signer, target, r.id());
        if (denied != null) {
          yield denied;
        }
        String kid = Ed25519.keyId(r.publicKey());
        if (Membership.key(state, kid) != null) {
          yield Refusal.of(Refusal.Reason.CONFLICT, "key " + kid + " is already registered");
        }
        Membership.KeyRecord old = Membership.key(state, target.keyId());
        Membership.put(state, new Membership.KeyRecord(old.keyId(), old.identity(),
            old.publicKey(), Membership.ROTATED));
        Membership.put(state,
            new Membership.KeyRecord(kid, target.id(), r.publicKey(), Membership.ACTIVE));
        Membership.put(state, new Membership.Identity(target.id(), target.org(), target.role(),
            kid, target.status(), target.displayName(), target.address()));
        yield null;
      }
      case Command.Revoke r -> {
        Membership.Identity target = Membership.identity(state, r.id());
        Refusal denied = authorizeOnIdentity(signer, target, r.id());
        if (denied != null) {
          yield denied;
        }
        Membership.KeyRecord old = Membership.key(state, target.keyId());
        Membership.put(state, new Membership.KeyRecord(old.keyId(), old.identity(),
            old.publicKey(), Membership.REVOKED));
        Membership.put(state, new Membership.Identity(target.id(), target.org(), target.role(),
            target.keyId(), Membership.REVOKED, target.displayName(), target.address()));
        yield null;
      }
      case Command.Anchor a -> {
        String key = "anchor/" + Codec.hex(a.digest());
        if (state.getOrNull(key) != null) {
          yield Refusal.of(Refusal.Reason.CONFLICT, "digest is already anchored");
        }
        var o = CanonicalJson.object();
        o.put("digest", Codec.hex(a.digest()));
        o.put("label", a.label());
        o.put("by", signer.id());
        o.put("tx", ok.tx().idHex());
        o.put("time", time);
        state.put(key, CanonicalJson.canonicalize(o));
        yield null;
      }
      case Command.CommitRecords c -> Records.commit(c, signer, ok.tx(), state, time);
      case Command.EraseRecords e -> Records.erase(e, signer, ok.tx(), state, time);
      case Command.OfferEnrollment o -> Patients.offer(o, signer, ok.tx(), state, time);
      case Command.Enroll e -> Patients.enroll(e, signer, ok.tx(), state, time);
      case Command.RequestErasure r -> Patients.requestErasure(r, signer, ok.tx(), state, time);
      case Command.Grant g -> Consents.grant(g, signer, ok.tx(), state, time);
      case Command.RevokeGrant r -> Consents.revoke(r, signer, ok.tx(), state, time);
      case Command.RequestAccess r -> Consents.request(r, signer, ok.tx(), state, time);
      case Command.DeclineRequest d -> Consents.decline(d, signer, ok.tx(), state, time);
      case Command.Contribute c -> Records.contribute(c, signer, ok.tx(), state, time);
      case Command.LogAccess l -> AccessLog.log(l, signer, ok.tx(), state, time);
      case Command.ProposeAddOrg a ->
          Governance.proposeAdd(a, signer, ok.tx(), state, time, genesisOrgs);
      case Command.ProposeRemoveOrg r ->
          Governance.proposeRemove(r, signer, ok.tx(), state, time, genesisOrgs);
      case Command.ProposeReplaceNode r ->
          Governance.proposeReplaceNode(r, signer, ok.tx(), state, time, genesisOrgs);
      case Command.ApproveProposal a -> Governance.approve(a, signer, state, time, genesisOrgs);
      case Command.Genesis g -> Refusal.of(Refusal.Reason.UNKNOWN_CONTRACT,
          "the genesis contract runs only in block 0");
    };
  }

  private static Refusal authorizeOnIdentity(Membership.Identity signer,
      Membership.Identity target, String id) {
    if (target == null) {
      return Refusal.of(Refusal.Reason.NOT_FOUND, "no identity " + id);
    }
    boolean self = target.id().equals(signer.id());
    boolean orgAdmin = signer.role() == Role.ADMIN && signer.org().equals(target.org());
    if (!self && !orgAdmin) {
      return Refusal.of(Refusal.Reason.ROLE_NOT_ALLOWED,
          "only the identity itself or an admin of its organization may change it");
    }
    if (target.role() == Role.NODE) {
      return Refusal.of(Refusal.Reason.ROLE_NOT_ALLOWED,
          "node identities are changed by network governance");
    }
    if (!target.active()) {
      return Refusal.of(Refusal.Reason.CONFLICT, "identity " + id + " is revoked");
    }
    return null;
  }

  /**
   * Executes a proposal as block {@code height} after the header with hash {@code prevHash}.
   * Appends every accepted transaction to {@code appender}; the caller persists the returned
   * writes and nodes together, or discards the appender if it does not.
   */
  public BlockResult executeBlock(StateView state, BlockProposal proposal, long height,
      byte[] prevHash, long prevTime, MerkleAppender appender) {
    return executeBlock(state, proposal, height, prevHash, prevTime, appender, TxCodec::decode);
  }

  /**
   * As {@link #executeBlock(StateView, BlockProposal, long, byte[], long, MerkleAppender)}, with
   * a decoder that may return transactions this node already decoded; it must return exactly
   * what {@link TxCodec#decode} would.
   */
  public BlockResult executeBlock(StateView state, BlockProposal proposal, long height,
      byte[] prevHash, long prevTime, MerkleAppender appender,
      java.util.function.Function<byte[], TxCodec.Decoded> decoder) {
    long time = Math.max(proposal.time(), prevTime);
    StateOverlay block = new StateOverlay(state);
    List<TxResult> results = new ArrayList<>(proposal.txs().size());
    List<Transaction> accepted = new ArrayList<>(proposal.txs().size());
    List<MerkleAppender.Node> nodes = new ArrayList<>(proposal.txs().size() * 2);
    Set<ByteBuffer> seen = new HashSet<>();
    for (byte[] bytes : proposal.txs()) {
      Checked c = switch (decoder.apply(bytes)) {
        case TxCodec.Decoded.Ok ok -> check(ok.tx(), block, time);
        case TxCodec.Decoded.Refused r -> new Checked.Refused(null, r.refusal());
      };
      switch (c) {
        case Checked.Refused r -> results.add(
            new TxResult.Refused(r.txOrNull() == null ? null : r.txOrNull().id(), r.refusal()));
        case Checked.Ok ok -> {
          if (!seen.add(ByteBuffer.wrap(ok.tx().id()))) {
            results.add(new TxResult.Refused(ok.tx().id(),
                Refusal.of(Refusal.Reason.DUPLICATE, "transaction repeated in one block")));
            continue;
          }
          StateOverlay txState = new StateOverlay(block);
          Refusal refusal = execute(ok, txState, time);
          if (refusal != null) {
            results.add(new TxResult.Refused(ok.tx().id(), refusal));
            continue;
          }
          txState.put(Membership.nonceKey(ok.tx().signer(), ok.tx().nonce()),
              ok.tx().idHex().getBytes(StandardCharsets.UTF_8));
          txState.mergeInto(block);
          long leaf = appender.size();
          nodes.addAll(appender.append(MerkleHash.leaf(ok.tx().bytes())));
          accepted.add(ok.tx());
          results.add(new TxResult.Committed(ok.tx().id(), leaf));
        }
      }
    }
    if (accepted.isEmpty()) {
      return new BlockResult(null, results, accepted, block.writes(), nodes);
    }
    BlockHeader header = new BlockHeader(chain, height, prevHash, appender.size(),
        appender.root(), writesDigest(block.writes()), time, proposal.proposer(),
        accepted.size());
    return new BlockResult(header, results, accepted, block.writes(), nodes);
  }

  /** The result of applying a genesis transaction to the empty state. */
  public record Genesis(Ledger ledger, Command.Genesis command, BlockResult block) {}

  /**
   * Validates and applies a genesis transaction to the empty state as block 0. The genesis is
   * signed by the admin key of its first organization and its block time is its notBefore.
   */
  public static Genesis genesis(byte[] bytes, MerkleAppender appender) {
    Transaction tx = switch (TxCodec.decode(bytes)) {
      case TxCodec.Decoded.Ok ok -> ok.tx();
      case TxCodec.Decoded.Refused r -> throw new IllegalArgumentException(
          "genesis is not a valid transaction: " + r.refusal().detail());
    };
    if (!CommandCodec.GENESIS.equals(tx.contract())) {
      throw new IllegalArgumentException("first transaction must use the genesis contract");
    }
    Command.Genesis g;
    try {
      if (!(CommandCodec.decode(tx.contract(), tx.command()) instanceof Command.Genesis gg)) {
        throw new IllegalArgumentException("genesis command expected");
      }
      g = gg;
    } catch (CommandCodec.CommandException e) {
      throw new IllegalArgumentException("genesis command is invalid: " + e.getMessage());
    }
    Command.OrgSpec first = g.organizations().get(0);
    if (!Ed25519.keyId(first.adminKey()).equals(tx.signer())
        || !Ed25519.verify(first.adminKey(), tx.signedBytes(), tx.signature())) {
      throw new IllegalArgumentException(
          "genesis must be signed by the admin key of its first organization");
    }
    StateOverlay s = new StateOverlay(k -> null);
    for (Command.OrgSpec o : g.organizations()) {
      if (Membership.organization(s, o.id()) != null) {
        throw new IllegalArgumentException("organization " + o.id() + " is listed twice");
      }
      Membership.put(s, new Membership.Organization(o.id(), o.name()));
      putIdentity(s, o.adminId(), o.id(), Role.ADMIN, o.adminKey(), null);
      if (o.nodeId() != null) {
        putIdentity(s, o.nodeId(), o.id(), Role.NODE, o.nodeKey(), o.nodeAddress());
      }
    }
    s.put(Membership.nonceKey(tx.signer(), tx.nonce()),
        tx.idHex().getBytes(StandardCharsets.UTF_8));
    s.put("chain", tx.chain().getBytes(StandardCharsets.UTF_8));
    List<MerkleAppender.Node> nodes = new ArrayList<>(appender.append(MerkleHash.leaf(bytes)));
    BlockHeader header = new BlockHeader(tx.chain(), 0, new byte[32], appender.size(),
        appender.root(), writesDigest(s.writes()), tx.notBefore(),
        Ed25519.keyId(first.nodeKey()), 1);
    BlockResult br = new BlockResult(header, List.of(new TxResult.Committed(tx.id(), 0)),
        List.of(tx), s.writes(), nodes);
    return new Genesis(new Ledger(tx.chain(), SignatureCheck.DIRECT, orgIds(g)), g, br);
  }

  private static void putIdentity(StateOverlay s, String id, String org, Role role, byte[] key,
      String address) {
    if (Membership.identity(s, id) != null) {
      throw new IllegalArgumentException("identity " + id + " is listed twice");
    }
    String kid = Ed25519.keyId(key);
    if (Membership.key(s, kid) != null) {
      throw new IllegalArgumentException("a key is listed twice in the genesis");
    }
    Membership.put(s, new Membership.Identity(id, org, role, kid, Membership.ACTIVE, null,
        address));
    Membership.put(s, new Membership.KeyRecord(kid, id, key, Membership.ACTIVE));
  }

  /**
   * SHA-256 over the block's net state writes in key order, each encoded as u32 key length, key
   * UTF-8, u32 value length, value (big-endian lengths).
   */
  public static byte[] writesDigest(SortedMap<String, byte[]> writes) {
    MessageDigest md = Sha256.newDigest();
    ByteBuffer len = ByteBuffer.allocate(4);
    for (Map.Entry<String, byte[]> e : writes.entrySet()) {
      byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8);
      md.update(len.clear().putInt(k.length).array());
      md.update(k);
      md.update(len.clear().putInt(e.getValue().length).array());
      md.update(e.getValue());
    }
    return md.digest();
  }

  private static Checked refuse(Transaction tx, Refusal.Reason reason, String detail) {
    return new Checked.Refused(tx, Refusal.of(reason, detail));
  }
}
