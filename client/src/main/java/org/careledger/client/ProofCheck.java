package org.careledger.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.ledger.Block;
import org.careledger.core.merkle.MerkleHash;
import org.careledger.core.merkle.MerkleVerifier;

/**
 * Offline checks of what a node hands out, against node keys the checker already trusts (from
 * the genesis): receipts (a transaction, its inclusion proof and the signed block header it is
 * proved against) and consistency proofs between two signed headers. Returns the list of
 * problems found; an empty list means everything checked out.
 */
public final class ProofCheck {
  private ProofCheck() {}

  public static List<String> receipt(JsonNode receipt, Collection<byte[]> trustedNodeKeys) {
    List<String> problems = new ArrayList<>();
    try {
      byte[] tx = CanonicalJson.canonicalize(receipt.get("tx"));
      if (!Codec.hex(Sha256.hash(tx)).equals(receipt.get("txId").asText())) {
        problems.add("txId is not SHA-256 of the transaction bytes");
      }
      Block block = Block.fromJson(receipt.get("treeHead"));
      checkSigned(block, trustedNodeKeys, problems);
      JsonNode proof = receipt.get("inclusionProof");
      long size = proof.get("treeSize").asLong();
      if (size != block.header().logSize()) {
        problems.add("proof is for tree size " + size + " but the header has log size "
            + block.header().logSize());
      }
      if (!MerkleVerifier.verifyInclusion(MerkleHash.leaf(tx), proof.get("leafIndex").asLong(),
          size, hashes(proof.get("hashes")), block.header().logRoot())) {
        problems.add("inclusion proof does not lead to the header's log root");
      }
    } catch (RuntimeException e) {
      problems.add("receipt is malformed: " + e.getMessage());
    }
    return problems;
  }

  /** Checks {@code {"first": block, "second": block, "hashes": [...]}}. */
  public static List<String> consistency(JsonNode c, Collection<byte[]> trustedNodeKeys) {
    List<String> problems = new ArrayList<>();
    try {
      Block first = Block.fromJson(c.get("first"));
      Block second = Block.fromJson(c.get("second"));
      checkSigned(first, trustedNodeKeys, problems);
      checkSigned(second, trustedNodeKeys, problems);
      if (!MerkleVerifier.verifyConsistency(first.header().logSize(), second.header().logSize(),
          first.header().logRoot(), second.header().logRoot(), hashes(c.get("hashes")))) {
        problems.add("consistency proof does not join the two log roots");
      }
    } catch (RuntimeException e) {
      problems.add("consistency proof is malformed: " + e.getMessage());
    }
    return problems;
  }

  private static void checkSigned(Block block, Collection<byte[]> keys, List<String> problems) {
    for (byte[] k : keys) {
      if (block.signedBy(k)) {
        return;
      }
    }
    problems.add("block " + block.header().height() + " is not signed by a trusted node key");
  }

  private static List<byte[]> hashes(JsonNode arr) {
    List<byte[]> out = new ArrayList<>();
    for (JsonNode h : arr) {
      out.add(Codec.unhex(h.asText(), 32, "proof hash"));
    }
    return out;
  }
}
