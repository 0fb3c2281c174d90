package org.careledger.core.merkle;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import org.careledger.core.crypto.Codec;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Known-answer tests from transparency-dev/merkle (see the README beside the vectors). */
class MerkleVectorsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static Path vectors(String sub) throws URISyntaxException {
    return Path.of(MerkleVectorsTest.class.getResource("/testdata/transparency-dev-merkle/" + sub)
        .toURI());
  }

  static List<Path> files(String sub) throws Exception {
    try (Stream<Path> s = Files.walk(vectors(sub))) {
      return s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    }
  }

  private static byte[] b64(JsonNode n) {
    return n == null || n.isNull() ? null : Base64.getDecoder().decode(n.textValue());
  }

  private static List<byte[]> proof(JsonNode n) {
    List<byte[]> out = new ArrayList<>();
    if (n != null && !n.isNull()) {
      n.forEach(e -> out.add(Base64.getDecoder().decode(e.textValue())));
    }
    return out;
  }

  @TestFactory
  Stream<DynamicTest> inclusionVectorsGiveTheExpectedVerdict() throws Exception {
    List<Path> all = files("testdata/inclusion");
    assertThat(all).hasSize(98);
    return all.stream().map(p -> DynamicTest.dynamicTest(p.getParent().getFileName() + "/"
        + p.getFileName(), () -> {
          JsonNode v = JSON.readTree(p.toFile());
          boolean ok = MerkleVerifier.verifyInclusion(b64(v.get("leafHash")),
              v.get("leafIdx").asLong(), v.get("treeSize").asLong(), proof(v.get("proof")),
              b64(v.get("root")));
          assertThat(ok).isEqualTo(!v.get("wantErr").asBoolean());
        }));
  }

  @TestFactory
  Stream<DynamicTest> consistencyVectorsGiveTheExpectedVerdict() throws Exception {
    List<Path> all = files("testdata/consistency");
    assertThat(all).hasSize(98);
    return all.stream().map(p -> DynamicTest.dynamicTest(p.getParent().getFileName() + "/"
        + p.getFileName(), () -> {
          JsonNode v = JSON.readTree(p.toFile());
          boolean ok = MerkleVerifier.verifyConsistency(v.get("size1").asLong(),
              v.get("size2").asLong(), b64(v.get("root1")), b64(v.get("root2")),
              proof(v.get("proof")));
          assertThat(ok).isEqualTo(!v.get("wantErr").asBoolean());
        }));
  }

  @TestFactory
  Stream<DynamicTest> subtreeInclusionVectorsGiveTheExpectedVerdict() throws Exception {
    List<Path> all = files("testdata/subtreeinclusion");
    assertThat(all).hasSize(204);
    return all.stream().map(p -> DynamicTest.dynamicTest(p.getParent().getFileName() + "/"
        + p.getFileName(), () -> {
          JsonNode v = JSON.readTree(p.toFile());
          boolean ok = MerkleVerifier.verifySubtreeInclusion(b64(v.get("leafHash")),
              v.get("leafIdx").asLong(), v.get("start").asLong(), v.get("end").asLong(),
              proof(v.get("proof")), b64(v.get("root")));
          assertThat(ok).isEqualTo(!v.get("wantErr").asBoolean());
        }));
  }

  @TestFactory
  Stream<DynamicTest> subtreeConsistencyVectorsGiveTheExpectedVerdict() throws Exception {
    List<Path> all = files("testdata/subtreeconsistency");
    assertThat(all).hasSize(118);
    return all.stream().map(p -> DynamicTest.dynamicTest(p.getParent().getFileName() + "/"
        + p.getFileName(), () -> {
          JsonNode v = JSON.readTree(p.toFile());
          boolean ok = MerkleVerifier.verifySubtreeConsistency(v.get("start").asLong(),
              v.get("end").asLong(), v.get("size").asLong(), b64(v.get("root1")),
              b64(v.get("root2")), proof(v.get("proof")));
          assertThat(ok).isEqualTo(!v.get("wantErr").asBoolean());
        }));
  }

  @Test
  void rootsMatchTheReferenceTreeForEverySize() throws IOException, URISyntaxException {
    JsonNode ref = JSON.readTree(vectors("reference_tree.json").toFile());
    MemoryNodeStore store = new MemoryNodeStore();
    MerkleAppender appender = MerkleAppender.empty();
    MerkleTree tree = new MerkleTree(store);
    assertThat(Codec.hex(appender.root()))
        .isEqualTo(ref.get("rootHashesHexBySize").get("0").textValue());
    int size = 0;
    for (JsonNode leaf : ref.get("leafInputsHex")) {
      appender.append(MerkleHash.leaf(Codec.unhex(leaf.textValue()))).forEach(store::put);
      size++;
      String want = ref.get("rootHashesHexBySize").get(Integer.toString(size)).textValue();
      assertThat(Codec.hex(appender.root())).isEqualTo(want);
      assertThat(Codec.hex(tree.root(size))).isEqualTo(want);
    }
    assertThat(size).isEqualTo(8);
  }

  @Test
  void generatedProofsEqualTheHappyPathVectors() throws Exception {
    JsonNode ref = JSON.readTree(vectors("reference_tree.json").toFile());
    MemoryNodeStore store = new MemoryNodeStore();
    MerkleAppender appender = MerkleAppender.empty();
    for (JsonNode leaf : ref.get("leafInputsHex")) {
      appender.append(MerkleHash.leaf(Codec.unhex(leaf.textValue()))).forEach(store::put);
    }
    MerkleTree tree = new MerkleTree(store);
    int checked = 0;
    for (Path p : files("testdata/inclusion")) {
      JsonNode v = JSON.readTree(p.toFile());
      if (v.get("wantErr").asBoolean() || v.get("treeSize").asLong() > 8
          || !p.getFileName().toString().equals("happy-path.json")) {
        continue;
      }
      List<byte[]> got = tree.inclusionProof(v.get("leafIdx").asLong(), v.get("treeSize").asLong());
      assertThat(got.stream().map(Codec::hex).toList())
          .containsExactlyElementsOf(proof(v.get("proof")).stream().map(Codec::hex).toList());
      checked++;
    }
    for (Path p : files("testdata/consistency")) {
      JsonNode v = JSON.readTree(p.toFile());
      if (v.get("wantErr").asBoolean() || v.get("size2").asLong() > 8
          || v.get("size1").asLong() == 0
          || !p.getFileName().toString().equals("happy-path.json")) {
        continue;
      }
      List<byte[]> got = tree.consistencyProof(v.get("size1").asLong(), v.get("size2").asLong());
      assertThat(got.stream().map(Codec::hex).toList())
          .containsExactlyElementsOf(proof(v.get("proof")).stream().map(Codec::hex).toList());
      checked++;
    }
    assertThat(checked).isGreaterThanOrEqualTo(6);
  }
}
