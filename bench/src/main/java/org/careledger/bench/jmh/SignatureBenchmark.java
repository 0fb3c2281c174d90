package org.careledger.bench.jmh;

import java.util.concurrent.TimeUnit;
import org.careledger.core.crypto.Ed25519;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Ed25519 signing and verification over a 400-byte message (a typical transaction payload).
 * {@code verifyOneShot} is the baseline the others are compared with.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class SignatureBenchmark {
  private Ed25519.KeyPair key;
  private Ed25519.Verifier prepared;
  private byte[] publicKey;
  private final byte[] message = new byte[400];
  private byte[] signature;

  @Setup
  public void setUp() {
    key = Ed25519.KeyPair.generate();
    publicKey = key.publicKey();
    prepared = Ed25519.verifier(publicKey);
    signature = key.sign(message);
  }

  @Benchmark
  public void sign(Blackhole bh) {
    bh.consume(key.sign(message));
  }

  @Benchmark
  public boolean verifyOneShot() {
    return Ed25519.verify(publicKey, message, signature);
  }

  @Benchmark
  public boolean verifyPreparedKey() {
    return prepared.verify(message, signature);
  }
}
