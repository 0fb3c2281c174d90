package org.careledger.core.contract;

import java.util.Locale;

/** The role of a registered identity. {@link #NODE} is held by the network's own nodes. */
public enum Role {
  ADMIN, PRACTITIONER, SERVICE, PATIENT, AUDITOR, INSURER, RESEARCHER, MANUFACTURER,
  DISTRIBUTOR, PHARMACY, NODE;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a wire name; throws IllegalArgumentException naming the accepted values. */
  public static Role fromWire(String s) {
    for (Role r : values()) {
      if (r.wireName().equals(s)) {
        return r;
      }
    }
    throw new IllegalArgumentException("unknown role '" + s + "'; expected one of "
        + java.util.Arrays.stream(values()).map(Role::wireName).toList());
  }
}
