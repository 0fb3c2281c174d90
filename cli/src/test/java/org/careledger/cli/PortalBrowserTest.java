package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.careledger.client.ApiClient;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.NetworkInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebElement;

/**
 * The portal end to end in Debian's headless Chromium against a real node: a patient enrolls
 * on a phone-sized screen (key made by WebCrypto, kept in IndexedDB), sees their records
 * verified in the browser, grants a clinician access; the clinician (desktop) reads and sees
 * why; the patient sees that read with its proof checked; revokes; the clinician is refused and
 * the refusal shows; break-glass is highlighted; a doctored proof fails in the page.
 */
class PortalBrowserTest {
  @TempDir Path tmp;

  @Test
  void patientAndClinicianThroughTheBrowser() throws Exception {
    onNodeWithPhoneAndDesk(tmp, "portal-patient", "portal-clinician", this::run);
  }

  /** What a browser test does with its node, a phone-sized browser and a desktop one. */
  interface Scenario {
    void run(NodeProcess node, Browser phone, Browser desk) throws Exception;
  }

  /**
   * Runs a scenario on a new node of org1 (with member org2) and two browsers: a phone at
   * 390x844 and a desktop at 1280x900, whose screenshots go under the two names given.
   */
  static void onNodeWithPhoneAndDesk(Path tmp, String phoneShots, String deskShots,
      Scenario scenario) throws Exception {
    NodeProcess node = NodeProcess.init(tmp.resolve("node"),
        List.of(new NetworkInit.Member("org2", "Clinic Two"))).start();
    try (Browser phone = new Browser(tmp.resolve("phone"), 390, 844, phoneShots);
        Browser desk = new Browser(tmp.resolve("desk"), 1280, 900, deskShots)) {
      scenario.run(node, phone, desk);
    } finally {
      node.stop();
    }
  }

  private void run(NodeProcess node, Browser phone, Browser desk) throws Exception {
    String url = node.url();
    node.serviceKey();
    FhirHttp records = new FhirHttp(url, node.serviceToken());
    String patientId = FhirIntegrityTest.id(records.post("/Patient", "{\"resourceType\":"
        + "\"Patient\",\"name\":[{\"given\":[\"Ann\"],\"family\":\"Portal\"}],\"birthDate\":"
        + "\"1980-02-03\"}"));
    for (int i = 0; i < 3; i++) {
      records.post("/Observation", "{\"resourceType\":\"Observation\",\"status\":\"final\","
          + "\"code\":{\"text\":\"Body weight\"},\"effectiveDateTime\":\"2025-0" + (i + 1)
          + "-10\",\"subject\":{\"reference\":\"Patient/" + patientId + "\"},"
          + "\"valueQuantity\":{\"value\":7" + i + ",\"unit\":\"kg\"}}");
    }
    String code = CliTest.offerCode(url, node.dir.resolve("keys/service.key"), patientId);

    // the portal's pages carry a strict CSP and no third-party origin
    HttpResponse<String> page = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create(url + "/portal/")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(page.headers().firstValue("Content-Security-Policy").orElseThrow())
        .contains("default-src 'none'").contains("script-src 'self'")
        .doesNotContain("unsafe-inline");
    assertThat(page.body()).doesNotContain("http://").doesNotContain("https://");

    // the patient enrolls on the phone: WebCrypto key, enrollment, signed-in timeline
    phone.driver.get(url + "/portal/");
    phone.screenshot("start");
    phone.type("#enroll input[name=code]", code);
    phone.type("#enroll input[name=identity]", "pat-ann");
    phone.click("#enroll button[type=submit]");
    phone.waitFor("#timeline li");
    phone.waiting(30).until(d -> "4/4".equals(body(phone, "verified")));
    assertThat(phone.driver.findElements(By.cssSelector("#timeline .badge.ok"))).hasSize(4);
    assertThat(phone.text("#timeline")).contains("Body weight").contains("72 kg")
        .contains("Ann Portal").doesNotContain("resourceType");
    phone.screenshot("timeline-verified");
    assertThat(noHorizontalScroll(phone)).as(overflow(phone)).isTrue();
    // the private key cannot be exported from the browser
    Object extractable = ((JavascriptExecutor) phone.driver).executeAsyncScript(
        "const done = arguments[arguments.length - 1];"
            + "const r = indexedDB.open('careledger', 1);"
            + "r.onsuccess = () => { const g = r.result.transaction('keys').objectStore('keys')"
            + ".get('pat-ann'); g.onsuccess = () => done(g.result.privateKey.extractable); };");
    assertThat(extractable).isEqualTo(false);

    // a clinician of the other organization makes a key in the browser; the admin registers it
    desk.driver.get(url + "/portal/");
    desk.type("#staff input[name=staff-identity]", "dr-bea");
    desk.click("#staff button[type=submit]");
    String publicKey = desk.text("#staff-public-key");
    Ed25519.KeyPair admin2 = KeyFile.read(node.dir.resolve("keys/org2-admin.key"), null);
    new ApiClient(url, admin2).submit(AccessMatrixTest.sign(admin2, new Command.Register(
        "dr-bea", Role.PRACTITIONER, Codec.unb64(publicKey), null)));
    openChart(desk, patientId);
    desk.waitFor("#refused");
    assertThat(desk.text("#refused")).contains("no consent");
    desk.screenshot("refused-before-consent");

    // the patient grants dr-bea access for treatment, signed in the browser
    phone.click("#tab-consents");
    phone.type("#grant input[name=grantee]", "dr-bea");
    phone.click("#grant button[type=submit]");
    phone.waitForText("#grants", "dr-bea");
    assertThat(phone.text("#grants li[data-state=active]")).contains("Treatment");
    phone.screenshot("granted");

    // the clinician reads and sees why
    openChart(desk, patientId);
    desk.waitFor("#records li");
    assertThat(desk.text("#basis")).contains("consent");
    assertThat(desk.text("#records")).contains("Body weight");
    desk.screenshot("read-with-consent");

    // the patient sees that read, its proof checked in the page
    phone.click("#tab-access");
    phone.waitForText("#events", "dr-bea");
    phone.waiting(30).until(d -> d.findElements(By.cssSelector("#events .badge.pending"))
        .isEmpty());
    assertThat(phone.driver.findElements(By.cssSelector("#events .badge.bad"))).isEmpty();
    WebElement allowed = phone.driver.findElements(By.cssSelector(
        "#events li[data-decision=allow]")).stream().filter(e -> e.getText().contains("dr-bea"))
        .findFirst().orElseThrow();
    assertThat(allowed.getText()).contains("on the ledger");
    phone.screenshot("access-events");

    // the patient revokes; the clinician is refused; the refusal shows to the patient
    phone.click("#tab-consents");
    phone.click("#grants li[data-state=active] button");
    phone.waitFor("#grants li[data-state=revoked]");
    openChart(desk, patientId);
    desk.waitFor("#refused");
    desk.screenshot("refused-after-revoke");
    phone.click("#tab-access");
    phone.waitFor("#events li[data-decision=deny]");
    phone.waiting(30).until(d -> d.findElements(By.cssSelector("#events .badge.pending"))
        .isEmpty());
    phone.screenshot("refusal-shown");

    // break-glass: allowed, flagged for the clinician and highlighted for the patient
    desk.type("#breakglass textarea[name=reason]", "unconscious in the emergency room");
    desk.click("#breakglass button[type=submit]");
    desk.waitFor("#records li");
    assertThat(desk.text("#basis")).contains("break-glass");
    desk.screenshot("break-glass");
    phone.click("#tab-timeline");
    phone.click("#tab-access");
    phone.waitFor("#events li.breakglass");
    assertThat(phone.text("#events li.breakglass")).contains("BREAK-GLASS").contains("dr-bea")
        .contains("unconscious in the emergency room");
    phone.screenshot("break-glass-highlighted");

    // a doctored proof or tree head fails the check in the page
    for (String doctor : List.of(
        "e.receipt.inclusionProof.hashes[0] = e.receipt.inclusionProof.hashes[0]"
            + ".replace(/^./, c => c === '0' ? '1' : '0');",
        "e.receipt.treeHead.header.logRoot = '00'.repeat(32);",
        "e.receipt.treeHead.signatures[0].sig = e.receipt.treeHead.signatures[0].sig"
            + ".replace(/^./, c => c === 'A' ? 'B' : 'A');")) {
      ((JavascriptExecutor) phone.driver).executeScript(
          "if (!window.__fetch) window.__fetch = window.fetch;"
              + "window.fetch = async (u, o) => { const r = await window.__fetch(u, o);"
              + "if (!String(u).includes('/access-events')) return r;"
              + "const b = await r.json(); for (const e of b.events) { if (e.receipt"
              + " && e.receipt.inclusionProof.hashes.length) { " + doctor + " } }"
              + "return new Response(JSON.stringify(b), {status: 200, headers:"
              + " {'Content-Type': 'application/json'}}); };");
      phone.click("#tab-timeline");
      phone.click("#tab-access");
      phone.waitFor("#events li");
      phone.waiting(30).until(d -> d.findElements(By.cssSelector("#events .badge.pending"))
          .isEmpty());
      assertThat(phone.driver.findElements(By.cssSelector("#events .badge.bad")))
          .as(doctor).isNotEmpty();
    }
    phone.screenshot("doctored-proof-rejected");
    ((JavascriptExecutor) phone.driver).executeScript("window.fetch = window.__fetch;");

    // a long access log comes 50 events at a time, the newest first; older ones on request
    for (int i = 0; i < 55; i++) {
      assertThat(records.get("/Patient/" + patientId).statusCode()).isEqualTo(200);
    }
    phone.click("#tab-timeline");
    phone.click("#tab-access");
    phone.waitFor("#older");
    assertThat(phone.driver.findElements(By.cssSelector("#events li"))).hasSize(50);
    assertThat(phone.driver.findElements(By.cssSelector("#events li.breakglass"))).isEmpty();
    phone.click("#older");
    phone.waiting(30).until(d -> d.findElements(By.cssSelector("#events li")).size() > 50);
    phone.waiting(30).until(d -> d.findElements(By.cssSelector("#events .badge.pending"))
        .isEmpty());
    assertThat(phone.driver.findElements(By.cssSelector("#events .badge.bad"))).isEmpty();
    assertThat(phone.driver.findElements(By.cssSelector("#events li.breakglass"))).isNotEmpty();
    phone.screenshot("older-access-events");

    // download all my records as a FHIR Bundle
    phone.click("#tab-data");
    phone.click("#download");
    phone.waitFor("#download-link");
    phone.screenshot("download");
    assertThat(noHorizontalScroll(phone)).as(overflow(phone)).isTrue();
  }

  private static void openChart(Browser desk, String patientId) {
    openChart(desk, "dr-bea", patientId);
  }

  /** The clinician signs in afresh and opens the patient's chart by id. */
  static void openChart(Browser desk, String identity, String patientId) {
    desk.driver.navigate().refresh();
    desk.click("button[data-identity=" + identity + "]");
    desk.waitFor("#open");
    desk.type("input[name=patient-id]", patientId);
    desk.click("#open");
  }

  static String body(Browser b, String data) {
    return (String) ((JavascriptExecutor) b.driver).executeScript(
        "return document.body.dataset['" + data + "'] || null;");
  }

  /** What sticks out of a too-narrow page, for the failure message. */
  static String overflow(Browser b) {
    return (String) ((JavascriptExecutor) b.driver).executeScript(
        "const w = window.innerWidth; return 'viewport ' + w + ', page '"
            + " + document.documentElement.scrollWidth + ': ' + [...document.querySelectorAll("
            + "'body *')].filter(e => e.getBoundingClientRect().right > w).slice(0, 5)"
            + ".map(e => e.tagName + '.' + e.className + '#' + e.id + ' '"
            + " + Math.round(e.getBoundingClientRect().right)).join(', ');");
  }

  static boolean noHorizontalScroll(Browser b) {
    return (Boolean) ((JavascriptExecutor) b.driver).executeScript(
        "return document.documentElement.scrollWidth <= window.innerWidth;");
  }
}
