package org.careledger.core.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class CanonicalJsonTest {
  private static String canon(String json) throws Exception {
    return new String(CanonicalJson.canonicalize(
        CanonicalJson.parse(json.getBytes(StandardCharsets.UTF_8))), StandardCharsets.UTF_8);
  }

  @Test
  void sortsMembersByUtf16CodeUnitsAndDropsWhitespace() throws Exception {
    // RFC 8785 section 3.2.3 sorting example (keys only; our value space has no floats)
    String in = "{\"\\u20ac\": 1, \"\\r\": 2, \"\\ufb33\": 3, \"1\": 4, \"\\ud83d\\ude00\": 5,"
        + " \"\\u0080\": 6, \"\\u00f6\": 7}";
    assertThat(canon(in)).isEqualTo(
        "{\"\\r\":2,\"1\":4,\"\u0080\":6,\"\u00f6\":7,\"\u20ac\":1,\"\ud83d\ude00\":5,\"\ufb33\":3}");
  }

  @Test
  void escapesStringsAsJsonStringifyDoes() throws Exception {
    assertThat(canon("[\"\\u0001\\b\\t\\n\\f\\r\\\"\\\\/\\u001f\\u007f\\u2028\"]"))
        .isEqualTo("[\"\\u0001\\b\\t\\n\\f\\r\\\"\\\\/\\u001f\u007f\u2028\"]");
    assertThat(canon("{\"a\" : [ true , false , null , -0 , 9007199254740991 ] }"))
        .isEqualTo("{\"a\":[true,false,null,0,9007199254740991]}");
  }

  @Test
  void refusesFloatsBigIntegersDuplicatesAndTrailingData() {
    for (String bad : new String[] {"1.5", "1e3", "9007199254740992", "{\"a\":1,\"a\":2}",
        "{} {}", "", "[\"\\ud800\"]", "{\"a\":1"}) {
      assertThatThrownBy(() -> CanonicalJson.parse(bad.getBytes(StandardCharsets.UTF_8)))
          .as(bad).isInstanceOf(CanonicalJson.InvalidJsonException.class);
    }
  }

  @Test
  void parseCanonicalRefusesNonCanonicalBytes() {
    assertThatThrownBy(() -> CanonicalJson.parseCanonical("{\"b\":1,\"a\":2}"
        .getBytes(StandardCharsets.UTF_8))).hasMessageContaining("canonical");
    assertThatThrownBy(() -> CanonicalJson.parseCanonical("{\"a\": 2}"
        .getBytes(StandardCharsets.UTF_8))).hasMessageContaining("canonical");
  }

  @Property(tries = 500)
  void canonicalFormRoundTrips(@ForAll("values") JsonNode value) throws Exception {
    byte[] c = CanonicalJson.canonicalize(value);
    JsonNode back = CanonicalJson.parseCanonical(c);
    assertThat(CanonicalJson.canonicalize(back)).isEqualTo(c);
    // any serialization of the same value (here Jackson's, in insertion order) canonicalizes to c
    byte[] plain = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(value);
    assertThat(CanonicalJson.canonicalize(CanonicalJson.parse(plain))).isEqualTo(c);
  }

  @Provide
  Arbitrary<JsonNode> values() {
    Arbitrary<JsonNode> leaf = Arbitraries.oneOf(
        Arbitraries.strings().all().ofMaxLength(12)
            .filter(CanonicalJsonTest::wellFormed).map(JsonNodeFactory.instance::textNode),
        Arbitraries.longs().between(-CanonicalJson.MAX_SAFE_INTEGER,
            CanonicalJson.MAX_SAFE_INTEGER).map(JsonNodeFactory.instance::numberNode),
        Arbitraries.of(true, false).map(JsonNodeFactory.instance::booleanNode),
        Arbitraries.just(JsonNodeFactory.instance.nullNode()));
    return Arbitraries.recursive(() -> leaf, inner -> Arbitraries.oneOf(
        inner.list().ofMaxSize(4).map(l -> {
          ArrayNode a = JsonNodeFactory.instance.arrayNode();
          l.forEach(a::add);
          return (JsonNode) a;
        }),
        Arbitraries.maps(Arbitraries.strings().all().ofMaxLength(6)
            .filter(CanonicalJsonTest::wellFormed), inner).ofMaxSize(4).map(m -> {
              ObjectNode o = JsonNodeFactory.instance.objectNode();
              m.forEach(o::set);
              return (JsonNode) o;
            })), 3);
  }

  private static boolean wellFormed(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
          return false;
        }
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return false;
      }
    }
    return true;
  }
}
