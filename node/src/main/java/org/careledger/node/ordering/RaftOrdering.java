package org.careledger.node.ordering;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.util.MD5FileUtil;
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
 * stored in the ledger. A Ratis snapshot is taken only after the ledger is synced to disk, so the
 * Raft log is never purged past what the ledger holds durably.
 */
public final class RaftOrdering implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RaftOrdering.class);

  /** One member of the Raft group. */
  public record Peer(String id, String address) {}

  private final String nodeName;
  private final RaftServer server;
  private final RaftProperties props;
  private volatile RaftClient client;
  private final RaftGroup group;
  private final RaftPeerId self;

  public RaftOrdering(String nodeName, Path raftDir, String selfId, List<Peer> peers,
      String chain, LedgerService ledger) throws IOException {
    this.nodeName = nodeName;
    this.self = RaftPeerId.valueOf(selfId);
    RaftGroupId groupId = RaftGroupId.valueOf(
        UUID.nameUUIDFromBytes(("careledger:" + chain).getBytes(StandardCharsets.UTF_8)));
    List<RaftPeer> raftPeers = peers.stream()
        .map(p -> RaftPeer.newBuilder().setId(p.id()).setAddress(p.address()).build()).toList();
    this.group = RaftGroup.valueOf(groupId, raftPeers);
    RaftPeer me = raftPeers.stream().filter(p -> p.getId().equals(self)).findFirst()
        .orElseThrow(() -> new IOException("node " + selfId + " is not a member of the group"));
    RaftProperties props = properties(raftDir, me.getAddress());
    Files.createDirectories(raftDir);
    this.server = RaftServer.newBuilder().setServerId(self).setGroup(group)
        .setStateMachine(new LedgerStateMachine(nodeName, ledger)).setProperties(props)
        .setOption(RaftStorage.StartupOption.RECOVER).build();
    this.props = props;
    this.client = newClient();
  }

  private static RaftProperties properties(Path raftDir, String address) {
    RaftProperties p = new RaftProperties();
    RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
    int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    GrpcConfigKeys.Server.setPort(p, port);
    GrpcConfigKeys.Server.setHost(p, address.substring(0, address.lastIndexOf(':')));
    GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf("64MB"));
    RaftServerConfigKeys.setStorageDir(p, List.of(raftDir.toFile()));
    RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf("64MB"));
    RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf("48MB"));
    RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, SizeInBytes.valueOf("40MB"));
    RaftServerConfigKeys.Log.setUnsafeFlushEnabled(p, false);
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, 2000);
    RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(1000, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(2000, TimeUnit.MILLISECONDS));
    return p;
  }

  private RaftClient newClient() {
    return RaftClient.newBuilder().setProperties(props).setRaftGroup(group)
        .setClientId(ClientId.randomId()).build();
  }

  /**
   * Replaces the client that sends this node's proposals to the leader, failing whatever it
   * still has in flight. The batcher calls this when a proposal has waited far longer than a
   * leader election takes: a client stuck on a leader that froze or vanished is dropped rather
   * than waited for. A failed proposal may still have been ordered; its transactions then
   * commit without an acknowledgement, and a client that resends one is told it is a duplicate.
   */
  public synchronized void resetClient() {
    RaftClient old = client;
    client = newClient();
    LOG.warn("{}: a proposal waited too long for the leader; reconnecting to the group",
        nodeName);
    try {
      old.close();
    } catch (IOException e) {
      LOG.warn("{}: closing the old client failed: {}", nodeName, e.getMessage());
    }
  }

  public void start() throws IOException {
    server.start();
    LOG.info("{}: raft server {} started in group {}", nodeName, self, group.getGroupId());
  }

  /** Orders a proposal; completes when it is committed and applied (or fails). */
  public CompletableFuture<Void> propose(byte[] proposal) {
    return client.async().send(Message.valueOf(
            org.apache.ratis.thirdparty.com.google.protobuf.ByteString.copyFrom(proposal)))
        .thenAccept(RaftOrdering::checkReply);
  }

  private static void checkReply(RaftClientReply reply) {
    if (!reply.isSuccess()) {
      throw new IllegalStateException("ordering failed: " + reply.getException());
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

  /** The current Raft leader's node id, or null while there is none known. */
  public String leaderIdOrNull() {
    try {
      RaftPeerId id = server.getDivision(group.getGroupId()).getInfo().getLeaderId();
      return id == null ? null : id.toString();
    } catch (IOException e) {
      return null;
    }
  }

  @Override
  public void close() throws IOException {
    client.close();
    server.close();
  }

  /** Applies committed entries to the ledger, in log order. */
  static final class LedgerStateMachine extends BaseStateMachine {
    private final String nodeName;
    private final LedgerService ledger;
    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();

    LedgerStateMachine(String nodeName, LedgerService ledger) {
      this.nodeName = nodeName;
      this.ledger = ledger;
    }

    @Override
    public void initialize(RaftServer raftServer, RaftGroupId groupId, RaftStorage raftStorage)
        throws IOException {
      super.initialize(raftServer, groupId, raftStorage);
      storage.init(raftStorage);
      SingleFileSnapshotInfo snap = storage.getLatestSnapshot();
      if (snap != null) {
        updateLastAppliedTermIndex(snap.getTermIndex());
      }
    }

    @Override
    public SimpleStateMachineStorage getStateMachineStorage() {
      return storage;
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
      LogEntryProto entry = trx.getLogEntry();
      try {
        BlockProposal proposal = BlockProposal.decode(
            entry.getStateMachineLogEntry().getLogData().toByteArray());
        ledger.apply(proposal, entry.getIndex());
      } catch (LedgerService.DivergedException e) {
        LOG.error("{}: stopping: {}", nodeName, e.getMessage());
        System.err.println("careledger: " + nodeName + " stopped: " + e.getMessage());
        System.err.flush();
        Runtime.getRuntime().halt(71);
      } catch (IOException | RuntimeException e) {
        // a block that cannot be written or executed must stop this node, not be skipped:
        // skipping it would let this replica diverge silently
        LOG.error("{}: cannot apply raft entry {}; stopping", nodeName, entry.getIndex(), e);
        Runtime.getRuntime().halt(70);
      }
      updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
      return CompletableFuture.completedFuture(Message.EMPTY);
    }

    @Override
    public long takeSnapshot() throws IOException {
      TermIndex last = getLastAppliedTermIndex();
      if (last == null || last.getIndex() < 0) {
        return -1;
      }
      // the ledger must be durable up to this index before Raft may purge its log there
      ledger.store().syncToDisk();
      File f = storage.getSnapshotFile(last.getTerm(), last.getIndex());
      Files.writeString(f.toPath(), "applied " + last.getIndex() + "\n");
      MD5FileUtil.computeAndSaveMd5ForFile(f);
      storage.updateLatestSnapshot(new SingleFileSnapshotInfo(
          new org.apache.ratis.server.storage.FileInfo(f.toPath(),
              MD5FileUtil.readStoredMd5ForFile(f)), last));
      return last.getIndex();
    }
  }
}
