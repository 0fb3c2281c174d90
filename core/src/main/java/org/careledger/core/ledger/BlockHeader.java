package org.careledger.core.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.json.CanonicalJson;

/**
 * A block header. Its canonical JSON form is what nodes sign and what {@link #hash()} covers:
 * {@code {"chain","height","prev","logSize","logRoot","stateWrites","time","proposer","txCount"}},
 * hashes in lower-case hex.
 */
public record BlockHeader(String chain, long height, byte[] prev, long logSize, byte[] logRoot,
    byte[] stateWrites, long time, String proposer, int txCount) {

  public BlockHeader {
    if (height < 0 || logSize < 0 || txCount < 0) {
      throw new IllegalArgumentException("negative height, log size or tx count");
    }
    if (prev.length != 32 || logRoot.length != 32 || stateWrites.length != 32) {
      throw new IllegalArgumentException("header hashes must have 32 bytes");
    }
  }

  public ObjectNode toJson() {
    ObjectNode o = CanonicalJson.object();
    o.put("chain", chain);
    o.put("height", height);
    o.put("prev", Codec.hex(prev));
    o.put("logSize", logSize);
    o.put("logRoot", Codec.hex(logRoot));
    o.put("stateWrites", Codec.hex(stateWrites));
    o.put("time", time);
    o.put("proposer", proposer);
    o.put("txCount", txCount);
    return o;
  }

  /** The exact bytes that are signed and hashed. */
  public byte[] canonicalBytes() {
    return CanonicalJson.canonicalize(toJson());
  }

  public byte[] hash() {
    return Sha256.hash(canonicalBytes());
  }

  /** The first leaf index of this block's transactions. */
  public long firstLeaf() {
    return logSize - txCount;
  }

  public static BlockHeader fromJson(JsonNode n) {
    try {
      return new BlockHeader(n.get("chain").textValue(), n.get("height").longValue(),
          Codec.unhex(n.get("prev").textValue(), 32, "prev"), n.get("logSize").longValue(),
          Codec.unhex(n.get("logRoot").textValue(), 32, "logRoot"),
          Codec.unhex(n.get("stateWrites").textValue(), 32, "stateWrites"),
          n.get("time").longValue(), n.get("proposer").textValue(), n.get("txCount").intValue());
    } catch (NullPointerException e) {
      throw new IllegalArgumentException("block header lacks a field");
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BlockHeader h && Arrays.equals(canonicalBytes(), h.canonicalBytes());
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(hash());
  }

  @Override
  public String toString() {
    return "BlockHeader[height=" + height + ", logSize=" + logSize + "]";
  }
}
