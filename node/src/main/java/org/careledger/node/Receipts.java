package org.careledger.node;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.careledger.core.crypto.Codec;

/**
 * Receipts: a committed transaction, its place in the log, and its inclusion proof against a
 * signed block. Written directly as canonical JSON (members in sorted order), splicing in the
 * transaction and block bytes, which are canonical already (protocol.md, section 7).
 */
public final class Receipts {
  private Receipts() {}

  public static byte[] receipt(LedgerService ledger, byte[] txBytes, byte[] txId, long leaf,
      long height, LedgerService.RecentBlock head) {
    StringBuilder sb = new StringBuilder(1200);
    sb.append("{\"height\":").append(height).append(",\"inclusionProof\":{\"hashes\":[");
    List<byte[]> proof = ledger.tree().inclusionProof(leaf, head.block().header().logSize());
    for (int i = 0; i < proof.size(); i++) {
      sb.append(i == 0 ? "\"" : ",\"").append(Codec.hex(proof.get(i))).append('"');
    }
    sb.append("],\"leafIndex\":").append(leaf).append(",\"treeSize\":")
        .append(head.block().header().logSize()).append("},\"leafIndex\":").append(leaf)
        .append(",\"treeHead\":");
    ByteArrayOutputStream out = new ByteArrayOutputStream(
        sb.length() + txBytes.length + head.canonical().length + 100);
    out.writeBytes(sb.toString().getBytes(StandardCharsets.UTF_8));
    out.writeBytes(head.canonical());
    out.writeBytes(",\"tx\":".getBytes(StandardCharsets.UTF_8));
    out.writeBytes(txBytes);
    out.writeBytes((",\"txId\":\"" + Codec.hex(txId) + "\"}").getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  /** The receipt of a committed transaction against the latest head, or null if unknown. */
  public static byte[] latest(LedgerService ledger, byte[] txId) {
    long leaf = ledger.store().leafOf(txId);
    if (leaf < 0) {
      return null;
    }
    return receipt(ledger, ledger.store().txBytes(leaf), txId, leaf,
        ledger.store().heightOfLeaf(leaf), ledger.block(ledger.latest().header().height()));
  }
}
