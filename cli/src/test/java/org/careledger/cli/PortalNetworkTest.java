package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.careledger.client.ApiClient;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Ed25519;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;

/**
 * A patient's timeline across organizations, in Debian's headless Chromium against a network
 * of two organizations' nodes (127.0.0.1 and 127.0.0.2): the patient enrolls at the first,
 * links their records at the second with its code and their own browser-held key, and the
 * portal served by the first node shows the records of both, each verified in the page, those
 * of the second fetched from its own node with a token the patient's key signed.
 */
class PortalNetworkTest {
  @TempDir Path tmp;

  @Test
  void aPatientSeesTheirRecordsOfEveryOrganization() throws Exception {
    List<NodeProcess> nodes = NodeProcess.network(tmp, 2);
    try (NetworkFaultTest.Network net = new NetworkFaultTest.Network(nodes);
        Browser phone = new Browser(tmp.resolve("phone"), 390, 844, "portal-network")) {
      net.startAll();
      run(nodes, phone);
    }
  }

  private void run(List<NodeProcess> nodes, Browser phone) throws Exception {
    List<String> codes = new ArrayList<>();
    List<String> patientIds = new ArrayList<>();
    for (int k = 1; k <= 2; k++) {
      NodeProcess n = nodes.get(k - 1);
      Ed25519.KeyPair admin = n.adminKey();
      Ed25519.KeyPair svc = Ed25519.KeyPair.generate();
      new ApiClient(n.url(), admin).submit(AccessMatrixTest.sign(admin, new Command.Register(
          "svc-" + k, Role.SERVICE, svc.publicKey(), null)));
      Path svcFile = tmp.resolve("svc-" + k + ".key");
      KeyFile.write(svcFile, svc, null);
      FhirHttp records = new FhirHttp(n.url(), new ApiClient(n.url(), svc).token());
      String pid = FhirIntegrityTest.id(records.post("/Patient", "{\"resourceType\":"
          + "\"Patient\",\"name\":[{\"given\":[\"Dee\"],\"family\":\"Network\"}]}"));
      patientIds.add(pid);
      for (int i = 0; i < k + 1; i++) {
        assertThat(records.post("/Observation", "{\"resourceType\":\"Observation\",\"status\":"
            + "\"final\",\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"
            + "\"29463-7\"}],\"text\":\"Body weight\"},\"effectiveDateTime\":\"2026-0" + (k + 2)
            + "-1" + i + "\",\"subject\":{\"reference\":\"Patient/" + pid + "\"},"
            + "\"valueQuantity\":{\"value\":" + (60 + 10 * k + i) + ",\"unit\":\"kg\"}}")
            .statusCode()).isEqualTo(201);
      }
      codes.add(CliTest.offerCode(n.url(), svcFile, pid));
    }

    // enrolled at the first organization: its records only
    phone.driver.get(nodes.get(0).url() + "/portal/");
    phone.type("#enroll input[name=code]", codes.get(0));
    phone.type("#enroll input[name=identity]", "pat-dee");
    phone.click("#enroll button[type=submit]");
    phone.waiting(30).until(d -> "3/3".equals(PortalBrowserTest.body(phone, "verified")));
    assertThat(phone.text("#timeline-count")).contains("3 of 3 records at org1");

    // links the second organization with the same browser-held key
    phone.click("#tab-data");
    phone.type("#link input[name=link-code]", codes.get(1));
    phone.click("#link button[type=submit]");
    phone.waitForText("#status", "Linked");
    phone.click("#tab-timeline");
    phone.waiting(60).until(d -> "7/7".equals(PortalBrowserTest.body(phone, "verified")));
    assertThat(PortalBrowserTest.body(phone, "orgs")).isEqualTo("2");
    assertThat(phone.text("#timeline-count")).contains("7 of 7 records at org1, org2");
    assertThat(phone.driver.findElements(By.cssSelector("#timeline li[data-org=org2]")))
        .hasSize(4);
    assertThat(phone.driver.findElements(By.cssSelector("#timeline li[data-org=org1]")))
        .hasSize(3);
    assertThat(phone.driver.findElements(By.cssSelector("#timeline .badge.bad"))).isEmpty();
    assertThat(phone.text("#elsewhere")).contains("4 records from org2's node");
    assertThat(phone.driver.findElements(By.cssSelector("#timeline li[data-org=org2]")).stream()
        .map(e -> e.getText()).toList()).anyMatch(t -> t.contains("Body weight")
            && t.contains("82 kg") && t.contains("✓ verified"));
    phone.screenshot("timeline-two-organizations");
    assertThat(PortalBrowserTest.noHorizontalScroll(phone))
        .as(PortalBrowserTest.overflow(phone)).isTrue();

    // the trend puts both organizations' readings together
    phone.click("#tab-measure");
    phone.waitFor("section.trend[data-kind=weight]");
    assertThat(phone.driver.findElement(By.cssSelector("section.trend[data-kind=weight]"))
        .getDomAttribute("data-points")).isEqualTo("5");
    phone.screenshot("trend-two-organizations");

    // "download all my records" holds those of both organizations
    phone.click("#tab-data");
    phone.click("#download");
    phone.waitFor("#download-link");
    assertThat(phone.driver.findElement(By.id("download-link")).getDomAttribute("data-entries"))
        .isEqualTo("7");
    assertThat(phone.text("#download-link")).contains("with 4 records of other organizations");

    // the second organization's node recorded the patient's own read as an access event
    phone.click("#tab-access");
    phone.waitFor("#events li");
    assertThat(phone.text("#events")).contains("pat-dee");
  }
}
