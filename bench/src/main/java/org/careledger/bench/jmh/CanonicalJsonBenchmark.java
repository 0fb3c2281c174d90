package org.careledger.bench.jmh;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.TimeUnit;
import org.careledger.client.Transactions;
import org.careledger.core.contract.Command;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.tx.TxCodec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Canonical JSON on a real signed transaction: encoding a parsed tree, and the full decode that
 * every node does on admission (parse, canonical check, field checks). The baseline in the same
 * run is Jackson parsing the same bytes with no checks ({@code parseOnly}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class CanonicalJsonBenchmark {
  private byte[] tx;
  private JsonNode tree;
  private final com.fasterxml.jackson.databind.ObjectMapper plain =
      new com.fasterxml.jackson.databind.ObjectMapper();

  @Setup
  public void setUp() throws Exception {
    tx = Transactions.sign("careledger-bench", Ed25519.KeyPair.generate(),
        new Command.Anchor(Sha256.hash(new byte[1]), "lab report 2026-11-21"),
        System.currentTimeMillis(), 60_000);
    tree = CanonicalJson.parse(tx);
  }

  @Benchmark
  public byte[] canonicalEncode() {
    return CanonicalJson.canonicalize(tree);
  }

  @Benchmark
  public Object decodeTransaction() {
    return TxCodec.decode(tx);
  }

  @Benchmark
  public JsonNode parseOnly() throws Exception {
    return plain.readTree(tx);
  }
}
