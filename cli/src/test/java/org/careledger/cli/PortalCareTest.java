package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.careledger.client.ApiClient;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;

/**
 * The rest of the portal in Debian's headless Chromium against a real node: a patient records
 * their own measurements on a phone (signed in the browser, anchored, charted beside the
 * clinic's), a clinician of another organization asks for access and the patient grants it as
 * asked, the clinician then reads the patient's own readings; an auditor's ledger explorer shows
 * the node and network, the start-up ledger check, the co-signed tree head, blocks and proofs,
 * and rejects a doctored consistency proof.
 */
class PortalCareTest {
  @TempDir Path tmp;

  static final String LOINC = "\"system\":\"http://loinc.org\"";

  @Test
  void measurementsRequestsAndTheExplorer() throws Exception {
    PortalBrowserTest.onNodeWithPhoneAndDesk(tmp, "portal-care-patient", "portal-care-staff",
        this::run);
  }

  private void run(NodeProcess node, Browser phone, Browser desk) throws Exception {
    String url = node.url();
    node.serviceKey();
    FhirHttp records = new FhirHttp(url, node.serviceToken());
    String patientId = FhirIntegrityTest.id(records.post("/Patient", "{\"resourceType\":"
        + "\"Patient\",\"name\":[{\"given\":[\"Cy\"],\"family\":\"Trend\"}],\"birthDate\":"
        + "\"1975-05-06\"}"));
    for (int i = 0; i < 2; i++) {
      records.post("/Observation", "{\"resourceType\":\"Observation\",\"status\":\"final\","
          + "\"code\":{\"coding\":[{" + LOINC + ",\"code\":\"29463-7\",\"display\":\"Body"
          + " weight\"}]},\"effectiveDateTime\":\"2026-0" + (i + 1) + "-10\",\"subject\":"
          + "{\"reference\":\"Patient/" + patientId + "\"},\"valueQuantity\":{\"value\":7" + (4 - i)
          + ",\"unit\":\"kg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"kg\"}}");
    }
    records.post("/Observation", "{\"resourceType\":\"Observation\",\"status\":\"final\","
        + "\"code\":{\"coding\":[{" + LOINC + ",\"code\":\"85354-9\"}]},\"effectiveDateTime\":"
        + "\"2026-03-01\",\"subject\":{\"reference\":\"Patient/" + patientId + "\"},"
        + "\"component\":[{\"code\":{\"coding\":[{" + LOINC + ",\"code\":\"8480-6\"}]},"
        + "\"valueQuantity\":{\"value\":135,\"unit\":\"mmHg\"}},{\"code\":{\"coding\":[{" + LOINC
        + ",\"code\":\"8462-4\"}]},\"valueQuantity\":{\"value\":88,\"unit\":\"mmHg\"}}]}");
    String code = CliTest.offerCode(url, node.dir.resolve("keys/service.key"), patientId);
    // a restart runs the start-up ledger check over what is there now
    node.stop();
    node.start();
    FhirHttp writer = new FhirHttp(url, node.serviceToken());

    // the patient enrolls on the phone and records readings of their own
    phone.driver.get(url + "/portal/");
    phone.type("#enroll input[name=code]", code);
    phone.type("#enroll input[name=identity]", "pat-cy");
    phone.click("#enroll button[type=submit]");
    phone.waitFor("#timeline li");
    phone.click("#tab-measure");
    phone.waitFor("section.trend[data-kind=weight]");
    assertThat(phone.driver.findElement(By.cssSelector("section.trend[data-kind=weight]"))
        .getDomAttribute("data-mine")).isEqualTo("0");
    measure(phone, "weight", "input[name=value]", "71.5");
    measure(phone, "bp", "input[name=value]", "128", "input[name=value2]", "84");
    measure(phone, "symptom", "textarea[name=symptom]", "mild headache since noon");
    assertThat(phone.text("section.trend[data-kind=weight]"))
        .contains("2 from your care providers").contains("1 recorded by you").contains("Latest: 71.5 kg");
    assertThat(phone.driver.findElements(By.cssSelector(
        "section.trend[data-kind=weight] svg rect.mine"))).hasSize(1);
    assertThat(phone.driver.findElements(By.cssSelector(
        "section.trend[data-kind=weight] svg circle.clinic"))).hasSize(2);
    assertThat(phone.driver.findElements(By.cssSelector(
        "section.trend[data-kind=bp] svg rect.mine"))).hasSize(2);
    assertThat(phone.text("section.trend[data-kind=symptom]"))
        .contains("mild headache since noon");
    scrollTo(phone, "#charts");
    phone.screenshot("measurements");
    assertThat(PortalBrowserTest.noHorizontalScroll(phone))
        .as(PortalBrowserTest.overflow(phone)).isTrue();
    // bad input changes nothing: an out-of-range value is stopped by the form, a forged
    // commitment by the node
    Object forged = ((JavascriptExecutor) phone.driver).executeAsyncScript(
        "const done = arguments[arguments.length - 1];"
            + "import('/portal/js/session.js').then(async S => {"
            + " const L = await import('/portal/js/ledger.js');"
            + " const n = await S.get('/api/v1/patients/me/measurements/new');"
            + " const s = S.session();"
            + " const tx = await L.signTransaction(s.key, s.chain, 'patients', {type: 'contribute',"
            + "  org: n.org, record: n.record, resourceType: 'Observation', commitment:"
            + "  '00'.repeat(32)});"
            + " try { await S.call('POST', '/api/v1/patients/me/measurements', {tx: L.b64url(tx),"
            + "  salted: L.b64url(new Uint8Array(40))}); done('stored'); }"
            + " catch (e) { done(e.status + ' ' + e.message); } });");
    assertThat(String.valueOf(forged)).startsWith("400").contains("commitment");
    // a reading about someone else is refused with the reasons, and stores nothing (the
    // timeline below counts every record)
    Object other = ((JavascriptExecutor) phone.driver).executeAsyncScript(
        "const done = arguments[arguments.length - 1];"
            + "import('/portal/js/session.js').then(async S => {"
            + " const L = await import('/portal/js/ledger.js');"
            + " const M = await import('/portal/js/measure.js');"
            + " const n = await S.get('/api/v1/patients/me/measurements/new');"
            + " const r = M.observation({...n, subject: 'Patient/someone-else'}, 'weight', [60],"
            + "  new Date().toISOString());"
            + " const bytes = L.utf8(JSON.stringify(r));"
            + " const salted = new Uint8Array(32 + bytes.length); salted.set(bytes, 32);"
            + " const s = S.session();"
            + " const tx = await L.signTransaction(s.key, s.chain, 'patients', {type: 'contribute',"
            + "  org: n.org, record: n.record, resourceType: 'Observation', commitment:"
            + "  L.hex(await L.sha256(salted))});"
            + " try { await S.call('POST', '/api/v1/patients/me/measurements', {tx: L.b64url(tx),"
            + "  salted: L.b64url(salted)}); done('stored'); }"
            + " catch (e) { done(e.status + ' ' + e.message); } });");
    assertThat(String.valueOf(other)).startsWith("422")
        .contains("subject must be the signed-in patient")
        .contains("performer must name the signed-in patient");

    // each of the patient's own readings is verified and shown as signed by them
    phone.click("#tab-timeline");
    phone.waiting(30).until(d -> "7/7".equals(PortalBrowserTest.body(phone, "verified")));
    assertThat(phone.driver.findElements(By.cssSelector("#timeline li[data-author=pat-cy]")))
        .hasSize(3);
    assertThat(phone.text("#timeline li[data-author=pat-cy] .badge.ok"))
        .contains("signed by you");
    phone.screenshot("own-readings-verified");

    // a clinician of the other organization is refused and asks the patient for access
    desk.driver.get(url + "/portal/");
    desk.type("#staff input[name=staff-identity]", "dr-cy");
    desk.click("#staff button[type=submit]");
    String drKey = desk.text("#staff-public-key");
    Ed25519.KeyPair admin2 = KeyFile.read(node.dir.resolve("keys/org2-admin.key"), null);
    new ApiClient(url, admin2).submit(AccessMatrixTest.sign(admin2, new Command.Register(
        "dr-cy", Role.PRACTITIONER, Codec.unb64(drKey), null)));
    PortalBrowserTest.openChart(desk, "dr-cy", patientId);
    desk.waitFor("#refused");
    desk.type("#ask textarea[name=ask-reason]", "follow-up of blood pressure after referral");
    desk.click("#ask button[type=submit]");
    desk.waitForText("#ask-result", "Request sent");
    desk.screenshot("access-requested");

    // the patient sees the request and grants it as asked, with their key
    phone.click("#tab-consents");
    phone.waitFor("#requests li[data-state=open]");
    assertThat(phone.text("#requests li[data-state=open]")).contains("dr-cy at org2")
        .contains("Treatment").contains("follow-up of blood pressure after referral");
    phone.screenshot("request-shown");
    phone.click("#requests li[data-state=open] button.grant-request");
    phone.waitFor("#requests li[data-state=granted]");
    assertThat(phone.text("#grants li[data-state=active]")).contains("dr-cy");
    phone.screenshot("request-granted");

    // the clinician now reads, the patient's own readings among the clinic's
    PortalBrowserTest.openChart(desk, "dr-cy", patientId);
    desk.waitFor("#records li");
    assertThat(desk.text("#basis")).contains("consent");
    assertThat(desk.text("#records")).contains("71.5 kg").contains("74 kg")
        .contains("mild headache since noon");
    desk.screenshot("reads-patient-readings");

    // an auditor's ledger explorer
    desk.driver.navigate().refresh();
    desk.type("#staff input[name=staff-identity]", "aud-1");
    desk.click("#staff button[type=submit]");
    String audKey = desk.text("#staff-public-key");
    Ed25519.KeyPair admin1 = node.adminKey();
    new ApiClient(url, admin1).submit(AccessMatrixTest.sign(admin1, new Command.Register(
        "aud-1", Role.AUDITOR, Codec.unb64(audKey), null)));
    // an open proposal: one vote of the two member organizations is not a majority
    new ApiClient(url, admin1).submit(AccessMatrixTest.sign(admin1, new Command.ProposeRemoveOrg(
        "rm-org2", "org2", "a proposal the explorer shows")));
    new ApiClient(url, admin1).submit(AccessMatrixTest.sign(admin1,
        new Command.ProposeReplaceNode("replace-node1", "node1", "node1b",
            Ed25519.KeyPair.generate().publicKey(), "127.0.0.1:9", "so is this one")));
    desk.driver.navigate().refresh();
    desk.click("button[data-identity=aud-1]");
    desk.waitFor("#blocks li");
    assertThat(desk.text("#organizations")).contains("org1").contains("org2");
    assertThat(desk.text("#proposals")).contains("Remove org2 · open · approved by org1");
    assertThat(desk.text("#proposals"))
        .contains("Replace node node1 of org1 by node1b · open · approved by org1");
    assertThat(desk.driver.findElement(By.id("last-verify")).getDomAttribute("data-result"))
        .isEqualTo("ok");
    assertThat(desk.text("#last-verify")).contains("blocks").contains("transactions replayed");
    assertThat(desk.text("#cosigned")).contains("✓ 1 of 1 organizations signed");
    assertThat(desk.text("#peers")).contains("node1").contains("leader");
    desk.waitFor("#consistency");
    desk.waiting(30).until(d -> d.findElement(By.id("consistency")).getText()
        .contains("reference"));
    desk.click("#blocks li .open-block");
    desk.waitFor("#txs li");
    desk.waiting(30).until(d -> d.findElements(By.cssSelector("#txs .badge.pending")).isEmpty());
    assertThat(desk.driver.findElements(By.cssSelector("#txs .badge.bad"))).isEmpty();
    assertThat(desk.driver.findElements(By.cssSelector("#txs .badge.ok"))).isNotEmpty();
    scrollTo(desk, "#block-detail");
    desk.screenshot("explorer");

    // more transactions, then the page proves the new head extends the first one it saw
    note(writer, patientId, "later");
    desk.click("#tab-ledger");
    desk.waiting(30).until(d -> "ok".equals(d.findElement(By.id("consistency"))
        .getDomAttribute("data-result")));
    assertThat(desk.text("#consistency")).contains("consistent with the head first seen");
    desk.screenshot("consistent");
    // a doctored consistency proof is rejected in the page
    ((JavascriptExecutor) desk.driver).executeScript(
        "window.__fetch = window.fetch; window.fetch = async (u, o) => {"
            + " const r = await window.__fetch(u, o);"
            + " if (!String(u).includes('/proofs/consistency')) return r;"
            + " const b = await r.json(); b.hashes[0] = b.hashes[0].replace(/^./,"
            + " c => c === '0' ? '1' : '0');"
            + " return new Response(JSON.stringify(b), {status: 200, headers:"
            + " {'Content-Type': 'application/json'}}); };");
    note(writer, patientId, "even later");
    desk.click("#tab-ledger");
    desk.waiting(30).until(d -> "bad".equals(d.findElement(By.id("consistency"))
        .getDomAttribute("data-result")));
    assertThat(desk.text("#consistency")).contains("NOT consistent");
    desk.screenshot("doctored-consistency-rejected");
  }

  /**
   * The patient records one reading of {@code kind}, filling the named fields (selector, value,
   * selector, value...), and waits until its chart counts it.
   */
  private static void measure(Browser phone, String kind, String... fields) {
    new org.openqa.selenium.support.ui.Select(phone.driver.findElement(
        By.cssSelector("#measure select[name=kind]"))).selectByValue(kind);
    for (int i = 0; i < fields.length; i += 2) {
      phone.type("#measure " + fields[i], fields[i + 1]);
    }
    phone.click("#measure button[type=submit]");
    phone.waitFor("section.trend[data-kind=" + kind + "][data-mine='1']");
  }

  /** The clinic writes a short note about the patient: one more block. */
  private static void note(FhirHttp writer, String patientId, String text) throws Exception {
    assertThat(writer.post("/Observation", "{\"resourceType\":\"Observation\",\"status\":"
        + "\"final\",\"code\":{\"text\":\"Note\"},\"subject\":{\"reference\":\"Patient/"
        + patientId + "\"},\"valueString\":\"" + text + "\"}").statusCode()).isEqualTo(201);
  }

  private static void scrollTo(Browser b, String css) {
    ((JavascriptExecutor) b.driver).executeScript(
        "document.querySelector(arguments[0]).scrollIntoView()", css);
  }

}
