package org.careledger.node.ordering;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.careledger.core.ledger.BlockProposal;
import org.careledger.node.LedgerService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Orders block proposals with Apache Ratis. A one-node network is a Raft group of one; the same
 * code serves larger groups. Each Raft log entry is one {@link BlockProposal}.
 *
 * <p>Durability: Ratis syncs its log before an entry counts as committed (unsafe flush stays
 * off), and a submitter is answered only after the entry is committed and applied. The RocksDB
 * ledger is written without sync; after a crash, Raft replays every entry above the applied index
 * stored in the ledger. A Ratis snapshot is a checkpoint of the ledger's shared column families,
 * taken after the ledger is synced to disk, so the Raft log is never purged past what the ledger
 * holds durably; a follower the purged log cannot catch up receives the leader's snapshot and
 * verifies it before using it (docs/architecture.md, "Snapshots and catch-up").
 */
public final class RaftOrdering implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RaftOrdering.class);

  /** How long one send to the leader may stay unanswered before it is sent again. */
  static final long ATTEMPT_TIMEOUT_MS = 4_000;
  /** How long a proposal is resent before it fails and its transactions are abandoned. */
  static final long PROPOSE_DEADLINE_MS = 20_000;
  private static final long RETRY_PAUSE_MS = 100;

  /** One member of the Raft group. */
  public record Peer(String id, String address) {}

  private final String nodeName;
  private final RaftServer server;
  private final RaftProperties props;
  private final org.apache.ratis.conf.Parameters parameters;
  private final RaftClient client;
  private final LedgerStateMachine stateMachine;
  private final ClientId clientId = ClientId.randomId();
  private final java.util.concurrent.atomic.AtomicLong callIds =
      new java.util.concurrent.atomic.AtomicLong();
  private final java.util.Set<Attempts> inFlight =
      java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final RaftGroup group;
  /** The members named at start (for a joining node, the genesis's nodes). */
  private final List<RaftPeer> knownPeers;
  private final LedgerService ledger;
  private final RaftPeerId self;

  /**
   * How the Raft log is kept: a snapshot (a checkpoint of the ledger's shared families) every
   * {@code snapshotEvery} entries; then the log is purged up to {@code keep} entries before the
   * latest snapshot ({@code keep} negative: never purged); segments of {@code segmentSize}
   * ("64MB"), the unit in which a log is purged.
   */
  public record LogSettings(long snapshotEvery, long keep, String segmentSize) {
    public static final LogSettings DEFAULT = new LogSettings(10_000, 10_000, "64MB");

    public LogSettings {
      if (snapshotEvery < 1) {
        throw new IllegalArgumentException("snapshot-every must be at least 1");
      }
      SizeInBytes.valueOf(segmentSize);
    }
  }

  /** Where the Raft snapshots of the group of {@code chain} are kept under {@code raftDir}. */
  public static Path snapshotDir(Path raftDir, String chain) {
    return raftDir.resolve(groupId(chain).getUuid().toString()).resolve("sm");
  }

  private static RaftGroupId groupId(String chain) {
    return RaftGroupId.valueOf(
        UUID.nameUUIDFromBytes(("careledger:" + chain).getBytes(StandardCharsets.UTF_8)));
  }

  /**
   * The newest complete snapshot in {@link #snapshotDir}: its directory is a checkpoint that
   * {@code LedgerStore} opens; null if there is none.
   */
  public static Path latestSnapshot(Path raftDir, String chain) throws IOException {
    CheckpointStorage.Snapshot s = CheckpointStorage.latest(snapshotDir(raftDir, chain));
    return s == null ? null : s.dir();
  }

  /**
   * The member {@code selfId} of the group of {@code peers}. Raft traffic is mutually
   * authenticated TLS: this node presents {@code nodeKey}, and accepts only peers whose key is
   * in {@code trustedNodeKeyIds} at handshake time (the active node keys of the ledger's
   * membership state; see {@code Node}). {@code joinAddressOrNull}, when set, is this node's
   * Raft address and it is not among {@code peers}: a node that joins a running network starts
   * outside the group, and the leader adds it once the network contract has admitted it.
   */
  public RaftOrdering(String nodeName, Path raftDir, String selfId, String joinAddressOrNull,
      List<Peer> peers, String chain, LedgerService ledger,
      org.careledger.core.crypto.Ed25519.KeyPair nodeKey,
      java.util.function.Supplier<java.util.Set<String>> trustedNodeKeyIds,
      LogSettings logSettings) throws IOException {
    this.nodeName = nodeName;
    this.self = RaftPeerId.valueOf(selfId);
    this.ledger = ledger;
    RaftGroupId groupId = groupId(chain);
    List<RaftPeer> raftPeers = peers.stream()
        .map(p -> RaftPeer.newBuilder().setId(p.id()).setAddress(p.address()).build()).toList();
    this.knownPeers = raftPeers;
    String myAddress;
    if (joinAddressOrNull != null) {
      this.group = RaftGroup.valueOf(groupId);
      myAddress = joinAddressOrNull;
    } else {
      this.group = RaftGroup.valueOf(groupId, raftPeers);
      myAddress = raftPeers.stream().filter(p -> p.getId().equals(self)).findFirst()
          .orElseThrow(() -> new IOException("node " + selfId + " is not a member of the group"))
          .getAddress();
    }
    RaftProperties props = properties(raftDir, myAddress, logSettings);
    Files.createDirectories(raftDir);
    this.stateMachine = new LedgerStateMachine(nodeName, selfId, ledger, this::leaderChanged,
        logSettings.snapshotEvery());
    this.parameters = tls(selfId, nodeKey, trustedNodeKeyIds);
    RaftServer.Builder builder = RaftServer.newBuilder().setServerId(self)
        .setStateMachine(stateMachine).setProperties(props).setParameters(parameters)
        .setOption(RaftStorage.StartupOption.RECOVER);
    if (joinAddressOrNull == null) {
      builder.setGroup(group);
    }
    // a joining node starts without a group: the leader adds the group to it when the network
    // contract has admitted it, and after a restart Ratis finds the group in its storage
    this.server = builder.build();
    this.props = props;
    this.client = newClient();
  }

  private static RaftProperties properties(Path raftDir, String address, LogSettings log) {
    RaftProperties p = new RaftProperties();
    RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
    int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    GrpcConfigKeys.Server.setPort(p, port);
    GrpcConfigKeys.Server.setHost(p, address.substring(0, address.lastIndexOf(':')));
    GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf("64MB"));
    RaftServerConfigKeys.setStorageDir(p, List.of(raftDir.toFile()));
    SizeInBytes segment = SizeInBytes.valueOf(log.segmentSize());
    RaftServerConfigKeys.Log.setSegmentSizeMax(p, segment);
    // 48 MB and 40 MB with the default segments; Ratis needs the write buffer to hold more
    // than what the appender batches
    long writeBuffer = Math.min(48L << 20, Math.max(segment.getSize(), 8L << 20));
    RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf(writeBuffer));
    RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p,
        SizeInBytes.valueOf(writeBuffer / 6 * 5));
    RaftServerConfigKeys.Log.setUnsafeFlushEnabled(p, false);
    // A snapshot is a checkpoint of the ledger's shared families. The log is purged up to
    // `keep` entries before the latest snapshot, so a node that was down for a while catches up
    // from the log, and one that was down longer (or is new) receives the leader's snapshot,
    // verifies it, and applies the log from there.
    if (log.keep() < 0) {
      RaftServerConfigKeys.Log.setPurgeGap(p, Integer.MAX_VALUE);
      RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, false);
    } else {
      RaftServerConfigKeys.Log.setPurgeGap(p, (int) Math.min(Integer.MAX_VALUE,
          log.snapshotEvery()));
      RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
      RaftServerConfigKeys.Log.setPurgePreservationLogNum(p, log.keep());
    }
    RaftServerConfigKeys.Log.Appender.setInstallSnapshotEnabled(p, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, log.snapshotEvery());
    // the newest two, so that one being sent to a follower is not removed under it at once
    RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
    RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(1000, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(2000, TimeUnit.MILLISECONDS));
    return p;
  }

  private RaftClient newClient() {
    RaftClient c = RaftClient.newBuilder().setProperties(props).setParameters(parameters)
        .setRaftGroup(RaftGroup.valueOf(group.getGroupId(), knownPeers)).setClientId(clientId)
        .build();
    c.getClientRpc().addRaftPeers(knownPeers);
    return c;
  }

  /** The same mutual TLS for the server's port and this node's clients of the others. */
  private static org.apache.ratis.conf.Parameters tls(String selfId,
      org.careledger.core.crypto.Ed25519.KeyPair nodeKey,
      java.util.function.Supplier<java.util.Set<String>> activeNodeKeyIds) throws IOException {
    org.apache.ratis.grpc.GrpcTlsConfig conf;
    try {
      conf = new org.apache.ratis.grpc.GrpcTlsConfig(
          NodeTls.keyManager(NodeTls.identity(selfId, nodeKey)),
          NodeTls.trustManager(activeNodeKeyIds), true);
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot set up TLS for the Raft port: " + e.getMessage(), e);
    }
    org.apache.ratis.conf.Parameters p = new org.apache.ratis.conf.Parameters();
    GrpcConfigKeys.TLS.setConf(p, conf);
    GrpcConfigKeys.Server.setTlsConf(p, conf);
    GrpcConfigKeys.Client.setTlsConf(p, conf);
    GrpcConfigKeys.Admin.setTlsConf(p, conf);
    return p;
  }

  public void start() throws IOException {
    server.start();
    LOG.info("{}: raft server {} started in group {}", nodeName, self, group.getGroupId());
    watch.scheduleWithFixedDelay(this::checkFollowers, 1, 1, TimeUnit.SECONDS);
    watch.scheduleWithFixedDelay(this::reconcileMembers, 1, 1, TimeUnit.SECONDS);
  }

  private volatile boolean reconfiguring;
  private volatile boolean toldRemoved;
  private final java.util.concurrent.ExecutorService reconfigure =
      java.util.concurrent.Executors.newSingleThreadExecutor(daemon("raft-reconfigure"));

  /** Threads that do not keep the JVM alive, all under one name. */
  static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  private long lastAddGroupWarning;

  /**
   * Gives a node that joins the group to be: a joining node starts without it. True when it
   * has the group now (or had it already), false if it cannot be reached yet.
   */
  private boolean addGroupTo(RaftPeer peer, List<RaftPeer> target) {
    RaftGroup next = RaftGroup.valueOf(group.getGroupId(), target);
    try (RaftClient c = RaftClient.newBuilder().setProperties(props).setParameters(parameters)
        .setRaftGroup(next).setClientId(ClientId.randomId()).build()) {
      try {
        c.getGroupManagementApi(peer.getId()).add(next);
        LOG.info("{}: gave the Raft group to the new member {} at {}", nodeName, peer.getId(),
            peer.getAddress());
      } catch (IOException | RuntimeException e) {
        if (!alreadyExists(e)) {
          throw e;
        }
      }
      // the leader must not contact the new member before its Raft log is open: a snapshot
      // notification that reaches it while it opens fails and leaves it stuck
      long end = System.currentTimeMillis() + 30_000;
      while (System.currentTimeMillis() < end) {
        try {
          var info = c.getGroupManagementApi(peer.getId()).info(group.getGroupId());
          if (info.isSuccess() && info.getRoleInfoProto() != null
              && (info.getRoleInfoProto().hasFollowerInfo()
                  || info.getRoleInfoProto().hasCandidateInfo())) {
            return true;
          }
        } catch (IOException | RuntimeException e) {
          // still opening
        }
        Thread.sleep(200);
      }
      throw new IOException("its Raft group did not open within 30 s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (IOException | RuntimeException e) {
      long now = System.currentTimeMillis();
      if (now - lastAddGroupWarning > 30_000) {
        lastAddGroupWarning = now;
        LOG.warn("{}: the new member {} at {} cannot be reached yet ({}); the Raft group"
            + " changes once it answers", nodeName, peer.getId(), peer.getAddress(),
            e.toString());
      }
      return false;
    }
  }

  static final String REMOVED = "this node is no longer a node of the network (its"
      + " organization left, by a decision of the network's members); its ledger is kept as it"
      + " was";

  /** Stops the whole process, saying why on stderr and in the log. */
  static void halt(String nodeName, int code, String why) {
    LOG.error("{}: stopping: {}", nodeName, why);
    System.err.println("careledger: " + nodeName + " stopped: " + why);
    System.err.flush();
    Runtime.getRuntime().halt(code);
  }

  private static boolean alreadyExists(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getClass().getSimpleName().equals("AlreadyExistsException")) {
        return true;
      }
    }
    return false;
  }

  /** The Raft members this node's server currently has. */
  private java.util.Collection<RaftPeer> currentPeers() throws IOException {
    return server.getDivision(group.getGroupId()).getRaftConf().getCurrentPeers();
  }

  /**
   * Keeps the Raft group equal to the network's nodes in the ledger. Every node teaches its
   * proposal transport the current members' addresses; the leader, when the configuration is
   * stable and differs from the active node identities of member organizations in its state,
   * asks Ratis to change it (Ratis first brings a new member's log up to date). Runs every
   * second, so a change that a leader could not finish (it failed, or the leader lost its
   * leadership) is taken up again by the next leader.
   */
  void reconcileMembers() {
    try {
      var division = server.getDivision(group.getGroupId());
      var conf = division.getRaftConf();
      java.util.Collection<RaftPeer> current = conf.getCurrentPeers();
      client.getClientRpc().addRaftPeers(current);
      Map<String, String> wanted = ledger.nodeAddresses();
      if (ledger.removedNode(self.toString())) {
        if (current.stream().noneMatch(p -> p.getId().equals(self))) {
          // out of the ledger's node set and out of the Raft group (a leader that carried out
          // its own removal learns it here; a follower when it next asks for votes)
          halt(nodeName, 74, REMOVED);
        }
        if (!toldRemoved) {
          toldRemoved = true;
          LOG.warn("{}: this node is no longer a node of the network in the ledger (its"
              + " organization left or its key is no longer active); the others cut it off",
              nodeName);
        }
      }
      if (!division.getInfo().isLeader() || !conf.getPreviousPeers().isEmpty() || reconfiguring
          || wanted.isEmpty()) {
        return;
      }
      Set<String> have = new java.util.TreeSet<>();
      current.forEach(p -> have.add(p.getId().toString()));
      if (have.equals(wanted.keySet())) {
        return;
      }
      List<RaftPeer> target = new java.util.ArrayList<>();
      for (Map.Entry<String, String> w : wanted.entrySet()) {
        RaftPeer kept = current.stream().filter(p -> p.getId().toString().equals(w.getKey()))
            .findFirst().orElse(null);
        target.add(kept != null ? kept
            : RaftPeer.newBuilder().setId(w.getKey()).setAddress(w.getValue()).build());
      }
      reconfiguring = true;
      LOG.info("{}: the network's nodes in the ledger are {}; changing the Raft members from {}",
          nodeName, wanted.keySet(), have);
      reconfigure.execute(() -> {
        try {
          for (RaftPeer p : target) {
            if (!have.contains(p.getId().toString()) && !addGroupTo(p, target)) {
              return;
            }
          }
          RaftClientReply reply = server.setConfiguration(
              new org.apache.ratis.protocol.SetConfigurationRequest(clientId, self,
                  group.getGroupId(), callIds.incrementAndGet(), target));
          LOG.info("{}: Raft members changed to {}: {}", nodeName, wanted.keySet(),
              reply.isSuccess() ? "done" : String.valueOf(reply.getException()));
        } catch (IOException | RuntimeException e) {
          LOG.warn("{}: changing the Raft members to {} failed ({}); tried again while this"
              + " node leads", nodeName, wanted.keySet(), e.toString());
        } finally {
          reconfiguring = false;
        }
      });
    } catch (IOException | RuntimeException e) {
      LOG.debug("{}: member check: {}", nodeName, e.toString());
    }
  }

  /**
   * How long a follower that answers the leader may stay at the same next index, while the
   * leader's log is ahead of it, before the leader hands over its leadership.
   */
  static final long STUCK_FOLLOWER_MS = 8_000;
  private final java.util.concurrent.ScheduledExecutorService watch =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          daemon("raft-follower-watch"));
  private final java.util.Map<String, long[]> followerSeen = new java.util.HashMap<>();
  private long lastHandOver;

  /**
   * The leader's safety net for a follower that answers but never catches up. After a kill -9 a
   * restarted follower's Raft log can end before the index it had acknowledged; the leader then
   * keeps resending from after that index and the follower keeps refusing it, until the leader
   * changes. A leader that sees a responsive follower stuck for {@link #STUCK_FOLLOWER_MS}
   * while its own log is ahead hands its leadership to the most advanced other follower; the
   * new leader probes the follower's log afresh.
   */
  void checkFollowers() {
    try {
      org.apache.ratis.server.DivisionInfo info = server.getDivision(group.getGroupId()).getInfo();
      if (!info.isLeader()) {
        followerSeen.clear();
        return;
      }
      var followers = info.getRoleInfoProto().getLeaderInfo().getFollowerInfoList();
      long[] next = info.getFollowerNextIndices();
      if (next.length != followers.size()) {
        return;
      }
      long now = System.currentTimeMillis();
      long applied = info.getLastAppliedIndex();
      // a follower whose next entry the log no longer holds (or that is new) is being sent a
      // snapshot: its next index moves only once that is installed, and another leader would
      // have to start it again
      long logStart = server.getDivision(group.getGroupId()).getRaftLog().getStartIndex();
      String stuck = null;
      String best = null;
      long bestNext = -1;
      for (int i = 0; i < next.length; i++) {
        var f = followers.get(i);
        String id = f.getId().getId().toStringUtf8();
        long[] seen = followerSeen.get(id);
        if (seen == null || seen[0] != next[i]) {
          followerSeen.put(id, new long[] {next[i], now});
          seen = followerSeen.get(id);
        }
        boolean answers = f.getLastRpcElapsedTimeMs() < 3_000;
        boolean gettingSnapshot = next[i] < logStart || next[i] == 0;
        if (answers && !gettingSnapshot && next[i] <= applied
            && now - seen[1] >= STUCK_FOLLOWER_MS) {
          stuck = id;
        } else if (answers && next[i] > bestNext) {
          best = id;
          bestNext = next[i];
        }
      }
      if (stuck == null || best == null || now - lastHandOver < 30_000) {
        return;
      }
      lastHandOver = now;
      LOG.warn("{}: follower {} answers but its log has not moved from index {} for {} s;"
          + " handing leadership to {}", nodeName, stuck, followerSeen.get(stuck)[0],
          (now - followerSeen.get(stuck)[1]) / 1000, best);
      followerSeen.clear();
      client.admin().transferLeadership(RaftPeerId.valueOf(best), 5_000);
    } catch (IOException | RuntimeException e) {
      LOG.debug("{}: follower check: {}", nodeName, e.toString());
    }
  }

  /**
   * Orders a proposal; completes when it is committed and applied, or fails after
   * {@link #PROPOSE_DEADLINE_MS}.
   *
   * <p>The proposal goes to the leader this node's own Raft server knows: straight into the
   * local server when this node leads, otherwise over the group's gRPC transport to that peer.
   * Until it is answered it is resent, with the same client id and call id, whenever the leader
   * changes, the peer refuses it as not (or not yet) leader, the connection fails, or an attempt
   * gets no answer within {@link #ATTEMPT_TIMEOUT_MS}. Raft's retry cache, which every member
   * fills as it applies entries, answers a resent call that was already ordered with the
   * original outcome, so a resend never orders a proposal twice.
   */
  public CompletableFuture<Void> propose(byte[] proposal) {
    Attempts a = new Attempts(callIds.incrementAndGet(), Message.valueOf(
        org.apache.ratis.thirdparty.com.google.protobuf.ByteString.copyFrom(proposal)),
        System.currentTimeMillis() + PROPOSE_DEADLINE_MS);
    a.send();
    return a.result;
  }

  /** Resends in-flight proposals that wait on a peer that is no longer the leader. */
  void leaderChanged(RaftPeerId newLeader) {
    for (Attempts a : inFlight) {
      a.leaderChanged(newLeader);
    }
  }

  /** One proposal's sends, until it is answered or its deadline passes. */
  private final class Attempts {
    final long callId;
    final Message message;
    final long deadline;
    final CompletableFuture<Void> result = new CompletableFuture<>();
    private RaftPeerId target;
    private CompletableFuture<RaftClientReply> attempt;

    Attempts(long callId, Message message, long deadline) {
      this.callId = callId;
      this.message = message;
      this.deadline = deadline;
      inFlight.add(this);
      result.whenComplete((ok, err) -> inFlight.remove(this));
    }

    synchronized void send() {
      if (result.isDone()) {
        return;
      }
      long left = deadline - System.currentTimeMillis();
      if (left <= 0) {
        result.completeExceptionally(new IllegalStateException(
            "no leader ordered the proposal within " + PROPOSE_DEADLINE_MS + " ms"));
        return;
      }
      RaftPeerId leader = leaderOrNull();
      if (leader == null) {
        LOG.debug("{}: call {}: no leader known", nodeName, callId);
        retryLater();
        return;
      }
      target = leader;
      RaftClientRequest request = RaftClientRequest.newBuilder().setClientId(clientId)
          .setServerId(leader).setGroupId(group.getGroupId()).setCallId(callId)
          .setMessage(message).setType(RaftClientRequest.writeRequestType()).build();
      CompletableFuture<RaftClientReply> f;
      try {
        f = leader.equals(self)
            ? server.submitClientRequestAsync(request)
            : client.getClientRpc().sendRequestAsyncUnordered(request);
      } catch (IOException | RuntimeException e) {
        f = CompletableFuture.failedFuture(e);
      }
      CompletableFuture<RaftClientReply> mine =
          f.orTimeout(Math.min(ATTEMPT_TIMEOUT_MS, left), TimeUnit.MILLISECONDS);
      attempt = mine;
      mine.whenComplete((reply, err) -> answered(mine, leader, reply, err));
    }

    private void answered(CompletableFuture<RaftClientReply> which, RaftPeerId to,
        RaftClientReply reply, Throwable err) {
      synchronized (this) {
        if (which != attempt || result.isDone()) {
          return; // an older attempt, superseded by a resend
        }
        attempt = null;
      }
      if (err != null && !to.equals(self)) {
        // the transport closes its connection to a peer after a failure; reopen it for resends
        client.getClientRpc().handleException(target, unwrap(err), true);
      }
      if (err == null && reply.isSuccess()) {
        result.complete(null);
      } else if (err != null || reply.getNotLeaderException() != null
          || reply.getLeaderNotReadyException() != null
          || reply.getLeaderSteppingDownException() != null
          || reply.getAlreadyClosedException() != null) {
        // expected around a leader change; the leader change itself is logged, and a proposal
        // that is never ordered is reported by the batcher
        LOG.debug("{}: call {} to {} not ordered, retrying: {}", nodeName, callId, to,
            err != null ? err.toString() : String.valueOf(reply.getException()));
        retryLater();
      } else {
        result.completeExceptionally(
            new IllegalStateException("ordering failed: " + reply.getException()));
      }
    }

    void leaderChanged(RaftPeerId newLeader) {
      synchronized (this) {
        if (attempt == null || newLeader == null || newLeader.equals(target)) {
          return;
        }
        attempt = null; // its answer, if one still comes, is ignored
      }
      send();
    }

    private void retryLater() {
      CompletableFuture.delayedExecutor(RETRY_PAUSE_MS, TimeUnit.MILLISECONDS)
          .execute(this::send);
    }
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof java.util.concurrent.CompletionException && t.getCause() != null
        ? t.getCause() : t;
  }

  private RaftPeerId leaderOrNull() {
    try {
      return server.getDivision(group.getGroupId()).getInfo().getLeaderId();
    } catch (IOException e) {
      return null;
    }
  }

  /** True if this node currently leads the group. */
  public boolean isLeader() {
    try {
      return server.getDivision(group.getGroupId()).getInfo().isLeader();
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * This node's view of the group, for operators: every member with its address and, when
   * this node leads, how long since each follower last answered and the next log index it is
   * sent; when this node follows, the leader it follows. Plain JSON-ready values.
   */
  public java.util.Map<String, Object> health() {
    java.util.Map<String, Object> out = new java.util.LinkedHashMap<>();
    try {
      org.apache.ratis.server.DivisionInfo info = server.getDivision(group.getGroupId()).getInfo();
      out.put("self", self.toString());
      out.put("role", info.getCurrentRole().name().toLowerCase(java.util.Locale.ROOT));
      out.put("term", info.getCurrentTerm());
      out.put("leader", info.getLeaderId() == null ? null : info.getLeaderId().toString());
      out.put("appliedIndex", info.getLastAppliedIndex());
      var division = server.getDivision(group.getGroupId());
      // the first entry this node's Raft log still holds, and its newest snapshot
      out.put("logStartIndex", division.getRaftLog().getStartIndex());
      var snap = stateMachine.getLatestSnapshot();
      out.put("snapshotIndex", snap == null ? -1 : snap.getIndex());
      java.util.Map<String, long[]> followers = new java.util.HashMap<>();
      if (info.isLeader()) {
        var list = info.getRoleInfoProto().getLeaderInfo().getFollowerInfoList();
        long[] next = info.getFollowerNextIndices();
        for (int i = 0; i < list.size() && i < next.length; i++) {
          followers.put(list.get(i).getId().getId().toStringUtf8(),
              new long[] {list.get(i).getLastRpcElapsedTimeMs(), next[i]});
        }
      }
      List<java.util.Map<String, Object>> peers = new java.util.ArrayList<>();
      for (RaftPeer p : currentPeers()) {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        String id = p.getId().toString();
        m.put("id", id);
        m.put("address", p.getAddress());
        m.put("role", id.equals(out.get("leader")) ? "leader" : "follower");
        long[] f = followers.get(id);
        if (f != null) {
          m.put("lastContactMs", f[0]);
          m.put("nextIndex", f[1]);
        }
        peers.add(m);
      }
      out.put("peers", peers);
    } catch (IOException e) {
      out.put("role", "unavailable");
    }
    return out;
  }

  /** The current Raft leader's node id, or null while there is none known. */
  /**
   * Hands the leadership to {@code nodeId}, a current member of the Raft group (before
   * maintenance on the leader's machine, say, so that the network need not wait out an election
   * timeout): the leader brings it up to date and tells it to start an election at once. Returns
   * once it leads; {@link IllegalArgumentException} when it is not a member, {@link IOException}
   * when it did not take over within {@code timeoutMs}.
   */
  public void transferLeadership(String nodeId, long timeoutMs) throws IOException {
    if (currentPeers().stream().noneMatch(p -> p.getId().toString().equals(nodeId))) {
      throw new IllegalArgumentException("node " + nodeId + " is not a member of the Raft group");
    }
    // the target's election can fail (under load its log may still trail, or another node
    // times out first); while time is left, the leader is asked again
    long deadline = System.currentTimeMillis() + timeoutMs;
    String failure;
    do {
      long left = deadline - System.currentTimeMillis();
      try {
        org.apache.ratis.protocol.RaftClientReply r =
            client.admin().transferLeadership(RaftPeerId.valueOf(nodeId), left);
        if (r.isSuccess()) {
          LOG.info("{}: leadership handed to {} on request", nodeName, nodeId);
          return;
        }
        failure = r.getException() == null ? "" : ": " + r.getException().getMessage();
      } catch (IOException e) {
        failure = ": " + e.getMessage();
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    } while (deadline - System.currentTimeMillis() > 2_000);
    throw new IOException("leadership was not handed to " + nodeId + failure);
  }

  public String leaderIdOrNull() {
    RaftPeerId id = leaderOrNull();
    return id == null ? null : id.toString();
  }

  @Override
  public void close() throws IOException {
    stateMachine.closing = true;
    watch.shutdownNow();
    reconfigure.shutdownNow();
    client.close();
    server.close();
  }

  /** Applies committed entries to the ledger, in log order. */
  static final class LedgerStateMachine extends BaseStateMachine {
    private final String nodeName;
    private final String selfId;
    private final LedgerService ledger;
    private final java.util.function.Consumer<RaftPeerId> onLeaderChange;
    private final CheckpointStorage storage = new CheckpointStorage();
    /** Set when this node shuts its Raft server down itself. */
    volatile boolean closing;
    private final long snapshotEvery;
    /**
     * Flushes the ledger's memtables shortly before a snapshot is due, away from the thread
     * that applies entries, so that the snapshot's own flush has little left to write.
     */
    private final java.util.concurrent.ExecutorService preflush =
        java.util.concurrent.Executors.newSingleThreadExecutor(daemon("ledger-preflush"));
    /** The snapshot the pre-flushes are counted from, and how many started (apply thread). */
    private long preflushBase = Long.MIN_VALUE;
    private int preflushStage;
    /** The pre-flush under way, if any: snapshots and installs wait for it. */
    private final java.util.concurrent.atomic.AtomicReference<java.util.concurrent.Future<?>>
        preflushing = new java.util.concurrent.atomic.AtomicReference<>();
    /** Below this snapshot interval the memtables stay small and a pre-flush gains nothing. */
    static final long PREFLUSH_FROM = 1000;

    LedgerStateMachine(String nodeName, String selfId, LedgerService ledger,
        java.util.function.Consumer<RaftPeerId> onLeaderChange, long snapshotEvery) {
      this.selfId = selfId;
      this.nodeName = nodeName;
      this.ledger = ledger;
      this.onLeaderChange = onLeaderChange;
      this.snapshotEvery = snapshotEvery;
    }

    /**
     * Ratis takes a snapshot {@code snapshotEvery} entries after the last one. A checkpoint
     * flushes the memtables on the applying thread, and with a full memtable that held up
     * applying (and so every client's commit) for 200 to 400 ms. Half way there and again nine
     * tenths of the way, the memtables are flushed in the background instead (writes go on into
     * new ones), so the checkpoint has only the last tenth to flush, and the second background
     * flush only two fifths. A snapshot or an install that comes while a background flush is
     * still running waits for it first (the flushes run one at a time, in order).
     * With snapshots less than {@link #PREFLUSH_FROM} entries apart there is little to flush,
     * and none is started.
     */
    private void preflushIfDue(long index) {
      if (snapshotEvery < PREFLUSH_FROM) {
        return;
      }
      var latest = storage.getLatestSnapshot();
      long base = latest == null ? 0 : latest.getIndex();
      if (base != preflushBase) {
        preflushBase = base;
        preflushStage = 0;
      }
      long since = index - base;
      int due = since >= snapshotEvery - snapshotEvery / 10 ? 2
          : since >= snapshotEvery / 2 ? 1 : 0;
      if (due <= preflushStage) {
        return;
      }
      preflushStage = due;
      try {
        preflushing.set(preflush.submit(() -> {
          try {
            ledger.store().flushToTables();
          } catch (IOException | RuntimeException e) {
            // only an optimisation: the snapshot flushes anyway
            RaftOrdering.LOG.warn("{}: background flush before a snapshot failed: {}",
                nodeName, e.getMessage());
          }
        }));
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // closing: no flush is needed
      }
    }

    /**
     * Waits for a pre-flush under way, so that no other flush, checkpoint or install of the
     * ledger runs at the same time as it.
     */
    private void awaitPreflush() {
      java.util.concurrent.Future<?> f = preflushing.getAndSet(null);
      if (f == null) {
        return;
      }
      try {
        f.get();
      } catch (java.util.concurrent.ExecutionException e) {
        // the task logs its own failure
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public void close() throws IOException {
      awaitPreflush();
      preflush.shutdown();
      try {
        // the ledger store is closed after this state machine: no flush may still run then
        preflush.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      super.close();
    }

    @Override
    public void notifyServerShutdown(org.apache.ratis.proto.RaftProtos.RoleInfoProto role,
        boolean allServer) {
      if (closing) {
        return;
      }
      if (ledger.removedNode(selfId)) {
        // the leader tells a node that is no longer in the Raft group to shut down
        stop(74, REMOVED);
      }
      stop(73, "the Raft server stopped unexpectedly");
    }

    private void stop(int code, String why) {
      halt(nodeName, code, why);
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId member, RaftPeerId newLeader) {
      RaftOrdering.LOG.info("{}: leader is now {}", nodeName, newLeader);
      onLeaderChange.accept(newLeader);
    }

    @Override
    public void initialize(RaftServer raftServer, RaftGroupId groupId, RaftStorage raftStorage)
        throws IOException {
      super.initialize(raftServer, groupId, raftStorage);
      storage.init(raftStorage);
      var snap = storage.getLatestSnapshot();
      if (snap != null) {
        // the node restored its ledger from this checkpoint at start if it held less
        updateLastAppliedTermIndex(snap.getTermIndex());
      }
      getLifeCycle().transition(org.apache.ratis.util.LifeCycle.State.STARTING);
      getLifeCycle().transition(org.apache.ratis.util.LifeCycle.State.RUNNING);
    }

    @Override
    public CheckpointStorage getStateMachineStorage() {
      return storage;
    }

    /** Ratis pauses the state machine while it receives a snapshot (once per chunk). */
    @Override
    public void pause() {
      if (getLifeCycle().getCurrentState() == org.apache.ratis.util.LifeCycle.State.RUNNING) {
        getLifeCycle().transition(org.apache.ratis.util.LifeCycle.State.PAUSING);
        getLifeCycle().transition(org.apache.ratis.util.LifeCycle.State.PAUSED);
      }
    }

    /**
     * Ratis has received the leader's snapshot and put it in place: the ledger checks it in
     * full (every block, signature, log node and state entry, from the genesis) and then takes
     * its shared families from it, keeping this node's vault and FHIR index. A snapshot that
     * fails the check is never used: the node stops.
     */
    @Override
    public void reinitialize() throws IOException {
      storage.refresh();
      CheckpointStorage.Snapshot s = CheckpointStorage.latest(storage.dir());
      if (s == null) {
        stop(75, "Raft reported a snapshot installed, but none is in " + storage.dir());
        return;
      }
      try {
        awaitPreflush();
        long t0 = System.nanoTime();
        LedgerService.Installed done = ledger.installSnapshot(s.dir());
        RaftOrdering.LOG.info("{}: installed the leader's snapshot at Raft index {}: height {},"
            + " {} transactions, verified and applied in {} ms", nodeName,
            s.termIndex().getIndex(), done.height(), done.logSize(),
            (System.nanoTime() - t0) / 1_000_000);
      } catch (LedgerService.DivergedException e) {
        stop(71, e.getMessage());
      } catch (LedgerService.SnapshotRefusedException e) {
        stop(75, e.getMessage());
      } catch (IOException | RuntimeException e) {
        RaftOrdering.LOG.error("{}: cannot install the snapshot at {}; stopping", nodeName,
            s.termIndex(), e);
        Runtime.getRuntime().halt(70);
      }
      updateLastAppliedTermIndex(s.termIndex());
      getLifeCycle().transition(org.apache.ratis.util.LifeCycle.State.STARTING);
      getLifeCycle().transition(org.apache.ratis.util.LifeCycle.State.RUNNING);
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
      LogEntryProto entry = trx.getLogEntry();
      if (entry.getIndex() <= ledger.appliedIndex()) {
        // applied before a restart (or part of a snapshot): not decoded again
        updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
        return CompletableFuture.completedFuture(Message.EMPTY);
      }
      try {
        BlockProposal proposal = BlockProposal.decode(
            entry.getStateMachineLogEntry().getLogData().toByteArray());
        ledger.apply(proposal, entry.getIndex());
        preflushIfDue(entry.getIndex());
      } catch (LedgerService.DivergedException e) {
        stop(71, e.getMessage());
      } catch (IOException | RuntimeException e) {
        // a block that cannot be written or executed must stop this node, not be skipped:
        // skipping it would let this replica diverge silently
        RaftOrdering.LOG.error("{}: cannot apply raft entry {}; stopping", nodeName, entry.getIndex(), e);
        Runtime.getRuntime().halt(70);
      }
      updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
      return CompletableFuture.completedFuture(Message.EMPTY);
    }

    /**
     * A checkpoint of the ledger's shared families at the last applied entry (this runs on the
     * thread that applies entries, so the ledger is exactly there). RocksDB flushes its
     * memtables for it, so the ledger is durable up to this index before Raft may purge its log.
     */
    @Override
    public long takeSnapshot() throws IOException {
      TermIndex last = getLastAppliedTermIndex();
      if (last == null || last.getIndex() < 0) {
        return -1;
      }
      var latest = storage.getLatestSnapshot();
      if (latest != null && latest.getIndex() >= last.getIndex()) {
        return latest.getIndex();
      }
      long t0 = System.nanoTime();
      awaitPreflush();
      Path tmp = storage.tmpDirFor(last);
      CheckpointStorage.deleteTree(tmp);
      ledger.store().syncToDisk();
      ledger.store().checkpointShared(tmp);
      storage.publish(tmp, last);
      RaftOrdering.LOG.info("{}: snapshot at Raft index {} (height {}) in {} ms", nodeName,
          last.getIndex(), ledger.latest().header().height(),
          (System.nanoTime() - t0) / 1_000_000);
      return last.getIndex();
    }
  }
}
