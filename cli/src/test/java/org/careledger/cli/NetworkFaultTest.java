package org.careledger.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.careledger.client.ApiClient;
import org.careledger.client.ApiException;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.LedgerVerifier;
import org.careledger.node.store.LedgerStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real node processes of three- and five-organization networks on 127.0.0.K, under load from
 * clients that know every node: the leader killed with SIGKILL, a follower killed, a rolling
 * restart, a node frozen with SIGSTOP past the election timeout, a follower that lost its
 * ledger (it applies the whole Raft log again); with five, two killed at once and the leader
 * cut off from the others and healed ({@link NetworkPartitionTest} for three). After each
 * fault, every acknowledged transaction is on every node, all nodes report the same log root
 * and state digest, every data dir verifies, and a majority of nodes signed the head.
 */
class NetworkFaultTest {
  // kept when a test fails, for the nodes' logs
  @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS) Path tmp;

  @Test
  void threeNodesLoseNoAcknowledgedTransaction() throws Exception {
    List<NodeProcess> nodes = NodeProcess.network(tmp, 3);
    try (Network net = new Network(nodes)) {
      net.startAll();
      Load load = net.load(6);

      NodeProcess leader = net.leader();
      load.runFor(Duration.ofSeconds(2));
      int before = load.acked();
      leader.kill();
      load.runFor(Duration.ofSeconds(4));
      assertThat(load.acked()).as("the two others go on after the leader is killed")
          .isGreaterThan(before + 20);
      leader.start();
      net.check(load, "leader killed");

      NodeProcess follower = net.follower();
      before = load.acked();
      follower.kill();
      load.runFor(Duration.ofSeconds(3));
      assertThat(load.acked()).isGreaterThan(before + 20);
      follower.start();
      net.check(load, "follower killed");

      for (NodeProcess n : nodes) {
        n.stop();
        load.runFor(Duration.ofSeconds(1));
        n.start();
      }
      net.check(load, "rolling restart");

      NodeProcess frozen = net.leader();
      before = load.acked();
      frozen.signal("STOP");
      load.runFor(Duration.ofSeconds(6));
      assertThat(load.acked()).as("the two others go on while the leader is frozen")
          .isGreaterThan(before + 20);
      frozen.signal("CONT");
      net.check(load, "leader frozen past the election timeout");

      // a follower loses its ledger (its Raft log stays, as Raft requires of a member) and
      // rebuilds it by applying the whole log again
      NodeProcess wiped = net.follower();
      wiped.stop();
      TestFiles.deleteTree(wiped.dir.resolve("ledger"));
      load.runFor(Duration.ofSeconds(2));
      wiped.start();
      net.check(load, "a follower lost its ledger and restarted");
      load.stop();
      assertThat(load.acked()).isGreaterThan(500);
    }
  }

  @Test
  void fiveNodesSurviveTwoKilledAtOnceAFreezeAnIsolationAndARollingRestart() throws Exception {
    List<NodeProcess> nodes = NodeProcess.network(tmp, 5);
    // every node reaches every other through its own relay, so that one can be cut off
    try (NetworkPartitionTest.Links links = NetworkPartitionTest.Links.between(nodes);
        Network net = new Network(nodes)) {
      net.startAll();
      Load load = net.load(6);
      // five node processes share two cores: let them warm up before the fault
      load.runFor(Duration.ofSeconds(5));
      NodeProcess leader = net.leader();
      NodeProcess follower = net.follower();
      int before = load.acked();
      leader.kill();
      follower.kill();
      load.runFor(Duration.ofSeconds(8));
      assertThat(load.acked()).as("three of five go on").isGreaterThan(before + 20);
      leader.start();
      follower.start();
      net.check(load, "leader and a follower killed");

      NodeProcess frozen = net.follower();
      frozen.signal("STOP");
      load.runFor(Duration.ofSeconds(3));
      frozen.signal("CONT");
      net.check(load, "follower frozen");

      NodeProcess isolated = net.leader();
      before = load.acked();
      links.isolate(isolated);
      load.runFor(Duration.ofSeconds(2));
      long cutAt = NetworkPartitionTest.height(isolated);
      load.runFor(Duration.ofSeconds(6));
      assertThat(load.acked()).as("four of five go on without the isolated leader")
          .isGreaterThan(before + 20);
      assertThat(NetworkPartitionTest.height(isolated)).as("the isolated leader commits nothing")
          .isEqualTo(cutAt);
      links.heal();
      net.check(load, "leader isolated and healed");

      // a rolling restart two at a time: five nodes keep a majority with two down
      for (int i = 0; i < nodes.size(); i += 2) {
        List<NodeProcess> restarted = nodes.subList(i, Math.min(nodes.size(), i + 2));
        for (NodeProcess n : restarted) {
          n.stop();
        }
        load.runFor(Duration.ofSeconds(1));
        for (NodeProcess n : restarted) {
          n.launch();
        }
        for (NodeProcess n : restarted) {
          n.awaitHealthy(Duration.ofSeconds(90));
        }
      }
      net.check(load, "rolling restart");
      load.stop();
      assertThat(load.acked()).isGreaterThan(300);
    }
  }

  /** The nodes of one network and the checks that must hold on all of them. */
  static final class Network implements AutoCloseable {
    final List<NodeProcess> nodes;

    Network(List<NodeProcess> nodes) {
      this.nodes = nodes;
    }

    void startAll() throws Exception {
      for (NodeProcess n : nodes) {
        n.launch();
      }
      for (NodeProcess n : nodes) {
        n.awaitHealthy(Duration.ofSeconds(90));
      }
    }

    List<String> urls() {
      return nodes.stream().map(NodeProcess::url).toList();
    }

    /** Registers signers (by org1's admin) and starts client threads spread over the nodes. */
    Load load(int threads) throws Exception {
      Ed25519.KeyPair admin = nodes.get(0).adminKey();
      ApiClient api = new ApiClient(urls(), admin);
      List<Ed25519.KeyPair> signers = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        Ed25519.KeyPair k = Ed25519.KeyPair.generate();
        api.submit(TxFixture.signedBy(admin).command(
            new Command.Register("load-" + i, Role.SERVICE, k.publicKey(), null)).bytes());
        signers.add(k);
      }
      return new Load(urls(), signers);
    }

    JsonNode health(NodeProcess n) throws ApiException {
      return new ApiClient(n.url(), null).getPublic("/health");
    }

    /** The current leader, once all running nodes agree on one. */
    NodeProcess leader() throws Exception {
      long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (System.nanoTime() < end) {
        for (NodeProcess n : nodes) {
          try {
            if (n.alive() && health(n).path("leader").asBoolean()) {
              return n;
            }
          } catch (ApiException e) {
            // not answering right now
          }
        }
        Thread.sleep(200);
      }
      throw new AssertionError("no leader within 30 s");
    }

    NodeProcess follower() throws Exception {
      NodeProcess l = leader();
      return nodes.stream().filter(n -> n != l).findFirst().orElseThrow();
    }

    /**
     * With the load paused: all nodes converge on the same height, log root and state digest;
     * every acknowledged transaction is in every node's ledger; every data dir verifies; and
     * the head carries the signatures of a majority of the nodes.
     */
    void check(Load load, String after) throws Exception {
      load.pause();
      for (NodeProcess n : nodes) {
        n.awaitHealthy(Duration.ofSeconds(60));
      }
      // a restarted node first replays its Raft log; then every node must accept and commit
      converge(after);
      for (NodeProcess n : nodes) {
        load.submitThrough(n.url());
      }
      converge(after);
      List<String> acked = List.copyOf(load.ackedIds);
      for (NodeProcess n : nodes) {
        try (LedgerStore store = LedgerStore.openReadOnly(n.dir.resolve("ledger"))) {
          for (String id : acked) {
            if (store.leafOf(Codec.unhex(id)) < 0) {
              // say whether the node itself answers for it, to tell a lost transaction from a
              // reader that did not see the whole store
              String served;
              try {
                served = new ApiClient(n.url(), n.adminKey()).get("/api/v1/transactions/" + id)
                    .path("leafIndex").asText("?");
              } catch (ApiException e) {
                served = e.getMessage();
              }
              throw new AssertionError("after " + after + ": acknowledged " + id + " is not in "
                  + n.dir.getFileName() + "'s store (the node answers for it: " + served + ")");
            }
          }
        }
        LedgerVerifier.Report r = LedgerVerifier.verify(n.dir);
        assertThat(r.problem()).as("after %s: verify %s", after, n.dir.getFileName()).isNull();
      }
      long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      JsonNode head = null;
      while (System.nanoTime() < end) {
        try {
          head = new ApiClient(nodes.get(0).url(), nodes.get(0).adminKey())
              .get("/api/v1/tree-head?quorum=majority");
          if (head.get("signatures").size() >= head.get("majority").asInt()) {
            break;
          }
        } catch (ApiException e) {
          // no majority-signed head yet
        }
        Thread.sleep(250);
      }
      assertThat(head).as("after %s: a majority-signed head", after).isNotNull();
      int valid = 0;
      for (JsonNode s : head.get("signatures")) {
        for (NodeProcess n : nodes) {
          Ed25519.KeyPair k = org.careledger.client.keys.KeyFile.read(
              n.dir.resolve("keys/node.key"), null);
          if (k.keyId().equals(s.get("keyId").asText()) && Ed25519.verify(k.publicKey(),
              org.careledger.core.ledger.BlockHeader.fromJson(head.get("header"))
                  .canonicalBytes(), Codec.unb64(s.get("sig").asText()))) {
            valid++;
          }
        }
      }
      assertThat(valid).as("after %s: node signatures on the head", after)
          .isGreaterThanOrEqualTo(nodes.size() / 2 + 1);
      load.resume();
    }

    /** Waits until every node reports the same height, log root and state digest. */
    void converge(String after) throws Exception {
      java.util.Map<String, String> digests = new java.util.TreeMap<>();
      long end = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      while (System.nanoTime() < end) {
        digests.clear();
        for (NodeProcess n : nodes) {
          String at;
          try {
            JsonNode d = new ApiClient(n.url(), n.adminKey()).get("/api/v1/state-digest");
            at = d.get("height").asLong() + " " + d.get("logRoot").asText() + " "
                + d.get("stateDigest").asText();
          } catch (ApiException e) {
            if (e.status() != 503) {
              throw e;
            }
            // installing a snapshot: not there yet
            at = "unavailable";
          }
          digests.put(n.dir.getFileName().toString(), at);
        }
        if (new HashSet<>(digests.values()).size() == 1) {
          break;
        }
        Thread.sleep(250);
      }
      assertThat(new HashSet<>(digests.values()))
          .as("after %s: height, log root and state digest of every node: %s", after, digests)
          .hasSize(1);
    }

    @Override
    public void close() throws Exception {
      for (NodeProcess n : nodes) {
        if (n.alive()) {
          try {
            n.signal("CONT");
          } catch (Exception e) {
            // already gone
          }
        }
        n.close();
      }
    }
  }

  /** Client threads submitting through every node in turn, failing over when one is down. */
  static final class Load {
    final ConcurrentLinkedQueue<String> ackedIds = new ConcurrentLinkedQueue<>();
    private final List<Thread> threads = new ArrayList<>();
    private final List<Ed25519.KeyPair> signers;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicBoolean paused = new AtomicBoolean(true);
    private final java.util.concurrent.atomic.AtomicInteger inFlight =
        new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicInteger rounds =
        new java.util.concurrent.atomic.AtomicInteger();

    Load(List<String> urls, List<Ed25519.KeyPair> signers) {
      this.signers = signers;
      for (int i = 0; i < signers.size(); i++) {
        List<String> order = new ArrayList<>(urls);
        java.util.Collections.rotate(order, -i);
        Ed25519.KeyPair k = signers.get(i);
        Thread t = new Thread(() -> {
          ApiClient api = null;
          int seen = -1;
          while (running.get()) {
            if (paused.get()) {
              sleep(50);
              continue;
            }
            if (seen != rounds.get()) {
              // after each check, every client starts again from its own node, as an
              // organization's clients go back to their node once it is up again
              seen = rounds.get();
              api = new ApiClient(order, k);
            }
            inFlight.incrementAndGet();
            try {
              JsonNode r = api.submit(TxFixture.signedBy(k).bytes());
              ackedIds.add(r.get("txId").asText());
            } catch (ApiException e) {
              // refused or cut off by a fault: not acknowledged, so not required to survive
              sleep(50);
            } finally {
              inFlight.decrementAndGet();
            }
          }
        }, "load-" + i);
        t.setDaemon(true);
        t.start();
        threads.add(t);
      }
    }

    private static void sleep(long ms) {
      try {
        Thread.sleep(ms);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    int acked() {
      return ackedIds.size();
    }

    void runFor(Duration d) throws InterruptedException {
      resume();
      Thread.sleep(d.toMillis());
    }

    void resume() {
      paused.set(false);
    }

    /** Stops sending and waits until no request is outstanding. */
    void pause() throws InterruptedException {
      paused.set(true);
      rounds.incrementAndGet();
      long end = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      while (inFlight.get() > 0 && System.nanoTime() < end) {
        Thread.sleep(50);
      }
      assertThat(inFlight.get()).as("requests still outstanding").isZero();
    }

    void submitThrough(String url) throws ApiException {
      Ed25519.KeyPair k = signers.get(0);
      JsonNode r = new ApiClient(url, k).submit(TxFixture.signedBy(k).bytes());
      ackedIds.add(r.get("txId").asText());
    }

    void stop() throws InterruptedException {
      running.set(false);
      for (Thread t : threads) {
        t.join(120_000);
      }
    }
  }
}
