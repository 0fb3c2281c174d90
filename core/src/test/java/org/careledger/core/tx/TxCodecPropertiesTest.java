package org.careledger.core.tx;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.StringLength;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.json.CanonicalJson;

class TxCodecPropertiesTest {
  private static final Ed25519.KeyPair KEY = Ed25519.KeyPair.generate();

  @Provide
  Arbitrary<String> nonces() {
    return Arbitraries.strings().withChars("ABCxyz019_-").ofMinLength(8).ofMaxLength(40);
  }

  @Provide
  Arbitrary<String> labels() {
    return Arbitraries.strings().all().ofMaxLength(30).filter(s -> s.codePoints()
        .noneMatch(c -> Character.isSurrogate((char) c) && c < 0x10000));
  }

  @Property(tries = 300)
  void signedTransactionsDecodeToWhatWasEncoded(@ForAll("nonces") String nonce,
      @ForAll @LongRange(min = 0, max = 4_000_000_000_000L) long notBefore,
      @ForAll @LongRange(min = 0, max = 86_400_000L) long window,
      @ForAll("labels") String label) {
    ObjectNode command = CanonicalJson.object();
    command.put("type", "anchor");
    command.put("label", label);
    ObjectNode payload = TxCodec.payload("chain-x", KEY.keyId(), nonce, notBefore,
        notBefore + window, "notary", command);
    byte[] bytes = TxCodec.sign(payload, KEY);
    Transaction tx = ((TxCodec.Decoded.Ok) TxCodec.decode(bytes)).tx();
    assertThat(tx.nonce()).isEqualTo(nonce);
    assertThat(tx.notBefore()).isEqualTo(notBefore);
    assertThat(tx.notAfter()).isEqualTo(notBefore + window);
    assertThat(tx.command().get("label").textValue()).isEqualTo(label);
    assertThat(tx.id()).isEqualTo(Sha256.hash(bytes));
    assertThat(tx.signedBytes()).isEqualTo(CanonicalJson.canonicalize(payload));
    assertThat(Ed25519.verify(KEY.publicKey(), tx.signedBytes(), tx.signature())).isTrue();
    // encoding the decoded transaction again gives the same bytes
    assertThat(TxCodec.sign(TxCodec.payload(tx.chain(), tx.signer(), tx.nonce(), tx.notBefore(),
        tx.notAfter(), tx.contract(), (ObjectNode) tx.command()), KEY)).isEqualTo(bytes);
  }

  @Property(tries = 300)
  void anyChangedByteIsRefusedOrChangesTheId(@ForAll("nonces") String nonce,
      @ForAll @StringLength(max = 20) String label, @ForAll int position, @ForAll byte delta) {
    ObjectNode command = CanonicalJson.object();
    command.put("type", "anchor");
    command.put("label", label);
    byte[] bytes = TxCodec.sign(TxCodec.payload("chain-x", KEY.keyId(), nonce, 1000, 2000,
        "notary", command), KEY);
    byte[] changed = bytes.clone();
    int at = Math.floorMod(position, changed.length);
    changed[at] = (byte) (changed[at] + (delta == 0 ? 1 : delta));
    switch (TxCodec.decode(changed)) {
      case TxCodec.Decoded.Refused r -> assertThat(r.refusal().reason()).isNotNull();
      case TxCodec.Decoded.Ok ok -> {
        // still well-formed: then it is another transaction whose signature no longer holds
        assertThat(ok.tx().id()).isNotEqualTo(Sha256.hash(bytes));
        assertThat(Ed25519.verify(KEY.publicKey(), ok.tx().signedBytes(), ok.tx().signature()))
            .isFalse();
      }
    }
  }

  @net.jqwik.api.Example
  void aSignatureHasExactlyOneEncoding() {
    ObjectNode command = CanonicalJson.object();
    command.put("type", "anchor");
    byte[] bytes = TxCodec.sign(TxCodec.payload("chain-x", KEY.keyId(), "nonce-0001", 1000, 2000,
        "notary", command), KEY);
    String s = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
    int last = s.length() - 3;
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // the last of 86 characters carries 2 bits of the signature and 4 unused bits
    char c = s.charAt(last);
    char sibling = alphabet.charAt(alphabet.indexOf(c) ^ 1);
    byte[] other = (s.substring(0, last) + sibling + s.substring(last + 1))
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    assertThat(TxCodec.decode(other)).isInstanceOf(TxCodec.Decoded.Refused.class);
  }
}
