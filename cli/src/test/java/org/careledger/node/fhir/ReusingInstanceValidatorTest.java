package org.careledger.node.fhir;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.SingleValidationMessage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The node's validator module reports what HAPI's own FhirInstanceValidator reports, message
 * for message, while reusing its core validators: on the published examples, on Synthea
 * resources, and on resources broken on purpose; one after another (each core validator serves
 * many resources, then is retired) and from several threads at once.
 */
class ReusingInstanceValidatorTest {
  private static final Path DATA = Path.of("src/test/resources/testdata");
  private static final List<String> CORPUS = new ArrayList<>();
  private static final List<List<String>> HAPI = new ArrayList<>();

  @BeforeAll
  static void corpusAndHapisAnswers() throws Exception {
    var parser = FhirSetup.CONTEXT.newJsonParser();
    try (Stream<Path> s = Files.list(DATA.resolve("fhir-r4-examples"))) {
      for (Path p : s.filter(f -> f.toString().endsWith(".json")
          && !f.getFileName().toString().startsWith("package")).sorted().toList()) {
        CORPUS.add(Files.readString(p));
      }
    }
    int fromSynthea = 0;
    try (Stream<Path> s = Files.walk(DATA.resolve("synthea-r4"))) {
      for (Path p : s.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
        Bundle b = parser.parseResource(Bundle.class, Files.readString(p));
        for (int i = 0; i < b.getEntry().size() && i < 40; i++) {
          CORPUS.add(parser.encodeResourceToString(b.getEntry().get(i).getResource()));
          fromSynthea++;
        }
        if (fromSynthea >= 320) {
          break;
        }
      }
    }
    // broken on purpose: a code outside a required binding, a required element missing,
    // a malformed date, an unknown profile, an element in the wrong place
    CORPUS.add("{\"resourceType\":\"Observation\",\"status\":\"finished-ish\","
        + "\"code\":{\"text\":\"x\"}}");
    CORPUS.add("{\"resourceType\":\"Observation\",\"code\":{\"text\":\"no status\"}}");
    CORPUS.add("{\"resourceType\":\"Patient\",\"birthDate\":\"1970-13-45\"}");
    CORPUS.add("{\"resourceType\":\"Patient\",\"meta\":{\"profile\":"
        + "[\"http://example.org/StructureDefinition/not-here\"]},\"active\":true}");
    CORPUS.add("{\"resourceType\":\"Condition\",\"subject\":{\"reference\":\"Patient/1\"},"
        + "\"clinicalStatus\":{\"coding\":[{\"system\":"
        + "\"http://terminology.hl7.org/CodeSystem/condition-clinical\",\"code\":\"nope\"}]}}");
    CORPUS.add("{\"resourceType\":\"Encounter\",\"status\":\"finished\",\"class\":{\"code\":"
        + "\"AMB\"},\"period\":{\"start\":\"2020-01-02\",\"end\":\"2020-01-01\"}}");
    FhirValidator hapi = FullValidator.validator(
        FullValidator.configure(new FhirInstanceValidator(FullValidator.chain())));
    for (String r : CORPUS) {
      HAPI.add(messages(hapi, r));
    }
  }

  private static List<String> messages(FhirValidator v, String json) {
    IBaseResource r = FhirSetup.CONTEXT.newJsonParser().parseResource(json);
    List<String> out = new ArrayList<>();
    for (SingleValidationMessage m : v.validateWithResult(r).getMessages()) {
      // some of HAPI's messages print an object's identity hash, different in every run
      out.add(m.getSeverity() + " " + m.getLocationString() + " " + m.getMessageId() + " "
          + m.getMessage().replaceAll("@[0-9a-f]+", "@…"));
    }
    return out;
  }

  @Test
  void oneAfterAnotherItSaysWhatHapiSays() {
    ReusingInstanceValidator module = FullValidator.configure(
        new ReusingInstanceValidator(FullValidator.chain()));
    FhirValidator ours = FullValidator.validator(module);
    for (int i = 0; i < CORPUS.size(); i++) {
      assertThat(messages(ours, CORPUS.get(i))).as("resource %d", i).isEqualTo(HAPI.get(i));
    }
    // the corpus is bigger than one validator's share, so some were retired and built again
    assertThat(CORPUS.size()).isGreaterThan(ReusingInstanceValidator.USES);
    assertThat(module.built()).isEqualTo(
        (CORPUS.size() + ReusingInstanceValidator.USES - 1) / ReusingInstanceValidator.USES);
    // and the broken ones were reported as errors
    for (int i = CORPUS.size() - 6; i < CORPUS.size(); i++) {
      assertThat(HAPI.get(i)).as("resource %d", i).isNotEmpty();
    }
    assertThat(HAPI.get(CORPUS.size() - 3)).anyMatch(m -> m.startsWith("WARNING")
        && m.contains("not-here"));
  }

  @Test
  void fromSeveralThreadsAtOnceItSaysWhatHapiSays() throws Exception {
    ReusingInstanceValidator module = FullValidator.configure(
        new ReusingInstanceValidator(FullValidator.chain()));
    FhirValidator ours = FullValidator.validator(module);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<List<String>>> answers = new ArrayList<>();
      for (String r : CORPUS) {
        answers.add(pool.submit(() -> messages(ours, r)));
      }
      for (int i = 0; i < CORPUS.size(); i++) {
        assertThat(answers.get(i).get()).as("resource %d", i).isEqualTo(HAPI.get(i));
      }
    } finally {
      pool.shutdown();
    }
    // a validator serves one resource at a time, so four threads need at most four at once,
    // each kept for its share of resources
    assertThat(module.built()).isLessThanOrEqualTo(
        4 + CORPUS.size() / ReusingInstanceValidator.USES + 1);
  }
}
