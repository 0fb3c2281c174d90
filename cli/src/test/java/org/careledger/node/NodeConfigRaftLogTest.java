package org.careledger.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.careledger.node.ordering.RaftOrdering;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Raft log and block-interval settings of node.json: defaults, values, and a clear refusal
 * of bad ones.
 */
class NodeConfigRaftLogTest {
  @TempDir Path dir;

  private NodeConfig load(String extra) throws Exception {
    Files.writeString(dir.resolve(NodeConfig.FILE), "{\"node-id\":\"node1\","
        + "\"http\":\"127.0.0.1:0\"" + extra + "}");
    return NodeConfig.load(dir, null);
  }

  @Test
  void defaultsSnapshotEvery10000AndKeep10000EntriesIn64MbSegments() throws Exception {
    assertThat(load("").raftLog()).isEqualTo(RaftOrdering.LogSettings.DEFAULT)
        .isEqualTo(new RaftOrdering.LogSettings(10_000, 10_000, "64MB"));
  }

  @Test
  void readsEachSetting() throws Exception {
    assertThat(load(",\"snapshot-every\":50,\"raft-log-keep\":0,\"raft-segment-size\":\"2MB\"")
        .raftLog()).isEqualTo(new RaftOrdering.LogSettings(50, 0, "2MB"));
    assertThat(load(",\"raft-log-keep\":\"all\"").raftLog().keep()).isNegative();
  }

  @Test
  void refusesBadValuesNamingTheSetting() {
    assertThatThrownBy(() -> load(",\"snapshot-every\":0"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("snapshot-every");
    assertThatThrownBy(() -> load(",\"snapshot-every\":\"often\""))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("snapshot-every");
    assertThatThrownBy(() -> load(",\"raft-log-keep\":\"forever\""))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("raft-log-keep");
    assertThatThrownBy(() -> load(",\"raft-log-keep\":-5"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("raft-log-keep");
    assertThatThrownBy(() -> load(",\"raft-segment-size\":\"big\""))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("raft-segment-size");
  }

  @Test
  void blockIntervalIsNoneForOneNodeAnd25MsPerOtherNodeByDefault() throws Exception {
    NodeConfig auto = load("");
    assertThat(auto.blockIntervalMs()).isEqualTo(NodeConfig.AUTO);
    assertThat(auto.blockInterval(1)).isZero();
    assertThat(auto.blockInterval(3)).isEqualTo(50);
    assertThat(auto.blockInterval(5)).isEqualTo(100);
    assertThat(auto.blockInterval(40)).as("at most 200 ms").isEqualTo(200);
    assertThat(load(",\"block-interval\":\"auto\"").blockInterval(3)).isEqualTo(50);
  }

  @Test
  void aConfiguredBlockIntervalHoldsWhateverTheNetworksSize() throws Exception {
    NodeConfig c = load(",\"block-interval\":10");
    assertThat(c.blockInterval(1)).isEqualTo(10);
    assertThat(c.blockInterval(5)).isEqualTo(10);
    assertThat(load(",\"block-interval\":0").blockInterval(3)).isZero();
  }

  @Test
  void refusesABadBlockInterval() {
    for (String bad : new String[] {"-1", "\"soon\"", "10001", "true"}) {
      assertThatThrownBy(() -> load(",\"block-interval\":" + bad))
          .as(bad).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("block-interval");
    }
  }
}
