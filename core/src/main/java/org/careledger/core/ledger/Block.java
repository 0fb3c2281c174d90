package org.careledger.core.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.json.CanonicalJson;

/** A header with the node signatures over its canonical bytes. */
public record Block(BlockHeader header, List<Signature> signatures) {
  public Block {
    signatures = List.copyOf(signatures);
  }

  /** An Ed25519 signature by the node key with id {@code keyId}. */
  public record Signature(String keyId, byte[] sig) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Signature s && keyId.equals(s.keyId) && Arrays.equals(sig, s.sig);
    }

    @Override
    public int hashCode() {
      return keyId.hashCode();
    }
  }

  public static Block sign(BlockHeader header, Ed25519.KeyPair nodeKey) {
    return new Block(header,
        List.of(new Signature(nodeKey.keyId(), nodeKey.sign(header.canonicalBytes()))));
  }

  public ObjectNode toJson() {
    ObjectNode o = CanonicalJson.object();
    o.set("header", header.toJson());
    ArrayNode sigs = o.putArray("signatures");
    for (Signature s : signatures) {
      ObjectNode so = sigs.addObject();
      so.put("keyId", s.keyId());
      so.put("sig", Codec.b64(s.sig()));
    }
    return o;
  }

  public byte[] canonicalBytes() {
    return CanonicalJson.canonicalize(toJson());
  }

  public static Block fromJson(JsonNode n) {
    if (n == null || !n.has("header") || !n.has("signatures")) {
      throw new IllegalArgumentException("a block needs 'header' and 'signatures'");
    }
    List<Signature> sigs = new ArrayList<>();
    for (JsonNode s : n.get("signatures")) {
      sigs.add(new Signature(s.get("keyId").textValue(), Codec.unb64(s.get("sig").textValue())));
    }
    return new Block(BlockHeader.fromJson(n.get("header")), sigs);
  }

  /** True if some signature is by {@code publicKey} and verifies over the header. */
  public boolean signedBy(byte[] publicKey) {
    String kid = Ed25519.keyId(publicKey);
    byte[] msg = header.canonicalBytes();
    for (Signature s : signatures) {
      if (s.keyId().equals(kid) && Ed25519.verify(publicKey, msg, s.sig())) {
        return true;
      }
    }
    return false;
  }
}
