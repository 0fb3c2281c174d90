package org.careledger.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

class Ed25519WycheproofTest {
  private static JsonNode vectors() throws Exception {
    try (InputStream in = Ed25519WycheproofTest.class.getResourceAsStream(
        "/testdata/wycheproof/testvectors_v1/ed25519_test.json")) {
      return new ObjectMapper().readTree(in);
    }
  }

  @TestFactory
  Stream<DynamicTest> everyWycheproofVectorGetsItsExpectedResult() throws Exception {
    JsonNode all = vectors();
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode group : all.get("testGroups")) {
      byte[] pk = Codec.unhex(group.get("publicKey").get("pk").textValue());
      for (JsonNode t : group.get("tests")) {
        String name = "tcId " + t.get("tcId").asInt() + " " + t.get("comment").asText();
        tests.add(DynamicTest.dynamicTest(name, () -> {
          boolean ok = Ed25519.verify(pk, Codec.unhex(t.get("msg").textValue()),
              Codec.unhex(t.get("sig").textValue()));
          String result = t.get("result").textValue();
          if (!result.equals("acceptable")) {
            assertThat(ok).isEqualTo(result.equals("valid"));
          }
          // the prepared-key path must give the same verdict as the one-shot path
          assertThat(Ed25519.verifier(pk).verify(Codec.unhex(t.get("msg").textValue()),
              Codec.unhex(t.get("sig").textValue()))).isEqualTo(ok);
        }));
      }
    }
    assertThat(tests).hasSize(all.get("numberOfTests").asInt());
    return tests.stream();
  }

  @Test
  void signedMessagesVerifyOnlyUnchanged() {
    Ed25519.KeyPair k = Ed25519.KeyPair.generate();
    byte[] msg = "careledger".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] sig = k.sign(msg);
    assertThat(Ed25519.verify(k.publicKey(), msg, sig)).isTrue();
    msg[0] ^= 1;
    assertThat(Ed25519.verify(k.publicKey(), msg, sig)).isFalse();
    assertThat(Ed25519.KeyPair.fromSecret(k.exportSecret()).keyId()).isEqualTo(k.keyId());
    assertThat(k.toString()).doesNotContain(Codec.hex(k.exportSecret()));
  }
}
