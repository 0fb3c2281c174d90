package org.careledger.node.access;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.contract.Role;
import org.careledger.core.ledger.Consents;
import org.careledger.core.ledger.Membership;
import org.careledger.core.ledger.Patients;
import org.careledger.core.ledger.StateView;
import org.careledger.core.ledger.TxResult;
import org.careledger.core.crypto.Codec;
import org.careledger.node.LedgerService;
import org.careledger.node.auth.TokenService;
import org.careledger.node.fhir.RecordStore;
import org.careledger.node.store.LedgerStore;

/**
 * The one gatekeeper of every path that releases PHI. It decides per record, from the consent
 * state at the latest block and this organization's treating-relationship rule; records every
 * decision, allowed or refused, as an {@code access.log} transaction; waits for it to commit;
 * and only then tells the caller which records it may release.
 *
 * <p>The rules, in order: a patient reads their own records ({@code self}); identities of the
 * custodian organization whose role is a treating role read for TREAT, ETREAT or HOPERAT
 * ({@code treating-relationship}); anyone named by an active, current grant of the patient
 * whose purposes, scope and exclusions cover the record ({@code consent:<grant>}); a
 * practitioner who gives a reason for purpose ETREAT ({@code break-glass}, flagged). Anything
 * else is refused. There is no cache: each decision reads the state as it is.
 */
public final class Gatekeeper {
  /** The purposes the treating-relationship rule covers. */
  public static final Set<String> TREATING_PURPOSES = Set.of("TREAT", "ETREAT", "HOPERAT");

  /** Who asks, for which purpose, and the break-glass reason if any. */
  public record Caller(TokenService.Session sessionOrNull, String purpose,
      String breakGlassReasonOrNull) {
    public String accessor() {
      return sessionOrNull == null ? "anonymous" : sessionOrNull.identity();
    }

    public String org() {
      return sessionOrNull == null ? "" : sessionOrNull.org();
    }
  }

  /** A record held by this node: pseudonym, type, patient pseudonym and tag pseudonyms. */
  public record Target(String rec, String type, String patient, List<String> tags) {}

  /** A decision about one record. */
  public record Decision(boolean allowed, String basis, boolean breakGlass) {
    static final Decision DENY = new Decision(false, "no-consent", false);
  }

  /** The caller may not have what they asked for; the refusal is on the ledger. */
  public static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;
    private final String txId;

    Refused(String message, String txId) {
      super(message, null, false, false);
      this.txId = txId;
    }

    /** The access event that recorded the refusal. */
    public String txId() {
      return txId;
    }
  }

  /** The outcome of {@link #admit}: the allowed targets and the event's transaction. */
  public record Admitted(List<Target> allowed, int refused, String txIdOrNull,
      List<String> bases) {}

  private final LedgerService ledger;
  private final RecordStore records;
  private final String org;
  private final Set<Role> treatingRoles;
  private final boolean audit;
  private final Function<String, String> tagPseudonym;

  public Gatekeeper(LedgerService ledger, RecordStore records, String org,
      Set<Role> treatingRoles, boolean audit) {
    this.ledger = ledger;
    this.records = records;
    this.org = org;
    this.treatingRoles = Set.copyOf(treatingRoles);
    this.audit = audit;
    this.tagPseudonym = records::tagPseudonym;
  }

  public String org() {
    return org;
  }

  public boolean auditing() {
    return audit;
  }

  /**
   * The caller of a request: the session (null when unauthenticated), the purpose of use (from
   * the request, or the role's default) and the break-glass reason. Throws
   * IllegalArgumentException, with a message safe to return, for an unknown purpose.
   */
  public static Caller caller(TokenService.Session sessionOrNull, String purposeOrNull,
      String breakGlassReasonOrNull) {
    String reason = breakGlassReasonOrNull == null || breakGlassReasonOrNull.isBlank() ? null
        : breakGlassReasonOrNull.strip();
    if (reason != null && !reason.matches("[\\x20-\\x7e]{1,200}")) {
      throw new IllegalArgumentException(
          "the break-glass reason must be printable text of at most 200 characters");
    }
    String purpose = purposeOrNull == null || purposeOrNull.isBlank() ? null
        : purposeOrNull.strip();
    if (purpose == null) {
      purpose = reason != null ? "ETREAT" : defaultPurpose(sessionOrNull);
    } else if (!CommandCodec.PURPOSES.contains(purpose)) {
      throw new IllegalArgumentException("unknown purpose of use '" + purpose
          + "'; expected one of " + new java.util.TreeSet<>(CommandCodec.PURPOSES));
    }
    if (reason != null && !purpose.equals("ETREAT")) {
      throw new IllegalArgumentException("break-glass access is for purpose ETREAT only");
    }
    return new Caller(sessionOrNull, purpose, reason);
  }

  private static String defaultPurpose(TokenService.Session s) {
    if (s == null) {
      return "";
    }
    return switch (s.role()) {
      case PATIENT -> "PATRQT";
      case PRACTITIONER -> "TREAT";
      case SERVICE -> "HOPERAT";
      case INSURER -> "HPAYMT";
      case RESEARCHER -> "HRESCH";
      default -> "";
    };
  }

  /** Decides about one record held by this organization, at the latest state. */
  public Decision decide(Caller c, Target t, long now) {
    return decide(c, t, now, ledger.store().state(), new HashMap<>());
  }

  private Decision decide(Caller c, Target t, long now, StateView state,
      Map<String, List<JsonNode>> grantsByPatient) {
    TokenService.Session s = c.sessionOrNull();
    if (s == null) {
      return new Decision(false, "unauthenticated", false);
    }
    String owner = t.patient().isEmpty() ? null : Patients.owner(state, org, t.patient());
    if (s.role() == Role.PATIENT) {
      return s.identity().equals(owner) ? new Decision(true, "self", false) : Decision.DENY;
    }
    if (org.equals(s.org()) && treatingRoles.contains(s.role())
        && TREATING_PURPOSES.contains(c.purpose())) {
      return new Decision(true, "treating-relationship", false);
    }
    if (owner != null) {
      List<JsonNode> grants = grantsByPatient.computeIfAbsent(owner, p -> Consents.grants(
          (prefix, v) -> ledger.store().scanState(prefix, v), p));
      for (JsonNode g : grants) {
        if (covers(g, c, s, t, now)) {
          return new Decision(true, "consent:" + g.get("id").textValue(), false);
        }
      }
    }
    if (c.breakGlassReasonOrNull() != null && s.role() == Role.PRACTITIONER
        && "ETREAT".equals(c.purpose())) {
      return new Decision(true, "break-glass", true);
    }
    return Decision.DENY;
  }

  private boolean covers(JsonNode g, Caller c, TokenService.Session s, Target t, long now) {
    if (!Consents.ACTIVE.equals(g.get("status").textValue())
        || now < g.get("start").asLong() || now > g.get("end").asLong()
        || !contains(g.get("purposes"), c.purpose())) {
      return false;
    }
    String grantee = g.get("grantee").textValue();
    boolean who = grantee.equals("identity:" + s.identity()) || grantee.equals("org:" + s.org())
        || grantee.equals("role:" + s.role().wireName() + "@" + s.org());
    if (!who) {
      return false;
    }
    boolean scope = contains(g.get("types"), "*") || contains(g.get("types"), t.type())
        || contains(g.get("records"), t.rec());
    if (!scope) {
      return false;
    }
    JsonNode exclude = g.get("exclude");
    if (exclude != null) {
      for (JsonNode code : exclude) {
        if (t.tags().contains(tagPseudonym.apply(code.textValue()))) {
          return false;
        }
      }
    }
    return true;
  }

  private static boolean contains(JsonNode arr, String value) {
    if (arr == null) {
      return false;
    }
    for (JsonNode v : arr) {
      if (v.textValue().equals(value)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Decides about each target, records every decision on the ledger and waits for that to
   * commit. Returns what may be released; with {@code allOrNothing} (a single record), a
   * refusal throws {@link Refused} after it is recorded.
   */
  public Admitted admit(Caller c, String action, List<Target> targets, boolean allOrNothing)
      throws Refused, RecordStore.StoreException {
    long now = System.currentTimeMillis();
    StateView state = ledger.store().state();
    Map<String, List<JsonNode>> grants = new HashMap<>();
    // group decisions by (patient, decision, basis): one event each
    Map<List<Object>, List<Target>> groups = new LinkedHashMap<>();
    List<Target> allowed = new ArrayList<>();
    java.util.Set<String> bases = new java.util.TreeSet<>();
    int refused = 0;
    for (Target t : targets) {
      Decision d = decide(c, t, now, state, grants);
      groups.computeIfAbsent(List.of(t.patient(), d.allowed(), d.basis(), d.breakGlass()),
          k -> new ArrayList<>()).add(t);
      if (d.allowed()) {
        allowed.add(t);
        bases.add(d.basis());
      } else {
        refused++;
      }
    }
    if (targets.isEmpty()) {
      groups.put(List.of("", true, "no-match", false), List.of());
    }
    String txId = audit ? record(c, action, groups) : null;
    if (allOrNothing && refused > 0) {
      throw new Refused(c.sessionOrNull() == null ? "authentication is required"
          : "access refused: no consent or rule allows " + c.accessor() + " to "
              + action + " this record for purpose " + c.purpose(), txId);
    }
    return new Admitted(allowed, refused, txId, List.copyOf(bases));
  }

  private String record(Caller c, String action, Map<List<Object>, List<Target>> groups)
      throws RecordStore.StoreException {
    List<Command.AccessEvent> events = new ArrayList<>();
    for (Map.Entry<List<Object>, List<Target>> e : groups.entrySet()) {
      List<Object> k = e.getKey();
      List<String> recs = e.getValue().stream().map(Target::rec).distinct().toList();
      List<String> types = e.getValue().stream().map(Target::type).distinct().sorted().toList();
      for (int from = 0; from < Math.max(1, recs.size());
          from += CommandCodec.MAX_RECORDS_PER_TX) {
        events.add(new Command.AccessEvent((String) k.get(0), org,
            recs.subList(from, Math.min(recs.size(), from + CommandCodec.MAX_RECORDS_PER_TX)),
            types.size() > 100 ? types.subList(0, 100) : types,
            (Boolean) k.get(1) ? "allow" : "deny", (String) k.get(2), (Boolean) k.get(3)));
      }
    }
    // one transaction per up to 1000 events and about 256 KiB of them: a search over tens of
    // thousands of records is recorded in several, each committed before anything is released
    String reason = c.breakGlassReasonOrNull() == null ? "" : c.breakGlassReasonOrNull();
    List<Command.AccessEvent> chunk = new ArrayList<>();
    long bytes = 0;
    for (Command.AccessEvent e : events) {
      long b = encodedSize(e);
      if (!chunk.isEmpty() && (chunk.size() == 1000 || bytes + b > EVENT_BYTES_PER_TX)) {
        commitAccess(c, action, reason, chunk);
        chunk = new ArrayList<>();
        bytes = 0;
      }
      chunk.add(e);
      bytes += b;
    }
    // the answer names the last of them
    return commitAccess(c, action, reason, chunk);
  }

  /**
   * The access events one transaction carries at most, in bytes of their JSON: a full event
   * ({@link CommandCodec#MAX_RECORDS_PER_TX} records and 100 types) fits alone, and the signed
   * transaction stays well under {@link org.careledger.core.tx.TxCodec#MAX_TX_BYTES}.
   */
  static final long EVENT_BYTES_PER_TX = 256 * 1024;

  /** About how many bytes an event takes in a transaction's JSON (never less). */
  static long encodedSize(Command.AccessEvent e) {
    long n = 160 + e.patient().length() + e.custodian().length() + e.basis().length();
    for (String r : e.records()) {
      n += r.length() + 3;
    }
    for (String t : e.types()) {
      n += t.length() + 3;
    }
    return n;
  }

  private String commitAccess(Caller c, String action, String reason,
      List<Command.AccessEvent> events) throws RecordStore.StoreException {
    Command.LogAccess log = new Command.LogAccess(c.accessor(), c.org(), action, c.purpose(),
        reason, events);
    LedgerService.Outcome o = records.commit(log, List.<LedgerStore.Write>of());
    return Codec.hex(((TxResult.Committed) o.result()).txId());
  }

  /** Writes need an identity of the custodian organization: admin, practitioner or service. */
  public static boolean mayWrite(TokenService.Session s, String org) {
    return s != null && org.equals(s.org())
        && (s.role() == Role.ADMIN || s.role() == Role.PRACTITIONER || s.role() == Role.SERVICE);
  }

  /** Erasure by an operator needs an admin of the custodian organization. */
  public static boolean mayErase(TokenService.Session s, String org) {
    return s != null && org.equals(s.org()) && s.role() == Role.ADMIN;
  }

  /** The patient identity of a session, with its organization links, or null. */
  public static Membership.Identity patientOf(TokenService.Session s, StateView state) {
    if (s == null || s.role() != Role.PATIENT) {
      return null;
    }
    return Membership.identity(state, s.identity());
  }
}
