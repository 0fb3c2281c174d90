package org.careledger.core.contract;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.json.CanonicalJson;
import org.careledger.core.tx.Refusal;

/** Maps commands to and from their JSON form {@code {"type": ..., ...}}, per contract. */
public final class CommandCodec {
  public static final String MEMBERSHIP = "membership";
  public static final String NOTARY = "notary";
  public static final String GENESIS = "genesis";
  public static final String RECORDS = "records";
  public static final String PATIENTS = "patients";
  public static final String CONSENT = "consent";
  public static final String ACCESS = "access";
  public static final String NETWORK = "network";
  /** The FHIR v3 PurposeOfUse codes a grant or an access may name. */
  public static final Set<String> PURPOSES =
      Set.of("TREAT", "ETREAT", "HPAYMT", "HOPERAT", "HRESCH", "PATRQT", "PUBHLTH");
  /** What an access event says was asked for. */
  public static final Set<String> ACTIONS = Set.of("read", "vread", "search", "history",
      "everything", "proof", "export", "share", "events");
  /** An enrollment code: six groups of four base32 letters, 120 random bits. */
  public static final Pattern ENROLLMENT_CODE = Pattern.compile("[A-Z2-7]{4}(-[A-Z2-7]{4}){5}");
  private static final Pattern GRANTEE =
      Pattern.compile("(identity|org):[a-z0-9][a-z0-9._-]{0,63}"
          + "|role:[a-z]{1,32}@[a-z0-9][a-z0-9._-]{0,63}");
  private static final Pattern EXCLUDE_CODE = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  private static final int MAX_SCOPE = 100;
  private static final int MAX_EVENTS = 1000;
  /** Most record versions one commit may anchor. */
  public static final int MAX_RECORDS_PER_TX = 5000;

  private static final Pattern PSEUDONYM = Pattern.compile("[0-9a-f]{32}");
  private static final Pattern RESOURCE_TYPE = Pattern.compile("[A-Z][A-Za-z]{1,63}");

  private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");
  private static final Pattern LABEL = Pattern.compile("[\\x20-\\x7e]{0,200}");

  private CommandCodec() {}

  /** A command that cannot be decoded; carries the refusal to report. */
  public static final class CommandException extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient Refusal refusal;

    CommandException(Refusal.Reason reason, String detail) {
      super(detail);
      this.refusal = Refusal.of(reason, detail);
    }

    public Refusal refusal() {
      return refusal;
    }
  }

  public static Command decode(String contract, JsonNode cmd) throws CommandException {
    JsonNode type = cmd.get("type");
    if (type == null || !type.isTextual()) {
      throw new CommandException(Refusal.Reason.MALFORMED, "command lacks a string 'type'");
    }
    String t = type.textValue();
    try {
      return switch (contract) {
        case MEMBERSHIP -> switch (t) {
          case "register" -> {
            fields(cmd, Set.of("type", "id", "role", "publicKey"), Set.of("displayName"));
            yield new Command.Register(id(cmd, "id"), role(cmd), publicKey(cmd, "publicKey"),
                cmd.has("displayName") ? label(cmd, "displayName") : null);
          }
          case "rotate" -> {
            fields(cmd, Set.of("type", "id", "publicKey"), Set.of());
            yield new Command.Rotate(id(cmd, "id"), publicKey(cmd, "publicKey"));
          }
          case "revoke" -> {
            fields(cmd, Set.of("type", "id", "reason"), Set.of());
            yield new Command.Revoke(id(cmd, "id"), label(cmd, "reason"));
          }
          default -> throw unknownCommand(contract, t);
        };
        case NOTARY -> switch (t) {
          case "anchor" -> {
            fields(cmd, Set.of("type", "digest", "label"), Set.of());
            yield new Command.Anchor(digest(cmd), label(cmd, "label"));
          }
          default -> throw unknownCommand(contract, t);
        };
        case RECORDS -> switch (t) {
          case "commit" -> {
            fields(cmd, Set.of("type", "submitter", "versions"), Set.of());
            yield new Command.CommitRecords(id(cmd, "submitter"), versions(cmd.get("versions")));
          }
          case "erase" -> {
            fields(cmd, Set.of("type", "requestedBy", "legalBasis", "records"), Set.of());
            yield new Command.EraseRecords(id(cmd, "requestedBy"), label(cmd, "legalBasis"),
                pseudonyms(cmd.get("records")));
          }
          default -> throw unknownCommand(contract, t);
        };
        case PATIENTS -> switch (t) {
          case "offer" -> {
            fields(cmd, Set.of("type", "codeHash", "patient", "expires", "offeredBy"),
                Set.of("recover"));
            yield new Command.OfferEnrollment(Codec.unhex(text(cmd, "codeHash",
                Pattern.compile("[0-9a-f]{64}")), 32, "codeHash"), pseudonym(cmd.get("patient")),
                positive(cmd, "expires"), id(cmd, "offeredBy"),
                cmd.has("recover") ? id(cmd, "recover") : null);
          }
          case "enroll" -> {
            fields(cmd, Set.of("type", "code", "id", "publicKey"), Set.of());
            yield new Command.Enroll(text(cmd, "code", ENROLLMENT_CODE), id(cmd, "id"),
                publicKey(cmd, "publicKey"));
          }
          case "request-erasure" -> {
            fields(cmd, Set.of("type", "org", "legalBasis"), Set.of());
            yield new Command.RequestErasure(id(cmd, "org"), label(cmd, "legalBasis"));
          }
          case "contribute" -> {
            fields(cmd, Set.of("type", "org", "record", "resourceType", "commitment"), Set.of());
            yield new Command.Contribute(id(cmd, "org"), pseudonym(cmd.get("record")),
                text(cmd, "resourceType", RESOURCE_TYPE), Codec.unhex(text(cmd, "commitment",
                    Pattern.compile("[0-9a-f]{64}")), 32, "commitment"));
          }
          default -> throw unknownCommand(contract, t);
        };
        case CONSENT -> switch (t) {
          case "grant" -> {
            fields(cmd, Set.of("type", "id", "grantee", "purposes", "start", "end"),
                Set.of("types", "records", "exclude"));
            List<String> types = cmd.has("types") ? strings(cmd.get("types"), "types",
                Pattern.compile("\\*|[A-Z][A-Za-z]{1,63}"), 0, MAX_SCOPE) : List.of();
            List<String> records = cmd.has("records") ? strings(cmd.get("records"), "records",
                PSEUDONYM, 0, MAX_SCOPE) : List.of();
            if (types.isEmpty() && records.isEmpty()) {
              throw new IllegalArgumentException("a grant's scope needs types or records");
            }
            List<String> purposes = purposes(cmd);
            long start = positive(cmd, "start");
            long end = positive(cmd, "end");
            if (end <= start) {
              throw new IllegalArgumentException("a grant's end must be after its start");
            }
            yield new Command.Grant(pseudonym(cmd.get("id")), text(cmd, "grantee", GRANTEE),
                types, records, purposes, start, end, cmd.has("exclude")
                    ? strings(cmd.get("exclude"), "exclude", EXCLUDE_CODE, 0, MAX_SCOPE)
                    : List.of());
          }
          case "revoke" -> {
            fields(cmd, Set.of("type", "id"), Set.of());
            yield new Command.RevokeGrant(pseudonym(cmd.get("id")));
          }
          case "request" -> {
            fields(cmd, Set.of("type", "id", "org", "patient", "purposes", "types", "end",
                "reason"), Set.of());
            yield new Command.RequestAccess(pseudonym(cmd.get("id")), id(cmd, "org"),
                pseudonym(cmd.get("patient")), purposes(cmd), strings(cmd.get("types"), "types",
                    Pattern.compile("\\*|[A-Z][A-Za-z]{1,63}"), 1, MAX_SCOPE),
                positive(cmd, "end"), label(cmd, "reason"));
          }
          case "decline" -> {
            fields(cmd, Set.of("type", "id"), Set.of());
            yield new Command.DeclineRequest(pseudonym(cmd.get("id")));
          }
          default -> throw unknownCommand(contract, t);
        };
        case ACCESS -> switch (t) {
          case "log" -> {
            fields(cmd, Set.of("type", "accessor", "accessorOrg", "action", "purpose", "reason",
                "events"), Set.of());
            String action = text(cmd, "action", Pattern.compile("[a-z]{1,16}"));
            if (!ACTIONS.contains(action)) {
              throw new IllegalArgumentException("unknown action '" + action + "'");
            }
            String purpose = text(cmd, "purpose", Pattern.compile("[A-Z]{0,16}"));
            if (!purpose.isEmpty() && !PURPOSES.contains(purpose)) {
              throw new IllegalArgumentException("unknown purpose of use '" + purpose + "'");
            }
            yield new Command.LogAccess(id(cmd, "accessor"), optionalId(cmd, "accessorOrg"),
                action, purpose, label(cmd, "reason"), events(cmd.get("events")));
          }
          default -> throw unknownCommand(contract, t);
        };
        case NETWORK -> switch (t) {
          case "propose-add" -> {
            fields(cmd, Set.of("type", "id", "org", "reason"), Set.of());
            yield new Command.ProposeAddOrg(id(cmd, "id"), orgSpec(cmd.get("org")),
                label(cmd, "reason"));
          }
          case "propose-remove" -> {
            fields(cmd, Set.of("type", "id", "org", "reason"), Set.of());
            yield new Command.ProposeRemoveOrg(id(cmd, "id"), id(cmd, "org"),
                label(cmd, "reason"));
          }
          case "propose-replace-node" -> {
            fields(cmd, Set.of("type", "id", "oldNode", "node", "reason"), Set.of());
            JsonNode node = cmd.get("node");
            if (node == null || !node.isObject()) {
              throw new IllegalArgumentException("node must be an object");
            }
            fields(node, Set.of("id", "publicKey", "address"), Set.of());
            yield new Command.ProposeReplaceNode(id(cmd, "id"), id(cmd, "oldNode"),
                id(node, "id"), publicKey(node, "publicKey"), label(node, "address"),
                label(cmd, "reason"));
          }
          case "approve" -> {
            fields(cmd, Set.of("type", "id"), Set.of());
            yield new Command.ApproveProposal(id(cmd, "id"));
          }
          default -> throw unknownCommand(contract, t);
        };
        case GENESIS -> switch (t) {
          case "genesis" -> {
            fields(cmd, Set.of("type", "organizations"), Set.of());
            yield genesis(cmd.get("organizations"));
          }
          default -> throw unknownCommand(contract, t);
        };
        default -> throw new CommandException(
            Refusal.Reason.UNKNOWN_CONTRACT, "no contract named '" + contract + "'");
      };
    } catch (IllegalArgumentException e) {
      throw new CommandException(Refusal.Reason.MALFORMED, e.getMessage());
    }
  }

  private static List<String> purposes(JsonNode cmd) {
    List<String> purposes = strings(cmd.get("purposes"), "purposes",
        Pattern.compile("[A-Z]{2,16}"), 1, PURPOSES.size());
    for (String p : purposes) {
      if (!PURPOSES.contains(p)) {
        throw new IllegalArgumentException("unknown purpose of use '" + p
            + "'; expected one of " + new java.util.TreeSet<>(PURPOSES));
      }
    }
    return purposes;
  }

  private static CommandException unknownCommand(String contract, String type) {
    return new CommandException(Refusal.Reason.UNKNOWN_COMMAND,
        "contract '" + contract + "' has no command '" + type + "'");
  }

  public static ObjectNode encode(Command c) {
    ObjectNode o = CanonicalJson.object();
    switch (c) {
      case Command.Register r -> {
        o.put("type", "register");
        o.put("id", r.id());
        o.put("role", r.role().wireName());
        o.put("publicKey", Codec.b64(r.publicKey()));
        if (r.displayName() != null) {
          o.put("displayName", r.displayName());
        }
      }
      case Command.Rotate r -> {
        o.put("type", "rotate");
        o.put("id", r.id());
        o.put("publicKey", Codec.b64(r.publicKey()));
      }
      case Command.Revoke r -> {
        o.put("type", "revoke");
        o.put("id", r.id());
        o.put("reason", r.reason());
      }
      case Command.Anchor a -> {
        o.put("type", "anchor");
        o.put("digest", Codec.hex(a.digest()));
        o.put("label", a.label());
      }
      case Command.CommitRecords cr -> {
        o.put("type", "commit");
        o.put("submitter", cr.submitter());
        ArrayNode vs = o.putArray("versions");
        for (Command.RecordVersion v : cr.versions()) {
          ObjectNode vo = vs.addObject();
          vo.put("record", v.record());
          vo.put("version", v.version());
          vo.put("resourceType", v.resourceType());
          vo.put("commitment", Codec.hex(v.commitment()));
          vo.put("patient", v.patient());
          vo.put("deleted", v.deleted());
        }
      }
      case Command.EraseRecords e -> {
        o.put("type", "erase");
        o.put("requestedBy", e.requestedBy());
        o.put("legalBasis", e.legalBasis());
        ArrayNode rs = o.putArray("records");
        e.records().forEach(rs::add);
      }
      case Command.OfferEnrollment e -> {
        o.put("type", "offer");
        o.put("codeHash", Codec.hex(e.codeHash()));
        o.put("patient", e.patient());
        o.put("expires", e.expires());
        o.put("offeredBy", e.offeredBy());
        if (e.recoverOrNull() != null) {
          o.put("recover", e.recoverOrNull());
        }
      }
      case Command.Enroll e -> {
        o.put("type", "enroll");
        o.put("code", e.code());
        o.put("id", e.id());
        o.put("publicKey", Codec.b64(e.publicKey()));
      }
      case Command.RequestErasure e -> {
        o.put("type", "request-erasure");
        o.put("org", e.org());
        o.put("legalBasis", e.legalBasis());
      }
      case Command.Contribute k -> {
        o.put("type", "contribute");
        o.put("org", k.org());
        o.put("record", k.record());
        o.put("resourceType", k.resourceType());
        o.put("commitment", Codec.hex(k.commitment()));
      }
      case Command.Grant g -> {
        o.put("type", "grant");
        o.put("id", g.id());
        o.put("grantee", g.grantee());
        if (!g.types().isEmpty()) {
          g.types().forEach(o.putArray("types")::add);
        }
        if (!g.records().isEmpty()) {
          g.records().forEach(o.putArray("records")::add);
        }
        g.purposes().forEach(o.putArray("purposes")::add);
        o.put("start", g.start());
        o.put("end", g.end());
        if (!g.exclude().isEmpty()) {
          g.exclude().forEach(o.putArray("exclude")::add);
        }
      }
      case Command.RevokeGrant r -> {
        o.put("type", "revoke");
        o.put("id", r.id());
      }
      case Command.RequestAccess r -> {
        o.put("type", "request");
        o.put("id", r.id());
        o.put("org", r.org());
        o.put("patient", r.patient());
        r.purposes().forEach(o.putArray("purposes")::add);
        r.types().forEach(o.putArray("types")::add);
        o.put("end", r.end());
        o.put("reason", r.reason());
      }
      case Command.DeclineRequest d -> {
        o.put("type", "decline");
        o.put("id", d.id());
      }
      case Command.LogAccess l -> {
        o.put("type", "log");
        o.put("accessor", l.accessor());
        o.put("accessorOrg", l.accessorOrg());
        o.put("action", l.action());
        o.put("purpose", l.purpose());
        o.put("reason", l.reason());
        ArrayNode es = o.putArray("events");
        for (Command.AccessEvent e : l.events()) {
          es.add(encodeEvent(e));
        }
      }
      case Command.ProposeAddOrg a -> {
        o.put("type", "propose-add");
        o.put("id", a.id());
        o.set("org", encodeOrg(a.org()));
        o.put("reason", a.reason());
      }
      case Command.ProposeRemoveOrg r -> {
        o.put("type", "propose-remove");
        o.put("id", r.id());
        o.put("org", r.org());
        o.put("reason", r.reason());
      }
      case Command.ProposeReplaceNode r -> {
        o.put("type", "propose-replace-node");
        o.put("id", r.id());
        o.put("oldNode", r.oldNode());
        ObjectNode node = o.putObject("node");
        node.put("id", r.nodeId());
        node.put("publicKey", Codec.b64(r.nodeKey()));
        node.put("address", r.nodeAddress());
        o.put("reason", r.reason());
      }
      case Command.ApproveProposal a -> {
        o.put("type", "approve");
        o.put("id", a.id());
      }
      case Command.Genesis g -> {
        o.put("type", "genesis");
        ArrayNode orgs = o.putArray("organizations");
        for (Command.OrgSpec s : g.organizations()) {
          orgs.add(encodeOrg(s));
        }
      }
    }
    return o;
  }

  /** The JSON form of an organization as the genesis and a join proposal name it. */
  public static ObjectNode encodeOrg(Command.OrgSpec s) {
    ObjectNode so = CanonicalJson.object();
    so.put("id", s.id());
    so.put("name", s.name());
    ObjectNode admin = so.putObject("admin");
    admin.put("id", s.adminId());
    admin.put("publicKey", Codec.b64(s.adminKey()));
    if (s.nodeId() != null) {
      ObjectNode node = so.putObject("node");
      node.put("id", s.nodeId());
      node.put("publicKey", Codec.b64(s.nodeKey()));
      node.put("address", s.nodeAddress());
    }
    return so;
  }

  /** The contract a command belongs to. */
  public static String contractOf(Command c) {
    return switch (c) {
      case Command.Membership m -> MEMBERSHIP;
      case Command.Notary n -> NOTARY;
      case Command.Records r -> RECORDS;
      case Command.Patients p -> PATIENTS;
      case Command.Consent k -> CONSENT;
      case Command.Access a -> ACCESS;
      case Command.Network n -> NETWORK;
      case Command.Genesis g -> GENESIS;
    };
  }

  private static Command.Genesis genesis(JsonNode orgs) {
    if (orgs == null || !orgs.isArray() || orgs.isEmpty()) {
      throw new IllegalArgumentException("organizations must be a non-empty array");
    }
    List<Command.OrgSpec> specs = new ArrayList<>();
    for (JsonNode o : orgs) {
      specs.add(orgSpec(o));
    }
    if (specs.get(0).nodeId() == null) {
      throw new IllegalArgumentException("the first organization must run a node");
    }
    return new Command.Genesis(List.copyOf(specs));
  }

  /** An organization in the form {@link #encodeOrg} writes. */
  public static Command.OrgSpec orgSpec(JsonNode o) {
    if (o == null || !o.isObject()) {
      throw new IllegalArgumentException("org must be an object");
    }
    fields(o, Set.of("id", "name", "admin"), Set.of("node"));
    JsonNode admin = o.get("admin");
    fields(admin, Set.of("id", "publicKey"), Set.of());
    JsonNode node = o.get("node");
    if (node != null) {
      fields(node, Set.of("id", "publicKey", "address"), Set.of());
    }
    return new Command.OrgSpec(id(o, "id"), label(o, "name"), id(admin, "id"),
        publicKey(admin, "publicKey"), node == null ? null : id(node, "id"),
        node == null ? null : publicKey(node, "publicKey"),
        node == null ? null : label(node, "address"));
  }

  private static List<Command.RecordVersion> versions(JsonNode arr) {
    if (arr == null || !arr.isArray() || arr.isEmpty() || arr.size() > MAX_RECORDS_PER_TX) {
      throw new IllegalArgumentException(
          "versions must be an array of 1 to " + MAX_RECORDS_PER_TX + " entries");
    }
    List<Command.RecordVersion> out = new ArrayList<>(arr.size());
    for (JsonNode v : arr) {
      fields(v, Set.of("record", "version", "resourceType", "commitment", "patient", "deleted"),
          Set.of());
      JsonNode version = v.get("version");
      JsonNode deleted = v.get("deleted");
      if (!version.isIntegralNumber() || version.longValue() < 1 || !deleted.isBoolean()) {
        throw new IllegalArgumentException("version must be a positive integer and deleted a"
            + " boolean");
      }
      String patient = v.get("patient").asText();
      if (!v.get("patient").isTextual()
          || !(patient.isEmpty() || PSEUDONYM.matcher(patient).matches())) {
        throw new IllegalArgumentException("patient must be a pseudonym or empty");
      }
      out.add(new Command.RecordVersion(pseudonym(v.get("record")), version.longValue(),
          text(v, "resourceType", RESOURCE_TYPE), Codec.unhex(text(v, "commitment",
              Pattern.compile("[0-9a-f]{64}")), 32, "commitment"), patient,
          deleted.booleanValue()));
    }
    return List.copyOf(out);
  }

  /** The JSON form of one access event (also what the access contract stores). */
  public static ObjectNode encodeEvent(Command.AccessEvent e) {
    ObjectNode eo = CanonicalJson.object();
    eo.put("patient", e.patient());
    eo.put("custodian", e.custodian());
    e.records().forEach(eo.putArray("records")::add);
    e.types().forEach(eo.putArray("types")::add);
    eo.put("decision", e.decision());
    eo.put("basis", e.basis());
    eo.put("breakGlass", e.breakGlass());
    return eo;
  }

  private static List<Command.AccessEvent> events(JsonNode arr) {
    if (arr == null || !arr.isArray() || arr.isEmpty() || arr.size() > MAX_EVENTS) {
      throw new IllegalArgumentException("events must be an array of 1 to " + MAX_EVENTS);
    }
    List<Command.AccessEvent> out = new ArrayList<>(arr.size());
    for (JsonNode e : arr) {
      fields(e, Set.of("patient", "custodian", "records", "types", "decision", "basis",
          "breakGlass"), Set.of());
      String patient = text(e, "patient", Pattern.compile("([0-9a-f]{32})?"));
      String decision = text(e, "decision", Pattern.compile("allow|deny"));
      if (!e.get("breakGlass").isBoolean()) {
        throw new IllegalArgumentException("breakGlass must be a boolean");
      }
      out.add(new Command.AccessEvent(patient, optionalId(e, "custodian"),
          strings(e.get("records"), "records", PSEUDONYM, 0, MAX_RECORDS_PER_TX),
          strings(e.get("types"), "types", RESOURCE_TYPE, 0, MAX_SCOPE), decision,
          text(e, "basis", Pattern.compile("[a-z-]{1,32}(:[0-9a-f]{32})?")),
          e.get("breakGlass").booleanValue()));
    }
    return List.copyOf(out);
  }

  private static List<String> strings(JsonNode arr, String f, Pattern p, int min, int max) {
    if (arr == null || !arr.isArray() || arr.size() < min || arr.size() > max) {
      throw new IllegalArgumentException(f + " must be an array of " + min + " to " + max
          + " strings");
    }
    List<String> out = new ArrayList<>(arr.size());
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (JsonNode v : arr) {
      if (!v.isTextual() || !p.matcher(v.textValue()).matches()) {
        throw new IllegalArgumentException(f + " entries must match " + p);
      }
      if (!seen.add(v.textValue())) {
        throw new IllegalArgumentException(f + " lists '" + v.textValue() + "' twice");
      }
      out.add(v.textValue());
    }
    return List.copyOf(out);
  }

  private static long positive(JsonNode n, String f) {
    JsonNode v = n.get(f);
    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() <= 0) {
      throw new IllegalArgumentException(f + " must be a positive integer");
    }
    return v.longValue();
  }

  private static String optionalId(JsonNode n, String f) {
    JsonNode v = n.get(f);
    if (v.isTextual() && v.textValue().isEmpty()) {
      return "";
    }
    return id(n, f);
  }

  private static List<String> pseudonyms(JsonNode arr) {
    if (arr == null || !arr.isArray() || arr.isEmpty() || arr.size() > MAX_RECORDS_PER_TX) {
      throw new IllegalArgumentException(
          "records must be an array of 1 to " + MAX_RECORDS_PER_TX + " record pseudonyms");
    }
    List<String> out = new ArrayList<>(arr.size());
    for (JsonNode r : arr) {
      out.add(pseudonym(r));
    }
    return List.copyOf(out);
  }

  private static String pseudonym(JsonNode n) {
    if (n == null || !n.isTextual() || !PSEUDONYM.matcher(n.textValue()).matches()) {
      throw new IllegalArgumentException("record must be a 32-hex-digit pseudonym");
    }
    return n.textValue();
  }

  private static String text(JsonNode n, String f, Pattern p) {
    JsonNode v = n.get(f);
    if (v == null || !v.isTextual() || !p.matcher(v.textValue()).matches()) {
      throw new IllegalArgumentException(f + " must match " + p);
    }
    return v.textValue();
  }

  private static void fields(JsonNode node, Set<String> required, Set<String> optional) {
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException("expected a JSON object");
    }
    for (String f : required) {
      if (!node.has(f)) {
        throw new IllegalArgumentException("command lacks the field '" + f + "'");
      }
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!required.contains(f) && !optional.contains(f)) {
        throw new IllegalArgumentException("command has an unknown field '" + f + "'");
      }
    }
  }

  private static String id(JsonNode n, String f) {
    JsonNode v = n.get(f);
    if (!v.isTextual() || !ID.matcher(v.textValue()).matches()) {
      throw new IllegalArgumentException(f + " must match " + ID);
    }
    return v.textValue();
  }

  private static String label(JsonNode n, String f) {
    JsonNode v = n.get(f);
    if (!v.isTextual() || !LABEL.matcher(v.textValue()).matches()) {
      throw new IllegalArgumentException(f + " must be printable ASCII of at most 200 characters");
    }
    return v.textValue();
  }

  private static Role role(JsonNode n) {
    JsonNode v = n.get("role");
    if (!v.isTextual()) {
      throw new IllegalArgumentException("role must be a string");
    }
    return Role.fromWire(v.textValue());
  }

  private static byte[] publicKey(JsonNode n, String f) {
    JsonNode v = n.get(f);
    byte[] k;
    try {
      k = v.isTextual() ? Codec.unb64(v.textValue()) : null;
    } catch (IllegalArgumentException e) {
      k = null;
    }
    if (k == null || k.length != Ed25519.PUBLIC_KEY_SIZE) {
      throw new IllegalArgumentException(f + " must be a 32-byte Ed25519 key in base64url");
    }
    return k;
  }

  private static byte[] digest(JsonNode n) {
    JsonNode v = n.get("digest");
    if (!v.isTextual()) {
      throw new IllegalArgumentException("digest must be a string");
    }
    return Codec.unhex(v.textValue(), 32, "digest");
  }
}
