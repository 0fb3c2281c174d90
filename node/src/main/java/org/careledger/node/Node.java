package org.careledger.node;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.careledger.client.GenesisFile;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.contract.Command;
import org.careledger.core.crypto.Ed25519;
import org.careledger.node.access.Gatekeeper;
import org.careledger.node.auth.TokenService;
import org.careledger.node.http.ApiHandler;
import org.careledger.node.http.PortalHandler;
import org.careledger.node.ordering.Batcher;
import org.careledger.node.ordering.RaftOrdering;
import org.careledger.node.store.LedgerStore;
import jakarta.servlet.DispatcherType;
import java.util.EnumSet;
import org.careledger.node.fhir.AccessPolicy;
import org.careledger.node.fhir.BodyLimitFilter;
import org.careledger.node.fhir.FhirServlet;
import org.careledger.node.fhir.FhirSetup;
import org.careledger.node.fhir.FullValidator;
import org.careledger.node.fhir.RecordStore;
import org.careledger.node.vault.Vault;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running CareLedger node: ledger store, Raft ordering, batcher and HTTP API. {@link #start}
 * returns once the API is listening; {@link #close} stops everything in reverse order.
 */
public final class Node implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Node.class);

  private final NodeConfig config;
  private LedgerStore store;
  private RaftOrdering ordering;
  private Batcher batcher;
  private Server http;
  private RecordStore records;
  private Gatekeeper gatekeeper;

  /** What the status shows of the start-up ledger check (it refuses to start on a failure). */
  private static com.fasterxml.jackson.databind.node.ObjectNode verifyResult(
      LedgerVerifier.Report r, long ms, long at, boolean enabled) {
    var o = org.careledger.core.json.CanonicalJson.object();
    o.put("when", "start");
    o.put("time", at);
    if (r == null) {
      o.put("result", enabled ? "empty ledger" : "not run (verify-on-start is off)");
      return o;
    }
    o.put("result", r.ok() ? "ok" : "failed");
    o.put("blocks", r.blocks());
    o.put("transactions", r.transactions());
    o.put("ms", ms);
    if (r.logRoot() != null) {
      o.put("logRoot", org.careledger.core.crypto.Codec.hex(r.logRoot()));
    }
    return o;
  }

  private Node(NodeConfig config) {
    this.config = config;
  }

  public static Node start(NodeConfig config, char[] passphraseOrNull) throws Exception {
    Node n = new Node(config);
    try {
      n.doStart(passphraseOrNull);
    } catch (Exception | Error e) {
      n.close();
      throw e;
    }
    return n;
  }

  /**
   * The node keys accepted at the Raft port: the active node keys of the ledger's state; and,
   * while the ledger is below the height of a members file in the data dir, that file's keys
   * too (docs/operations.md, "Nodes that joined after the genesis").
   */
  private java.util.function.Supplier<java.util.Set<String>> trustedNodeKeys(String name,
      LedgerService ledger) throws IOException {
    Path file = config.dataDir().resolve(NetworkInit.MEMBERS_FILE);
    if (!Files.exists(file)) {
      return () -> ledger.nodeKeys().keySet();
    }
    NetworkInit.Members m = NetworkInit.checkedMembers(file, ledger.chain());
    long height = ledger.latest().header().height();
    if (height >= m.height()) {
      LOG.info("{}: {} is of height {}, and the ledger is at {}: its keys add nothing", name,
          NetworkInit.MEMBERS_FILE, m.height(), height);
    } else {
      LOG.info("{}: until the ledger reaches height {}, the Raft port also accepts the node"
          + " keys of {}: {}", name, m.height(), NetworkInit.MEMBERS_FILE, m.nodes().values());
    }
    java.util.Set<String> extra = java.util.Set.copyOf(m.nodes().keySet());
    return () -> {
      java.util.Set<String> own = ledger.nodeKeys().keySet();
      if (ledger.latest().header().height() >= m.height()) {
        return own;
      }
      java.util.Set<String> both = new java.util.HashSet<>(own);
      both.addAll(extra);
      return both;
    };
  }

  private void doStart(char[] passphraseOrNull) throws Exception {
    String name = config.nodeId();
    LOG.info("{}: starting with {}", name, config);
    byte[] genesisBytes = Files.readAllBytes(config.genesisFile());
    GenesisFile genesis = GenesisFile.parse(genesisBytes);
    Ed25519.KeyPair nodeKey = KeyFile.read(config.nodeKeyFile(), passphraseOrNull);
    List<RaftOrdering.Peer> peers = genesis.command().organizations().stream()
        .filter(o -> o.nodeId() != null)
        .map(o -> new RaftOrdering.Peer(o.nodeId(), o.nodeId().equals(config.nodeId())
            ? o.nodeAddress() : config.raftPeers().getOrDefault(o.nodeId(), o.nodeAddress())))
        .toList();
    for (String id : config.raftPeers().keySet()) {
      if (peers.stream().noneMatch(p -> p.id().equals(id)) || id.equals(config.nodeId())) {
        throw new IOException("raft-peers in node.json names " + id
            + ", which is not another node of the genesis");
      }
    }
    Command.OrgSpec mine = genesis.command().organizations().stream()
        .filter(o -> config.nodeId().equals(o.nodeId())).findFirst().orElse(null);
    String joinAddress = null;
    if (mine == null) {
      // a node of an organization that joined after the genesis, or a new node replacing an
      // organization's node: it starts outside the Raft group, and the leader adds it once the
      // network contract has admitted it (docs/operations.md, "Adding an organization",
      // "Replacing a node")
      joinAddress = config.raftAddressOrNull();
      if (joinAddress == null
          || !Files.exists(config.dataDir().resolve(NetworkInit.ORG_FILE))
          && !Files.exists(config.dataDir().resolve(NetworkInit.REPLACEMENT_FILE))) {
        throw new IOException("node " + config.nodeId() + " is not in the genesis; a node that"
            + " joins a running network needs raft-address in node.json and its org.json"
            + " ('careledger init org', then 'careledger init join --running') or, replacing"
            + " a node, its replacement.json ('careledger init node')");
      }
      LOG.info("{}: not a genesis node; joining the network at Raft address {}", name,
          joinAddress);
    } else if (!Ed25519.keyId(mine.nodeKey()).equals(nodeKey.keyId())) {
      throw new IOException("the node key does not match the genesis entry of " + name);
    }
    store = LedgerStore.open(config.ledgerDir(), config.ledgerSync());
    restoreFromSnapshot(name, store, config.raftDir(), genesis.chain());
    LedgerVerifier.Report verified = null;
    long verifyMs = 0;
    long verifiedAt = System.currentTimeMillis();
    if (config.verifyOnStart() && store.height() > 0) {
      long t0 = System.nanoTime();
      LedgerVerifier.Report check = LedgerVerifier.verify(store, genesisBytes);
      if (check.problem() != null) {
        throw new IOException("the ledger in " + config.ledgerDir() + " fails verification ("
            + check.problem() + "); this node will not serve it or join the network."
            + " Restore the data dir from a backup, or remove ledger/ and raft/ to rebuild"
            + " it from the other members (docs/operations.md)");
      }
      verifyMs = (System.nanoTime() - t0) / 1_000_000;
      verifiedAt = System.currentTimeMillis();
      verified = check;
      LOG.info("{}: ledger verified at start: {} blocks, {} transactions in {} ms", name,
          check.blocks(), check.transactions(), verifyMs);
    }
    LedgerService ledger = LedgerService.open(name, store, genesisBytes, nodeKey);
    ordering = new RaftOrdering(name, config.raftDir(), config.nodeId(), joinAddress, peers,
        ledger.chain(), ledger, nodeKey, trustedNodeKeys(name, ledger), config.raftLog());
    // an erasure replayed over a vault restored from an older backup destroys its entries again
    ledger.orphanRows(tx -> RecordStore.erasureRowsFor(ledger.store(), tx));
    ordering.start();
    // A node alone proposes up to three blocks at once, so that its Raft log's fsync of one
    // overlaps the execution of another. In a network each block costs every node a signature
    // and the checks of the others' signatures, so a node has one proposal in flight (the next
    // takes everything admitted meanwhile) and waits the block interval between two.
    batcher = new Batcher(name, ordering, ledger, config.queueSize(), config.maxBatch(),
        () -> ledger.nodeKeys().size() <= 1 ? 3 : 1,
        () -> config.blockInterval(ledger.nodeKeys().size()));
    batcher.start();

    QueuedThreadPool pool = new QueuedThreadPool(64, 8);
    pool.setName("http");
    http = new Server(pool);
    ServerConnector connector = new ServerConnector(http);
    connector.setHost(config.httpHost());
    connector.setPort(config.httpPort());
    http.addConnector(connector);
    ErrorHandler errors = new ErrorHandler();
    errors.setShowStacks(false);
    errors.setShowMessageInTitle(false);
    http.setErrorHandler(errors);
    PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Submitter submitter = new Submitter(ledger, batcher);
    connector.open();
    TokenService tokens = new TokenService(TokenService.baseUrls(config.httpHost(),
        connector.getLocalPort(), config.publicUrlOrNull()));
    ApiHandler api = new ApiHandler(name, config.nodeId(), ledger, submitter, tokens,
        ordering::isLeader, metrics);
    api.leaderId(ordering::leaderIdOrNull);
    api.network(ordering::health);
    api.leaderTransfer(nodeId -> ordering.transferLeadership(nodeId, 10_000));
    api.verifiedAtStart(verifyResult(verified, verifyMs, verifiedAt,
        config.verifyOnStart()));
    Vault vault = Vault.open(config.vaultKeysFile(), passphraseOrNull);
    records = new RecordStore(name, FhirSetup.CONTEXT, submitter, vault, nodeKey);
    // a vault restored from a backup older than an erasure must not keep what it erased
    records.sweepErasedLater();
    ledger.afterSnapshotInstall(records::sweepErasedLater);
    metrics.gauge("careledger_vault_integrity_failures", records,
        RecordStore::integrityFailures);
    ServletContextHandler fhir = new ServletContextHandler("/fhir");
    fhir.setAllowNullPathInContext(true);
    if (!config.auditReads()) {
      LOG.warn("{}: AUDIT OFF: audit-reads is false in node.json; reads are not recorded on the"
          + " ledger. This setting exists only to measure what auditing costs.", name);
    }
    String orgId = mine != null ? mine.id()
        : Files.exists(config.dataDir().resolve(NetworkInit.ORG_FILE))
            ? NetworkInit.readOrg(config.dataDir().resolve(NetworkInit.ORG_FILE)).id()
            : NetworkInit.readReplacement(config.dataDir()).org();
    gatekeeper = new Gatekeeper(ledger, records, orgId, config.treatingRoles(),
        config.auditReads());
    api.backup(this::backup, orgId);
    api.attach(records, gatekeeper);
    fhir.addServlet(new ServletHolder(new FhirServlet(name, records,
        new AccessPolicy(tokens, ledger, gatekeeper),
        new FullValidator(config.validateOnWrite()))), "/*");
    fhir.addFilter(new FilterHolder(new BodyLimitFilter()), "/*",
        EnumSet.of(DispatcherType.REQUEST));
    PortalHandler portal = new PortalHandler(name, ledger, tokens, gatekeeper.org(),
        config.networkUrls());
    api.corsOrigins(config.networkUrls().values());
    http.setHandler(new ContextHandlerCollection(fhir, new ContextHandler(portal, "/portal"),
        new ContextHandler(api, "/")));
    http.start();
    LOG.info("{}: chain {} at height {}, API on http://{}:{}", name, ledger.chain(),
        ledger.latest().header().height(), config.httpHost(), connector.getLocalPort());
  }

  /**
   * A ledger that holds less than this node's latest Raft snapshot (it was lost or removed,
   * while the Raft log it would replay was purged), or one whose last snapshot install was cut
   * short, takes its shared families from that snapshot's checkpoint; the vault and FHIR index
   * stay. Raft then applies its log from the snapshot on, and verify-on-start checks the result.
   */
  static void restoreFromSnapshot(String name, LedgerStore store, Path raftDir, String chain)
      throws IOException {
    Path cp = RaftOrdering.latestSnapshot(raftDir, chain);
    if (cp == null) {
      if (store.installing()) {
        throw new IOException("the ledger's last snapshot install was cut short and the"
            + " snapshot is gone; restore the data dir from a backup or a member's copy"
            + " (docs/operations.md, \"Faults\")");
      }
      return;
    }
    long snapApplied = LedgerStore.appliedIndexOf(cp);
    if (store.installing() || store.appliedIndex() < snapApplied) {
      LOG.warn("{}: the ledger holds Raft entries up to {}; restoring it from the snapshot at {}"
          + " ({})", name, store.appliedIndex(), snapApplied, cp.getFileName());
      store.replaceShared(cp);
    }
  }

  /** Where {@link #backup} writes: {@code backups/} in the data dir. */
  public static final String BACKUPS = "backups";

  /**
   * Writes a backup of this running node into {@code backups/<UTC time>/} of its data dir: a
   * consistent checkpoint of its whole store as {@code ledger/} (the ledger, the vault and the
   * FHIR index), the vault keys, {@code node.json}, {@code genesis.json} and, when present, the
   * organization and members files. Not the node key and not {@code raft/}: a restore keeps
   * the node's own (docs/operations.md, "Backups and restore"). The directory is also what
   * {@code init node --vault-from} takes.
   */
  synchronized org.careledger.node.http.ApiHandler.BackupHook.Taken backup() throws IOException {
    Path root = config.dataDir().resolve(BACKUPS);
    Files.createDirectories(root);
    Path dir = root.resolve(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
        .withZone(java.time.ZoneOffset.UTC).format(java.time.Instant.now()));
    Files.createDirectory(dir);
    try {
      restrict(dir);
      store.checkpointAll(dir.resolve("ledger"));
      Files.createDirectories(dir.resolve("keys"));
      Files.copy(config.vaultKeysFile(), dir.resolve("keys").resolve("vault.keys"),
          java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
      for (String f : List.of(NodeConfig.FILE, "genesis.json", NetworkInit.ORG_FILE,
          NetworkInit.REPLACEMENT_FILE, NetworkInit.MEMBERS_FILE)) {
        if (Files.exists(config.dataDir().resolve(f))) {
          Files.copy(config.dataDir().resolve(f), dir.resolve(f));
        }
      }
      long height;
      try (LedgerStore copy = LedgerStore.openReadOnly(dir.resolve("ledger"))) {
        height = copy.height();
      }
      return new org.careledger.node.http.ApiHandler.BackupHook.Taken(dir, height);
    } catch (IOException | RuntimeException e) {
      try (var paths = Files.walk(dir)) {
        for (Path q : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(q);
        }
      }
      throw e;
    }
  }

  private static void restrict(Path dir) {
    try {
      Files.setPosixFilePermissions(dir,
          java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    } catch (UnsupportedOperationException | IOException e) {
      // not a POSIX file system: its own permissions apply
    }
  }

  /** The port the API listens on (useful with port 0). */
  public int httpPort() {
    return ((ServerConnector) http.getConnectors()[0]).getLocalPort();
  }

  public String baseUrl() {
    return "http://" + config.httpHost() + ":" + httpPort();
  }

  @Override
  public void close() throws Exception {
    if (http != null) {
      http.stop();
    }
    if (batcher != null) {
      batcher.close();
    }
    if (ordering != null) {
      ordering.close();
    }
    if (records != null) {
      records.close();
    }
    if (store != null) {
      store.close();
    }
  }
}
