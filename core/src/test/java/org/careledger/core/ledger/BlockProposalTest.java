package org.careledger.core.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.careledger.core.crypto.Ed25519;
import org.junit.jupiter.api.Test;

class BlockProposalTest {
  private static final BlockHeader HEADER = new BlockHeader("c", 7, new byte[32], 9,
      new byte[32], new byte[32], 1000, "p", 2);

  @Test
  void cosignaturesRoundTripAndVerify() {
    Ed25519.KeyPair k = Ed25519.KeyPair.generate();
    Cosignature c = Cosignature.sign(HEADER, k);
    BlockProposal p = new BlockProposal(5, "p", List.of("{}".getBytes(StandardCharsets.UTF_8)),
        List.of(c));
    byte[] bytes = p.encode();
    assertThat(bytes[0]).isEqualTo((byte) 2);
    BlockProposal back = BlockProposal.decode(bytes);
    assertThat(back.cosignatures()).hasSize(1);
    Cosignature got = back.cosignatures().get(0);
    assertThat(got.header()).isEqualTo(HEADER);
    assertThat(got.verifies(k.publicKey())).isTrue();
    assertThat(got.verifies(Ed25519.KeyPair.generate().publicKey())).isFalse();
    assertThat(back.txs().get(0)).isEqualTo("{}".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void withoutCosignaturesTheEncodingStaysVersionOne() {
    byte[] bytes = new BlockProposal(5, "p", List.of()).encode();
    assertThat(bytes[0]).isEqualTo((byte) 1);
    assertThat(BlockProposal.decode(bytes).cosignatures()).isEmpty();
  }

  @Test
  void aDamagedCosignatureIsRefused() {
    Ed25519.KeyPair k = Ed25519.KeyPair.generate();
    byte[] bytes = new BlockProposal(5, "p", List.of(), List.of(Cosignature.sign(HEADER, k)))
        .encode();
    // the header length field says more bytes than there are
    byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length - 10);
    assertThatThrownBy(() -> BlockProposal.decode(truncated))
        .isInstanceOf(IllegalArgumentException.class);
    // a header that is not canonical JSON (a space inserted) is refused
    String s = new String(bytes, StandardCharsets.ISO_8859_1).replace("{\"chain\"", "{ \"chain\"");
    byte[] spaced = s.getBytes(StandardCharsets.ISO_8859_1);
    int lenAt = s.indexOf("{ \"chain\"") - 4;
    int len = java.nio.ByteBuffer.wrap(spaced, lenAt, 4).getInt();
    java.nio.ByteBuffer.wrap(spaced, lenAt, 4).putInt(len + 1);
    assertThatThrownBy(() -> BlockProposal.decode(spaced))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
