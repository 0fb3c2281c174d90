package org.careledger.core.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.merkle.MemoryNodeStore;
import org.careledger.core.merkle.MerkleAppender;
import org.careledger.core.merkle.MerkleTree;
import org.careledger.core.tx.Refusal;
import org.careledger.core.tx.TxCodec;
import org.junit.jupiter.api.Test;

class LedgerReplayTest {
  static final long T0 = 1_700_000_000_000L;

  /** A chain in memory: state map, log nodes, headers. */
  static final class Chain {
    final Map<String, byte[]> state = new HashMap<>();
    final MemoryNodeStore nodes = new MemoryNodeStore();
    final MerkleAppender appender = MerkleAppender.empty();
    final List<BlockHeader> headers = new ArrayList<>();
    final Ledger ledger;

    Chain(byte[] genesis) {
      Ledger.Genesis g = Ledger.genesis(genesis, appender);
      apply(g.block());
      ledger = new Ledger(g.ledger().chain(), Ledger.SignatureCheck.DIRECT,
          Ledger.orgIds(g.command()));
    }

    void apply(Ledger.BlockResult r) {
      state.putAll(r.writes());
      r.nodes().forEach(nodes::put);
      if (r.header() != null) {
        headers.add(r.header());
      }
    }

    Ledger.BlockResult block(List<byte[]> txs, long time) {
      BlockHeader prev = headers.get(headers.size() - 1);
      Ledger.BlockResult r = ledger.executeBlock(state::get, new BlockProposal(time, "p", txs),
          headers.size(), prev.hash(), prev.time(), appender);
      apply(r);
      return r;
    }
  }

  static byte[] genesis(Ed25519.KeyPair admin, Ed25519.KeyPair node) {
    Command.Genesis g = new Command.Genesis(List.of(new Command.OrgSpec("org1", "Org", "admin",
        admin.publicKey(), "node1", node.publicKey(), "127.0.0.1:1")));
    return TxCodec.sign(TxCodec.payload("test", admin.keyId(), "genesis-nonce", T0, T0 + 1000,
        "genesis", CommandCodec.encode(g)), admin);
  }

  static byte[] tx(Ed25519.KeyPair k, Command c, String nonce, long time) {
    return TxCodec.sign(TxCodec.payload("test", k.keyId(), nonce, time - 1000, time + 60_000,
        CommandCodec.contractOf(c), CommandCodec.encode(c)), k);
  }

  /** A random but reproducible workload of registrations, anchors, rotations and revocations. */
  static List<List<byte[]>> workload(long seed, Ed25519.KeyPair admin, int blocks) {
    Random rnd = new Random(seed);
    List<Ed25519.KeyPair> keys = new ArrayList<>(List.of(admin));
    List<String> ids = new ArrayList<>(List.of("admin"));
    List<List<byte[]>> out = new ArrayList<>();
    int n = 0;
    for (int b = 0; b < blocks; b++) {
      List<byte[]> txs = new ArrayList<>();
      long time = T0 + 10_000L * (b + 1);
      for (int i = rnd.nextInt(6); i >= 0; i--, n++) {
        int who = rnd.nextInt(keys.size());
        int kind = rnd.nextInt(5);
        // registrations come from the admin, and the admin is never revoked, so the workload
        // keeps making progress; other mistakes (wrong roles, revoked signers) stay in
        Ed25519.KeyPair k = kind <= 1 ? admin : keys.get(who);
        Command c = switch (kind) {
          case 0, 1 -> {
            Ed25519.KeyPair nk = Ed25519.KeyPair.generate();
            keys.add(nk);
            ids.add("id-" + n);
            yield new Command.Register("id-" + n, Role.values()[1 + rnd.nextInt(9)],
                nk.publicKey(), null);
          }
          case 2 -> new Command.Anchor(Sha256.hash(new byte[] {(byte) n, (byte) (n >> 8)}),
              "doc");
          case 3 -> {
            if (who == 0) {
              yield new Command.Anchor(Sha256.hash(new byte[] {(byte) n, 2}), "doc");
            }
            Ed25519.KeyPair nk = Ed25519.KeyPair.generate();
            keys.set(who, nk);
            yield new Command.Rotate(ids.get(who), nk.publicKey());
          }
          default -> ids.size() < 2
              ? new Command.Anchor(Sha256.hash(new byte[] {(byte) n, 1}), "doc")
              : new Command.Revoke(ids.get(1 + rnd.nextInt(ids.size() - 1)), "test");
        };
        // some transactions are deliberately replayed or malformed
        byte[] t = tx(k, c, String.format("nonce-%06d", n), time);
        txs.add(rnd.nextInt(20) == 0 ? "junk".getBytes() : t);
        if (rnd.nextInt(15) == 0) {
          txs.add(t);
        }
      }
      out.add(txs);
    }
    return out;
  }

  @Property(tries = 15)
  void replayingTheSameLogGivesTheSameStateAndHeaders(
      @ForAll @IntRange(min = 1, max = 1000) int seed) {
    Ed25519.KeyPair admin = Ed25519.KeyPair.generate();
    byte[] genesis = genesis(admin, Ed25519.KeyPair.generate());
    List<List<byte[]>> blocks = workload(seed, admin, 12);
    Chain a = new Chain(genesis);
    Chain b = new Chain(genesis);
    for (int i = 0; i < blocks.size(); i++) {
      a.block(blocks.get(i), T0 + 10_000L * (i + 1));
      b.block(blocks.get(i), T0 + 10_000L * (i + 1));
    }
    assertThat(a.headers.size()).as("blocks with accepted transactions").isGreaterThan(4);
    assertThat(b.headers).containsExactlyElementsOf(a.headers);
    assertThat(b.state.keySet()).isEqualTo(a.state.keySet());
    a.state.forEach((k, v) -> assertThat(b.state.get(k)).as(k).isEqualTo(v));
    long size = a.appender.size();
    assertThat(new MerkleTree(a.nodes).root(size)).isEqualTo(a.headers.getLast().logRoot());
  }

  @Test
  void refusalsChangeNothingAndNameTheirReason() {
    Ed25519.KeyPair admin = Ed25519.KeyPair.generate();
    Chain c = new Chain(genesis(admin, Ed25519.KeyPair.generate()));
    Ed25519.KeyPair stranger = Ed25519.KeyPair.generate();
    long t = T0 + 10_000;
    byte[] ok = tx(admin, new Command.Anchor(new byte[32], "a"), "nonce-ok", t);
    Ledger.BlockResult r = c.block(List.of(
        ok,
        ok,
        tx(stranger, new Command.Anchor(new byte[32], "a"), "nonce-01", t),
        tx(admin, new Command.Anchor(new byte[32], "again"), "nonce-02", t),
        tx(admin, new Command.Anchor(new byte[32], "late"), "nonce-03", t + 120_000),
        tx(admin, new Command.Rotate("nobody", stranger.publicKey()), "nonce-04", t)), t);
    List<Refusal.Reason> reasons = r.results().stream()
        .map(x -> x instanceof TxResult.Refused f ? f.refusal().reason() : null).toList();
    assertThat(reasons).containsExactly(null, Refusal.Reason.DUPLICATE,
        Refusal.Reason.UNKNOWN_SIGNER, Refusal.Reason.CONFLICT, Refusal.Reason.OUTSIDE_WINDOW,
        Refusal.Reason.NOT_FOUND);
    assertThat(r.accepted()).hasSize(1);
    assertThat(r.header().txCount()).isEqualTo(1);
    // a block of refusals only writes nothing and makes no header
    Ledger.BlockResult none = c.block(List.of(ok), t + 1);
    assertThat(none.header()).isNull();
    assertThat(none.writes()).isEmpty();
  }
}
