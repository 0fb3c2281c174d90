package org.careledger.core.ledger;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What the leader orders as one Raft log entry: a batch of transaction bytes with the block time
 * and the proposing node's key id. Binary form: u8 version (1), i64 time, u16 proposer length,
 * proposer UTF-8, i32 count, then per transaction i32 length and bytes (big-endian).
 */
public record BlockProposal(long time, String proposer, List<byte[]> txs) {
  public BlockProposal {
    txs = List.copyOf(txs);
  }

  public byte[] encode() {
    ByteArrayOutputStream bos = new ByteArrayOutputStream(64 + txs.size() * 400);
    try (DataOutputStream out = new DataOutputStream(bos)) {
      out.writeByte(1);
      out.writeLong(time);
      byte[] p = proposer.getBytes(StandardCharsets.UTF_8);
      out.writeShort(p.length);
      out.write(p);
      out.writeInt(txs.size());
      for (byte[] tx : txs) {
        out.writeInt(tx.length);
        out.write(tx);
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return bos.toByteArray();
  }

  /** Decodes a proposal; throws IllegalArgumentException if the bytes are not one. */
  public static BlockProposal decode(byte[] bytes) {
    try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes))) {
      if (in.readByte() != 1) {
        throw new IllegalArgumentException("unknown proposal version");
      }
      long time = in.readLong();
      byte[] p = new byte[in.readUnsignedShort()];
      in.readFully(p);
      int n = in.readInt();
      if (n < 0 || n > 1_000_000) {
        throw new IllegalArgumentException("bad transaction count " + n);
      }
      List<byte[]> txs = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        int len = in.readInt();
        if (len < 0 || len > bytes.length) {
          throw new IllegalArgumentException("bad transaction length " + len);
        }
        byte[] tx = new byte[len];
        in.readFully(tx);
        txs.add(tx);
      }
      if (in.available() != 0) {
        throw new IllegalArgumentException("trailing bytes after proposal");
      }
      return new BlockProposal(time, new String(p, StandardCharsets.UTF_8), txs);
    } catch (IOException e) {
      throw new IllegalArgumentException("truncated proposal");
    }
  }
}
