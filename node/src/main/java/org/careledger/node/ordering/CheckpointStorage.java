package org.careledger.node.ordering;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.impl.FileListSnapshotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Raft snapshots of a node: each is a directory {@code snapshot.TERM_INDEX} in the state
 * machine folder of the Raft storage, holding a RocksDB checkpoint of the ledger's shared column
 * families at that Raft index (no vault or FHIR-index rows). A directory exists under that name
 * only once it is complete: a node writes its own checkpoint under a temporary name and renames
 * it; a received one is renamed into place by Ratis after its last chunk.
 */
final class CheckpointStorage implements StateMachineStorage {
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointStorage.class);
  private static final Pattern NAME = Pattern.compile("snapshot\\.(\\d+)_(\\d+)");
  static final String TMP_PREFIX = "tmp-checkpoint.";

  /** One complete snapshot directory. */
  record Snapshot(Path dir, TermIndex termIndex) {}

  private volatile File smDir;

  @Override
  public void init(RaftStorage raftStorage) throws IOException {
    smDir = raftStorage.getStorageDir().getStateMachineDir();
    Files.createDirectories(smDir.toPath());
    try (var files = Files.list(smDir.toPath())) {
      for (Path f : files.toList()) {
        String n = f.getFileName().toString();
        // a checkpoint a stop interrupted, and the plain marker files of earlier versions
        if (n.startsWith(TMP_PREFIX) || (Files.isRegularFile(f) && n.startsWith("snapshot."))) {
          deleteTree(f);
        }
      }
    }
    refresh();
  }

  Path dir() {
    return smDir.toPath();
  }

  /** Where a new checkpoint at {@code ti} is written, then {@link #publish}ed. */
  Path tmpDirFor(TermIndex ti) {
    return dir().resolve(TMP_PREFIX + ti.getTerm() + "_" + ti.getIndex());
  }

  Path publish(Path tmp, TermIndex ti) throws IOException {
    Path target = dir().resolve("snapshot." + ti.getTerm() + "_" + ti.getIndex());
    Files.move(tmp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    refresh();
    return target;
  }

  /** The newest complete snapshot in {@code smDir}, or null. */
  static Snapshot latest(Path smDir) throws IOException {
    List<Snapshot> all = all(smDir);
    return all.isEmpty() ? null : all.get(all.size() - 1);
  }

  private static List<Snapshot> all(Path smDir) throws IOException {
    List<Snapshot> out = new ArrayList<>();
    if (!Files.isDirectory(smDir)) {
      return out;
    }
    try (var files = Files.list(smDir)) {
      for (Path f : files.toList()) {
        Matcher m = NAME.matcher(f.getFileName().toString());
        if (m.matches() && Files.isDirectory(f) && Files.exists(f.resolve("CURRENT"))) {
          out.add(new Snapshot(f, TermIndex.valueOf(Long.parseLong(m.group(1)),
              Long.parseLong(m.group(2)))));
        }
      }
    }
    out.sort(Comparator.comparingLong(s -> s.termIndex().getIndex()));
    return out;
  }

  /** Ratis asks for the latest snapshot on every append round; the listing is kept. */
  private volatile SnapshotInfo latest;

  @Override
  public SnapshotInfo getLatestSnapshot() {
    return latest;
  }

  /** Lists the snapshot directories again (after one was taken, installed or removed). */
  void refresh() {
    latest = list();
  }

  private SnapshotInfo list() {
    try {
      Snapshot s = smDir == null ? null : latest(smDir.toPath());
      if (s == null) {
        return null;
      }
      List<FileInfo> files = new ArrayList<>();
      try (var paths = Files.walk(s.dir())) {
        for (Path p : paths.filter(Files::isRegularFile).sorted().toList()) {
          if (!p.getFileName().toString().endsWith(".md5")) {
            files.add(new FileInfo(p, null));
          }
        }
      }
      return new FileListSnapshotInfo(files, s.termIndex());
    } catch (IOException e) {
      LOG.warn("cannot list the Raft snapshots: {}", e.toString());
      return null;
    }
  }

  @Override
  public void format() {
    // nothing to prepare: snapshot directories are created as they are taken
  }

  /**
   * How long a snapshot stays after a newer one replaced it: a leader may have begun sending it
   * to a follower just before, and Ratis opens its files one after another as it sends them.
   */
  static final long SUPERSEDED_GRACE_MS = 120_000;

  /**
   * Keeps the newest snapshots the policy asks for, and any older one whose successor is less
   * than {@link #SUPERSEDED_GRACE_MS} old.
   */
  @Override
  public void cleanupOldSnapshots(SnapshotRetentionPolicy policy) throws IOException {
    int keep = Math.max(1, policy.getNumSnapshotsRetained());
    List<Snapshot> all = all(dir());
    long now = System.currentTimeMillis();
    for (int i = 0; i < all.size() - keep; i++) {
      long supersededAt = Files.getLastModifiedTime(all.get(i + 1).dir()).toMillis();
      if (now - supersededAt >= SUPERSEDED_GRACE_MS) {
        deleteTree(all.get(i).dir());
      }
    }
    refresh();
  }

  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (var paths = Files.walk(p)) {
      for (Path q : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(q);
      }
    }
  }
}
