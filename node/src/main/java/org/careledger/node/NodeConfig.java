package org.careledger.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.careledger.core.json.CanonicalJson;

/**
 * A node's settings, validated once. Read from {@code node.json} in the data dir (written by
 * {@code careledger init}); the HTTP address may be overridden on the command line.
 *
 * <p>Keys: {@code node-id} (this node's identity in the genesis), {@code http} (host:port of the
 * API), {@code max-batch} (transactions per block, default 4000), {@code queue-size} (admitted
 * transactions waiting to be ordered, default 50000), {@code ledger-sync} (also sync every
 * RocksDB block write, default false: the synced Raft log already makes blocks durable),
 * {@code validate-on-write} (full FHIR validation of every write, default false: writes get
 * the strict ingest checks, and {@code $validate} runs the full validator on request),
 * {@code public-url} (the URL clients use when it is not the HTTP address, e.g. behind a
 * proxy; sign-in assertions must name its token endpoint), {@code treating-roles} (the roles
 * of this organization's identities that the treating-relationship rule lets read what the
 * organization holds, default practitioner and service; an empty list turns the rule off),
 * {@code audit-reads} (default true; false skips the access events and exists only to measure
 * what they cost: a node so configured says so at start and in its status),
 * {@code verify-on-start} (default true: before it joins the network or serves anything, the
 * node replays its whole ledger and compares every block, log node and state entry with the
 * replay, and refuses to start if one differs; false skips this on very large ledgers),
 * {@code raft-peers} (an object of node id to "host:port": where this node reaches those
 * peers' Raft endpoints when that differs from the address in the genesis, e.g. through a
 * private link, a NAT or a tunnel; the genesis address stays what the others use),
 * {@code network-urls} (an object of organization id to the base URL, {@code http(s)://host:port},
 * of that organization's node as a browser reaches it: the portal gathers a patient's records
 * from those nodes, and this node's API answers pages served by them; {@code careledger init
 * --network} fills it in), {@code snapshot-every} (Raft entries between snapshots, default
 * 10000: each is a checkpoint of the ledger's shared families), {@code raft-log-keep} (Raft
 * entries kept before the latest snapshot when the log is purged, default 10000; "all" keeps
 * the whole log), {@code raft-segment-size} (Raft log segment size, default "64MB"; the log is
 * purged by whole segments), {@code block-interval} (the least time, in milliseconds, between
 * two blocks this node proposes, or "auto", the default: none in a network of one node, 25 ms
 * per other node otherwise, at most 200 ms; transactions that arrive meanwhile wait and go
 * into one block, since every block costs every node a signature and the others' checks).
 */
public record NodeConfig(Path dataDir, String nodeId, String httpHost, int httpPort,
    int maxBatch, int queueSize, boolean ledgerSync, boolean validateOnWrite,
    String publicUrlOrNull, java.util.Set<org.careledger.core.contract.Role> treatingRoles,
    boolean auditReads, boolean verifyOnStart, java.util.Map<String, String> raftPeers,
    java.util.Map<String, String> networkUrls, String raftAddressOrNull,
    org.careledger.node.ordering.RaftOrdering.LogSettings raftLog, long blockIntervalMs) {

  /** {@link #blockIntervalMs} when node.json leaves it to the size of the network. */
  public static final long AUTO = -1;

  /**
   * The least time between two blocks this node proposes in a network of {@code nodes}: the
   * configured value, or with "auto" none for one node and 25 ms per other node, at most 200.
   */
  public long blockInterval(int nodes) {
    if (blockIntervalMs != AUTO) {
      return blockIntervalMs;
    }
    return nodes <= 1 ? 0 : Math.min(200, 25L * (nodes - 1));
  }

  /** The roles the treating-relationship rule covers unless node.json says otherwise. */
  public static final java.util.Set<org.careledger.core.contract.Role> DEFAULT_TREATING_ROLES =
      java.util.Set.of(org.careledger.core.contract.Role.PRACTITIONER,
          org.careledger.core.contract.Role.SERVICE);

  public NodeConfig {
    if (httpPort < 0 || httpPort > 65535) {
      throw new IllegalArgumentException("Invalid HTTP port " + httpPort + "; must be 0..65535");
    }
    if (maxBatch < 1 || maxBatch > 100_000) {
      throw new IllegalArgumentException("Invalid max-batch " + maxBatch + "; must be 1..100000");
    }
    if (queueSize < maxBatch) {
      throw new IllegalArgumentException("queue-size " + queueSize + " must be >= max-batch");
    }
  }

  public static final String FILE = "node.json";

  public Path genesisFile() {
    return dataDir.resolve("genesis.json");
  }

  public Path nodeKeyFile() {
    return dataDir.resolve("keys").resolve("node.key");
  }

  public Path ledgerDir() {
    return dataDir.resolve("ledger");
  }

  public Path vaultKeysFile() {
    return dataDir.resolve("keys").resolve("vault.keys");
  }

  public Path raftDir() {
    return dataDir.resolve("raft");
  }

  /** Loads {@code node.json}; {@code httpOverride} ("host:port") replaces its HTTP address. */
  public static NodeConfig load(Path dataDir, String httpOverride) throws IOException {
    Path f = dataDir.resolve(FILE);
    if (!Files.isRegularFile(f)) {
      throw new IOException("no " + FILE + " in " + dataDir + "; run 'careledger init' first");
    }
    JsonNode n;
    try {
      n = CanonicalJson.parse(Files.readAllBytes(f));
    } catch (CanonicalJson.InvalidJsonException e) {
      throw new IOException(f + " is not valid JSON");
    }
    String http = httpOverride != null ? httpOverride : n.path("http").asText("127.0.0.1:8080");
    HostPort hp = HostPort.parse(http);
    return new NodeConfig(dataDir, n.path("node-id").asText(), hp.host(), hp.port(),
        n.path("max-batch").asInt(4000), n.path("queue-size").asInt(50_000),
        n.path("ledger-sync").asBoolean(false), n.path("validate-on-write").asBoolean(false),
        n.hasNonNull("public-url") ? n.get("public-url").asText() : null,
        treatingRoles(n.get("treating-roles")), n.path("audit-reads").asBoolean(true),
        n.path("verify-on-start").asBoolean(true), raftPeers(n.get("raft-peers")),
        networkUrls(n.get("network-urls")),
        n.hasNonNull("raft-address") ? n.get("raft-address").asText() : null,
        raftLog(n), blockInterval(n.get("block-interval")));
  }

  private static long blockInterval(JsonNode n) {
    if (n == null || n.isTextual() && n.asText().equals("auto")) {
      return AUTO;
    }
    if (n.isIntegralNumber() && n.asLong() >= 0 && n.asLong() <= 10_000) {
      return n.asLong();
    }
    throw new IllegalArgumentException("block-interval in node.json must be a number of"
        + " milliseconds (0 to 10000) or \"auto\"");
  }

  private static final java.util.regex.Pattern ORIGIN =
      java.util.regex.Pattern.compile("https?://([A-Za-z0-9.\\-]+|\\[[0-9a-fA-F:.]+\\])"
          + "(:\\d{1,5})?");

  private static java.util.Map<String, String> networkUrls(JsonNode n) {
    if (n == null) {
      return java.util.Map.of();
    }
    if (!n.isObject()) {
      throw new IllegalArgumentException("network-urls must map organization ids to URLs");
    }
    java.util.Map<String, String> out = new java.util.TreeMap<>();
    for (var e : n.properties()) {
      String url = e.getValue().asText();
      if (!ORIGIN.matcher(url).matches()) {
        throw new IllegalArgumentException("network-urls: '" + url + "' of " + e.getKey()
            + " must be scheme://host[:port], without a path");
      }
      out.put(e.getKey(), url);
    }
    return java.util.Map.copyOf(out);
  }

  /** Writes {@code network-urls} into an existing node.json, keeping everything else. */
  public static void writeNetworkUrls(Path dataDir, java.util.Map<String, String> urls)
      throws IOException {
    Path f = dataDir.resolve(FILE);
    ObjectNode o;
    try {
      o = (ObjectNode) CanonicalJson.parse(Files.readAllBytes(f));
    } catch (CanonicalJson.InvalidJsonException e) {
      throw new IOException(f + " is not valid JSON");
    }
    ObjectNode u = o.putObject("network-urls");
    new java.util.TreeMap<>(urls).forEach(u::put);
    networkUrls(u);
    Files.writeString(f, o.toPrettyString() + "\n");
  }

  private static java.util.Map<String, String> raftPeers(JsonNode n) {
    if (n == null) {
      return java.util.Map.of();
    }
    if (!n.isObject()) {
      throw new IllegalArgumentException("raft-peers must map node ids to HOST:PORT");
    }
    java.util.Map<String, String> out = new java.util.TreeMap<>();
    for (var e : n.properties()) {
      HostPort.parse(e.getValue().asText());
      out.put(e.getKey(), e.getValue().asText());
    }
    return java.util.Map.copyOf(out);
  }

  private static java.util.Set<org.careledger.core.contract.Role> treatingRoles(JsonNode n) {
    if (n == null) {
      return DEFAULT_TREATING_ROLES;
    }
    if (!n.isArray()) {
      throw new IllegalArgumentException("treating-roles must be a list of role names");
    }
    java.util.Set<org.careledger.core.contract.Role> out = new java.util.HashSet<>();
    for (JsonNode r : n) {
      org.careledger.core.contract.Role role =
          org.careledger.core.contract.Role.fromWire(r.asText());
      if (role == org.careledger.core.contract.Role.PATIENT
          || role == org.careledger.core.contract.Role.NODE) {
        throw new IllegalArgumentException("treating-roles may not include " + r.asText());
      }
      out.add(role);
    }
    return java.util.Set.copyOf(out);
  }

  public static void write(Path dataDir, String nodeId, String http) throws IOException {
    write(dataDir, nodeId, http, false);
  }

  public static void write(Path dataDir, String nodeId, String http, boolean ledgerSync)
      throws IOException {
    ObjectNode o = CanonicalJson.object();
    o.put("node-id", nodeId);
    o.put("http", http);
    o.put("max-batch", 4000);
    o.put("queue-size", 50_000);
    o.put("ledger-sync", ledgerSync);
    o.put("validate-on-write", false);
    Files.writeString(dataDir.resolve(FILE), o.toPrettyString() + "\n");
  }

  private static org.careledger.node.ordering.RaftOrdering.LogSettings raftLog(JsonNode n) {
    var d = org.careledger.node.ordering.RaftOrdering.LogSettings.DEFAULT;
    long every = d.snapshotEvery();
    if (n.has("snapshot-every")) {
      if (!n.get("snapshot-every").canConvertToLong() || n.get("snapshot-every").asLong() < 1) {
        throw new IllegalArgumentException("snapshot-every in node.json must be a number of"
            + " Raft entries, at least 1");
      }
      every = n.get("snapshot-every").asLong();
    }
    long keep = d.keep();
    JsonNode k = n.get("raft-log-keep");
    if (k != null) {
      if (k.isTextual() && k.asText().equals("all")) {
        keep = -1;
      } else if (k.canConvertToLong() && k.asLong() >= 0) {
        keep = k.asLong();
      } else {
        throw new IllegalArgumentException("raft-log-keep in node.json must be a number of"
            + " Raft entries (0 or more) or \"all\"");
      }
    }
    String segment = n.path("raft-segment-size").asText(d.segmentSize());
    try {
      return new org.careledger.node.ordering.RaftOrdering.LogSettings(every, keep, segment);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("raft-segment-size in node.json must be a size such as"
          + " \"64MB\", not '" + segment + "'");
    }
  }

  /** A host and port, parsed from "host:port". */
  public record HostPort(String host, int port) {
    public static HostPort parse(String s) {
      int i = s.lastIndexOf(':');
      if (i <= 0) {
        throw new IllegalArgumentException("expected HOST:PORT, got '" + s + "'");
      }
      try {
        return new HostPort(s.substring(0, i), Integer.parseInt(s.substring(i + 1)));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("expected HOST:PORT, got '" + s + "'");
      }
    }
  }

  @Override
  public String toString() {
    return "node-id=" + nodeId + " data=" + dataDir + " http=" + httpHost + ":" + httpPort
        + " max-batch=" + maxBatch + " queue-size=" + queueSize + " ledger-sync=" + ledgerSync
        + " validate-on-write=" + validateOnWrite + " treating-roles=" + treatingRoles
        + " audit-reads=" + auditReads
        + (raftPeers.isEmpty() ? "" : " raft-peers=" + raftPeers)
        + (networkUrls.isEmpty() ? "" : " network-urls=" + networkUrls)
        + (raftAddressOrNull == null ? "" : " raft-address=" + raftAddressOrNull)
        + " snapshot-every=" + raftLog.snapshotEvery() + " raft-log-keep="
        + (raftLog.keep() < 0 ? "all" : Long.toString(raftLog.keep()))
        + " raft-segment-size=" + raftLog.segmentSize()
        + " block-interval=" + (blockIntervalMs == AUTO ? "auto" : blockIntervalMs + "ms")
        + (publicUrlOrNull == null ? "" : " public-url=" + publicUrlOrNull);
  }
}
