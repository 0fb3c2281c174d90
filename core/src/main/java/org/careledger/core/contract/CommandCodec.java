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
      case Command.Genesis g -> {
        o.put("type", "genesis");
        ArrayNode orgs = o.putArray("organizations");
        for (Command.OrgSpec s : g.organizations()) {
          ObjectNode so = orgs.addObject();
          so.put("id", s.id());
          so.put("name", s.name());
          ObjectNode admin = so.putObject("admin");
          admin.put("id", s.adminId());
          admin.put("publicKey", Codec.b64(s.adminKey()));
          ObjectNode node = so.putObject("node");
          node.put("id", s.nodeId());
          node.put("publicKey", Codec.b64(s.nodeKey()));
          node.put("address", s.nodeAddress());
        }
      }
    }
    return o;
  }

  /** The contract a command belongs to. */
  public static String contractOf(Command c) {
    return switch (c) {
      case Command.Membership m -> MEMBERSHIP;
      case Command.Notary n -> NOTARY;
      case Command.Records r -> RECORDS;
      case Command.Genesis g -> GENESIS;
    };
  }

  private static Command.Genesis genesis(JsonNode orgs) {
    if (orgs == null || !orgs.isArray() || orgs.isEmpty()) {
      throw new IllegalArgumentException("organizations must be a non-empty array");
    }
    List<Command.OrgSpec> specs = new ArrayList<>();
    for (JsonNode o : orgs) {
      fields(o, Set.of("id", "name", "admin", "node"), Set.of());
      JsonNode admin = o.get("admin");
      JsonNode node = o.get("node");
      fields(admin, Set.of("id", "publicKey"), Set.of());
      fields(node, Set.of("id", "publicKey", "address"), Set.of());
      specs.add(new Command.OrgSpec(id(o, "id"), label(o, "name"), id(admin, "id"),
          publicKey(admin, "publicKey"), id(node, "id"), publicKey(node, "publicKey"),
          label(node, "address")));
    }
    return new Command.Genesis(List.copyOf(specs));
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
