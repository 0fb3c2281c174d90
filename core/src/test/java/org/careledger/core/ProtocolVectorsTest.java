package org.careledger.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.ledger.BlockHeader;
import org.careledger.core.ledger.BlockProposal;
import org.careledger.core.ledger.Ledger;
import org.careledger.core.merkle.MerkleHash;
import org.careledger.core.tx.Transaction;
import org.careledger.core.tx.TxCodec;
import org.junit.jupiter.api.Test;

/**
 * The test vectors of docs/protocol.md. The key is RFC 8032 section 7.1 TEST 1; every hash and
 * both signatures were also checked with an independent implementation (Python hashlib and
 * cryptography). If this test fails, the wire format changed: update docs/protocol.md too.
 */
class ProtocolVectorsTest {
  static final Ed25519.KeyPair KEY = Ed25519.KeyPair.fromSecret(Codec.unhex(
      "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  static final String PAYLOAD = "{\"chain\":\"careledger-example\",\"command\":{\"digest\":\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\",\"label\":\"example\",\"type\":\"anchor\"},\"contract\":\"notary\",\"nonce\":\"example-nonce-0001\",\"notAfter\":1767225660000,\"notBefore\":1767225600000,\"signer\":\"21fe31dfa154a261626bf854046fd227\",\"v\":1}";
  static final String TX = "{\"payload\":{\"chain\":\"careledger-example\",\"command\":{\"digest\":\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\",\"label\":\"example\",\"type\":\"anchor\"},\"contract\":\"notary\",\"nonce\":\"example-nonce-0001\",\"notAfter\":1767225660000,\"notBefore\":1767225600000,\"signer\":\"21fe31dfa154a261626bf854046fd227\",\"v\":1},\"sig\":\"ThTA2dkGyv9kPnd0rS4LTpSswnrkkstH5fay8L9oC0ncfbs0rQJjh9kzhKq17SDndJDnZnL7sbhin5EKHQNkDg\"}";
  static final String HEADER = "{\"chain\":\"careledger-example\",\"height\":1,\"logRoot\":\"18c152a2c8ca02affdfd26f039f7518f19c13a26951eb00794381b6c82a4f76c\",\"logSize\":2,\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"proposer\":\"21fe31dfa154a261626bf854046fd227\",\"stateWrites\":\"831fb2a35d23a93c7cf82e065d561c509e35a96e8c321bee41e0ce62b5973e92\",\"time\":1767225601000,\"txCount\":1}";

  @Test
  void keyIdIsTheFirst16BytesOfSha256OfThePublicKey() {
    assertThat(Codec.hex(KEY.publicKey()))
        .isEqualTo("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    assertThat(KEY.keyId()).isEqualTo("21fe31dfa154a261626bf854046fd227");
  }

  @Test
  void transactionEncodingSignatureIdAndLeaf() {
    var cmd = CommandCodec.encode(new Command.Anchor(
        Sha256.hash("hello".getBytes(StandardCharsets.UTF_8)), "example"));
    var payload = TxCodec.payload("careledger-example", KEY.keyId(), "example-nonce-0001",
        1767225600000L, 1767225660000L, "notary", cmd);
    assertThat(new String(CanonicalJson.canonicalize(payload), StandardCharsets.UTF_8))
        .isEqualTo(PAYLOAD);
    byte[] tx = TxCodec.sign(payload, KEY);
    assertThat(new String(tx, StandardCharsets.UTF_8)).isEqualTo(TX);
    Transaction decoded = ((TxCodec.Decoded.Ok) TxCodec.decode(tx)).tx();
    assertThat(new String(decoded.signedBytes(), StandardCharsets.UTF_8)).isEqualTo(PAYLOAD);
    assertThat(Codec.b64(decoded.signature())).isEqualTo("ThTA2dkGyv9kPnd0rS4LTpSswnrkkstH5fay8L9oC0ncfbs0rQJjh9kzhKq17SDndJDnZnL7sbhin5EKHQNkDg");
    assertThat(decoded.idHex())
        .isEqualTo("c349d4cf090f091a24123e7b03325681225e5c55fb5e533e937254228ca9415e");
    assertThat(Codec.hex(MerkleHash.leaf(tx)))
        .isEqualTo("863711756ef7af9dfd33d42a9abecff6e8d4dcb02549609d8ec6e677190ba456");
    assertThat(Ed25519.verify(KEY.publicKey(), PAYLOAD.getBytes(StandardCharsets.UTF_8),
        decoded.signature())).isTrue();
  }

  @Test
  void blockHeaderBytesHashAndSignature() {
    byte[] tx = TX.getBytes(StandardCharsets.UTF_8);
    byte[] root = MerkleHash.node(MerkleHash.leaf(new byte[0]), MerkleHash.leaf(tx));
    assertThat(Codec.hex(root))
        .isEqualTo("18c152a2c8ca02affdfd26f039f7518f19c13a26951eb00794381b6c82a4f76c");
    byte[] writes = Ledger.writesDigest(
        new TreeMap<>(Map.of("anchor/x", "{}".getBytes(StandardCharsets.UTF_8))));
    assertThat(Codec.hex(writes))
        .isEqualTo("831fb2a35d23a93c7cf82e065d561c509e35a96e8c321bee41e0ce62b5973e92");
    BlockHeader h = new BlockHeader("careledger-example", 1, new byte[32], 2, root, writes,
        1767225601000L, KEY.keyId(), 1);
    assertThat(new String(h.canonicalBytes(), StandardCharsets.UTF_8)).isEqualTo(HEADER);
    assertThat(Codec.hex(h.hash()))
        .isEqualTo("a2c342419c4f736cf293bec800e8844ebe1119535dd9d69dfd3035fc07fa0b26");
    assertThat(Codec.b64(KEY.sign(h.canonicalBytes())))
        .isEqualTo("xLX--r-nCFUiGKrhpmTncfBDSjRDimUwXJ58LWm4avhenLYrN2Ao79eqDma0dRCfaoTkCv4-ieYvolA_1B04DQ");
  }

  @Test
  void emptyTreeRootAndProposalEncoding() {
    assertThat(Codec.hex(MerkleHash.emptyRoot()))
        .isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    byte[] p = new BlockProposal(1767225601000L, KEY.keyId(),
        List.of("{}".getBytes(StandardCharsets.UTF_8))).encode();
    assertThat(Codec.hex(p)).isEqualTo("010000019b76daabe80020323166653331646661313534613236313632366266383534303436666432323700000001000000027b7d");
    assertThat(BlockProposal.decode(p).txs().get(0)).isEqualTo("{}".getBytes(StandardCharsets.UTF_8));
  }
}
