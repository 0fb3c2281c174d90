package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.careledger.client.ApiClient;
import org.careledger.client.ApiException;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.LedgerVerifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 under load, five times: after each restart every acknowledged transaction is on the
 * ledger and the ledger verifies end to end.
 */
class CrashRecoveryTest {
  @TempDir Path tmp;

  @Test
  void killNineUnderLoadLosesNoAcknowledgedTransaction() throws Exception {
    NodeProcess node = NodeProcess.init(tmp.resolve("node")).start();
    Ed25519.KeyPair adminKey = node.adminKey();
    ApiClient admin = new ApiClient(node.url(), adminKey);
    List<Ed25519.KeyPair> signers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Ed25519.KeyPair k = Ed25519.KeyPair.generate();
      admin.submit(TxFixture.signedBy(adminKey)
          .command(new Command.Register("svc-" + i, Role.SERVICE, k.publicKey(), null)).bytes());
      signers.add(k);
    }
    ConcurrentLinkedQueue<String> acknowledged = new ConcurrentLinkedQueue<>();
    Random random = new Random(42);
    try {
      for (int round = 0; round < 5; round++) {
        AtomicBoolean running = new AtomicBoolean(true);
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < 8; c++) {
          Ed25519.KeyPair k = signers.get(c % signers.size());
          Thread t = new Thread(() -> {
            ApiClient api = new ApiClient(node.url(), k);
            while (running.get()) {
              try {
                JsonNode r = api.submit(TxFixture.signedBy(k).bytes());
                acknowledged.add(r.get("txId").asText());
              } catch (ApiException e) {
                // refused or cut off by the kill: not acknowledged, so not expected to survive
              }
            }
          });
          t.start();
          clients.add(t);
        }
        Thread.sleep(1000 + random.nextInt(2000));
        int ackedBeforeKill = acknowledged.size();
        node.kill();
        running.set(false);
        for (Thread t : clients) {
          t.join();
        }
        assertThat(acknowledged.size()).as("round %d made progress", round)
            .isGreaterThan(ackedBeforeKill / 2);
        node.start();
        ApiClient check = new ApiClient(node.url(), adminKey);
        for (String id : acknowledged) {
          assertThat(check.get("/api/v1/transactions/" + id).get("txId").asText())
              .isEqualTo(id);
        }
        LedgerVerifier.Report report = LedgerVerifier.verify(node.dir);
        assertThat(report.problem()).as("round %d", round).isNull();
        assertThat(report.transactions()).isGreaterThanOrEqualTo(acknowledged.size());
      }
      assertThat(acknowledged.size()).isGreaterThan(100);
    } finally {
      node.close();
    }
  }
}
