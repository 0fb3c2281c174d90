package org.careledger.core.crypto;

import java.util.Base64;
import java.util.HexFormat;

/** Text encodings used on the wire: lower-case hex and unpadded base64url. */
public final class Codec {
  private static final HexFormat HEX = HexFormat.of();

  private Codec() {}

  public static String hex(byte[] bytes) {
    return HEX.formatHex(bytes);
  }

  /** Decodes lower- or upper-case hex; throws IllegalArgumentException on anything else. */
  public static byte[] unhex(String s) {
    if (s == null || (s.length() & 1) != 0) {
      throw new IllegalArgumentException("hex string must have an even length");
    }
    return HEX.parseHex(s);
  }

  public static String b64(byte[] bytes) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  /**
   * Decodes unpadded base64url in its one canonical form; throws IllegalArgumentException on
   * anything else. The unused low bits of the last character must be zero: otherwise the same
   * bytes would have several encodings, and a signed transaction several ids.
   */
  public static byte[] unb64(String s) {
    if (s == null || s.indexOf('=') >= 0) {
      throw new IllegalArgumentException("expected unpadded base64url");
    }
    byte[] b = Base64.getUrlDecoder().decode(s);
    if (!b64(b).equals(s)) {
      throw new IllegalArgumentException("base64url is not in canonical form");
    }
    return b;
  }

  /** Decodes a hex string that must decode to exactly {@code length} bytes. */
  public static byte[] unhex(String s, int length, String what) {
    byte[] b;
    try {
      b = unhex(s);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + " is not hex");
    }
    if (b.length != length) {
      throw new IllegalArgumentException(
          String.format("%s has %d bytes; %d are required", what, b.length, length));
    }
    return b;
  }
}
