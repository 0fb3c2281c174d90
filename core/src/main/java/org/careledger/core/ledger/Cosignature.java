package org.careledger.core.ledger;

import org.careledger.core.crypto.Ed25519;

/**
 * One node's signature over a block header it applied, sent to the other nodes through the
 * ordering log so that every node collects the same signatures. It carries the whole header, so
 * a node that applied a different header at the same height can check the signature and see
 * that it disagrees.
 */
public record Cosignature(BlockHeader header, String keyId, byte[] sig) {
  public Cosignature {
    if (sig.length != 64) {
      throw new IllegalArgumentException("an Ed25519 signature has 64 bytes");
    }
  }

  public static Cosignature sign(BlockHeader header, Ed25519.KeyPair nodeKey) {
    return new Cosignature(header, nodeKey.keyId(), nodeKey.sign(header.canonicalBytes()));
  }

  public boolean verifies(byte[] publicKey) {
    return Ed25519.keyId(publicKey).equals(keyId)
        && Ed25519.verify(publicKey, header.canonicalBytes(), sig);
  }

  public Block.Signature signature() {
    return new Block.Signature(keyId, sig);
  }
}
