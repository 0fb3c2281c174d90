package org.careledger.core.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Codec;
import org.careledger.core.json.CanonicalJson;

/**
 * The membership records kept in ledger state, and their keys: {@code org/<id>},
 * {@code identity/<id>}, {@code key/<keyId>}, {@code nonce/<keyId>/<nonce>}.
 */
public final class Membership {
  public static final String ACTIVE = "active";
  public static final String ROTATED = "rotated";
  public static final String REVOKED = "revoked";

  private Membership() {}

  /** The status of an organization that left the network. */
  public static final String REMOVED = "removed";

  /**
   * An organization of the network; {@code statusOrNull} is null while it is a member (so the
   * genesis's entries never carry a status) and {@link #REMOVED} once it has left.
   */
  public record Organization(String id, String name, String statusOrNull) {
    public Organization(String id, String name) {
      this(id, name, null);
    }

    public boolean member() {
      return statusOrNull == null;
    }

    ObjectNode toJson() {
      ObjectNode o = CanonicalJson.object();
      o.put("id", id);
      o.put("name", name);
      if (statusOrNull != null) {
        o.put("status", statusOrNull);
      }
      return o;
    }
  }

  /** A registered identity: a person, service or node of one organization. */
  public record Identity(String id, String org, Role role, String keyId, String status,
      String displayName, String address) {
    public boolean active() {
      return ACTIVE.equals(status);
    }

    public ObjectNode toJson() {
      ObjectNode o = CanonicalJson.object();
      o.put("id", id);
      o.put("org", org);
      o.put("role", role.wireName());
      o.put("keyId", keyId);
      o.put("status", status);
      if (displayName != null) {
        o.put("displayName", displayName);
      }
      if (address != null) {
        o.put("address", address);
      }
      return o;
    }
  }

  /** A public key and the identity it belongs to. */
  public record KeyRecord(String keyId, String identity, byte[] publicKey, String status) {
    public boolean active() {
      return ACTIVE.equals(status);
    }

    public ObjectNode toJson() {
      ObjectNode o = CanonicalJson.object();
      o.put("keyId", keyId);
      o.put("identity", identity);
      o.put("publicKey", Codec.b64(publicKey));
      o.put("status", status);
      return o;
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof KeyRecord k && keyId.equals(k.keyId) && identity.equals(k.identity)
          && Arrays.equals(publicKey, k.publicKey) && status.equals(k.status);
    }

    @Override
    public int hashCode() {
      return keyId.hashCode();
    }
  }

  public static String orgKey(String id) {
    return "org/" + id;
  }

  public static String identityKey(String id) {
    return "identity/" + id;
  }

  public static String keyKey(String keyId) {
    return "key/" + keyId;
  }

  public static String nonceKey(String keyId, String nonce) {
    return "nonce/" + keyId + "/" + nonce;
  }

  public static Organization organization(StateView s, String id) {
    JsonNode n = read(s, orgKey(id));
    return n == null ? null : new Organization(n.get("id").textValue(), n.get("name").textValue(),
        n.has("status") ? n.get("status").textValue() : null);
  }

  /** True if {@code org} names an organization that has left the network. */
  public static boolean removedOrg(StateView s, String org) {
    if (org == null || org.isEmpty()) {
      return false;
    }
    Organization o = organization(s, org);
    return o != null && !o.member();
  }

  public static Identity identity(StateView s, String id) {
    JsonNode n = read(s, identityKey(id));
    if (n == null) {
      return null;
    }
    return new Identity(n.get("id").textValue(), n.get("org").textValue(),
        Role.fromWire(n.get("role").textValue()), n.get("keyId").textValue(),
        n.get("status").textValue(),
        n.has("displayName") ? n.get("displayName").textValue() : null,
        n.has("address") ? n.get("address").textValue() : null);
  }

  public static KeyRecord key(StateView s, String keyId) {
    JsonNode n = read(s, keyKey(keyId));
    if (n == null) {
      return null;
    }
    return new KeyRecord(n.get("keyId").textValue(), n.get("identity").textValue(),
        Codec.unb64(n.get("publicKey").textValue()), n.get("status").textValue());
  }

  static void put(StateOverlay o, Organization org) {
    o.put(orgKey(org.id()), CanonicalJson.canonicalize(org.toJson()));
  }

  static void put(StateOverlay o, Identity i) {
    o.put(identityKey(i.id()), CanonicalJson.canonicalize(i.toJson()));
  }

  static void put(StateOverlay o, KeyRecord k) {
    o.put(keyKey(k.keyId()), CanonicalJson.canonicalize(k.toJson()));
  }

  private static JsonNode read(StateView s, String key) {
    return readJson(s, key);
  }

  /** A state entry parsed as JSON, or null; a damaged entry is an IllegalStateException. */
  static JsonNode readJson(StateView s, String key) {
    byte[] b = s.getOrNull(key);
    if (b == null) {
      return null;
    }
    try {
      return CanonicalJson.parse(b);
    } catch (CanonicalJson.InvalidJsonException e) {
      throw new IllegalStateException("state entry " + key + " is not valid JSON", e);
    }
  }
}
