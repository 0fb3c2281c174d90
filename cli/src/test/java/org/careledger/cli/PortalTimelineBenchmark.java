package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.careledger.client.ApiClient;
import org.careledger.client.keys.KeyFile;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.JavascriptExecutor;

/**
 * Time to first render of the patient timeline in Debian's Chromium, for a patient with 1,000
 * records against a patient with 10 in the same run (the baseline), on a phone-sized screen.
 * "First render" runs from the tab click to the first animation frame after the list is in
 * the page (fetch, parse, describe, sort, render); the in-browser verification of every record
 * is reported separately. Run on request (not part of the suite):
 * {@code ./mvnw -B -pl cli verify -DexcludedGroups=none -Dgroups=benchmark}
 * (after {@code ./mvnw -B install -DskipTests}).
 */
@Tag("benchmark")
class PortalTimelineBenchmark {
  static final int ROUNDS = 7;
  @TempDir Path tmp;

  @Test
  void timelineOfAThousandRecords() throws Exception {
    NodeProcess node = NodeProcess.init(tmp.resolve("node")).start();
    StringBuilder report = new StringBuilder();
    try (Browser big = new Browser(tmp.resolve("p1"), 390, 844, "bench-timeline-1000");
        Browser small = new Browser(tmp.resolve("p2"), 390, 844, "bench-timeline-10")) {
      node.serviceKey();
      enroll(node, big, "pat-big", 1000);
      enroll(node, small, "pat-small", 10);
      List<Double> bigMs = new ArrayList<>();
      List<Double> smallMs = new ArrayList<>();
      List<Double> verifyMs = new ArrayList<>();
      for (int r = 0; r < ROUNDS; r++) {
        smallMs.add(firstRender(small, 10)[0]);
        double[] b = firstRender(big, 1000);
        bigMs.add(b[0]);
        verifyMs.add(b[1]);
      }
      big.screenshot("timeline");
      double bm = median(bigMs);
      double sm = median(smallMs);
      report.append(String.format("timeline first render, median of %d rounds: 1,000 records"
          + " %.0f ms; 10 records %.0f ms (baseline); ratio %.2f; all 1,000 verified in the"
          + " browser after %.0f ms%n", ROUNDS, bm, sm, bm / sm, median(verifyMs)));
      report.append("1,000 records per round: ").append(bigMs).append('\n');
      report.append("10 records per round: ").append(smallMs).append('\n');
    } finally {
      node.stop();
    }
    System.out.print(report);
    Files.writeString(Path.of("target", "portal-timeline-benchmark.txt"), report);
  }

  /** Offers, enrolls in the browser, and files {@code n} Observations for the patient. */
  private static void enroll(NodeProcess node, Browser b, String identity, int n)
      throws Exception {
    String url = node.url();
    FhirHttp records = new FhirHttp(url, node.serviceToken());
    String patientId = FhirIntegrityTest.id(records.post("/Patient",
        "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Bench\"}]}"));
    StringBuilder bundle = new StringBuilder("{\"resourceType\":\"Bundle\",\"type\":"
        + "\"transaction\",\"entry\":[");
    for (int i = 0; i < n - 1; i++) {
      bundle.append(i == 0 ? "" : ",").append("{\"resource\":{\"resourceType\":\"Observation\","
          + "\"status\":\"final\",\"code\":{\"text\":\"Heart rate\"},\"effectiveDateTime\":\""
          + (2000 + i % 25) + "-0" + (1 + i % 9) + "-1" + (i % 10) + "\",\"subject\":"
          + "{\"reference\":\"Patient/" + patientId + "\"},\"valueQuantity\":{\"value\":"
          + (60 + i % 40) + ",\"unit\":\"/min\"}},\"request\":{\"method\":\"POST\",\"url\":"
          + "\"Observation\"}}");
    }
    bundle.append("]}");
    assertThat(records.post("", bundle.toString()).statusCode()).isEqualTo(200);
    String code = new ApiClient(url, KeyFile.read(node.dir.resolve("keys/service.key"), null))
        .post("/api/v1/enrollments", ("{\"patient\":\"" + patientId + "\"}").getBytes())
        .get("code").asText();
    b.driver.get(url + "/portal/");
    b.type("#enroll input[name=code]", code);
    b.type("#enroll input[name=identity]", identity);
    b.click("#enroll button[type=submit]");
    b.waiting(120).until(d -> (n + "/" + n).equals(((JavascriptExecutor) d).executeScript(
        "return document.body.dataset.verified || null;")));
  }

  /** {first render ms, all verified ms}, both from the tab click. */
  private static double[] firstRender(Browser b, int n) {
    JavascriptExecutor js = (JavascriptExecutor) b.driver;
    b.click("#tab-consents");
    b.waitFor("#grants");
    js.executeScript("delete document.body.dataset.verified; window.__t0 = performance.now();"
        + "window.__first = null; new MutationObserver((m, o) => {"
        + " if (document.querySelector('#timeline li')) { o.disconnect();"
        + " requestAnimationFrame(() => { window.__first = performance.now() - window.__t0; });"
        + " } }).observe(document.body, {childList: true, subtree: true});"
        + "document.getElementById('tab-timeline').click();");
    b.waiting(60).until(d -> js.executeScript("return window.__first;") != null);
    double first = ((Number) js.executeScript("return window.__first;")).doubleValue();
    System.out.println("fetch " + js.executeScript("return document.body.dataset.fetchMs;")
        + " ms, render " + js.executeScript("return document.body.dataset.timelineMs;") + " ms");
    b.waiting(120).until(d -> (n + "/" + n).equals(js.executeScript(
        "return document.body.dataset.verified || null;")));
    double verified = ((Number) js.executeScript("return performance.now() - window.__t0;"))
        .doubleValue();
    return new double[] {first, verified};
  }

  private static double median(List<Double> v) {
    List<Double> s = new ArrayList<>(v);
    s.sort(null);
    return s.get(s.size() / 2);
  }
}
