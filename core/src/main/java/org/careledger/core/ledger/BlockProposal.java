package org.careledger.core.ledger;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What a node orders as one Raft log entry: a batch of transaction bytes with the block time
 * and the proposing node's key id, and the node's signatures over headers it applied
 * ({@link Cosignature}s). Binary form (big-endian): u8 version (2), i64 time, u16 proposer
 * length, proposer UTF-8, i32 count, then per transaction i32 length and bytes; then i32
 * cosignature count, and per cosignature i32 header length, the header's canonical JSON, u16
 * key id length, key id UTF-8, and the 64 signature bytes. Version 1 is the same without the
 * cosignature part, used when there are none.
 */
public record BlockProposal(long time, String proposer, List<byte[]> txs,
    List<Cosignature> cosignatures) {
  public BlockProposal {
    txs = List.copyOf(txs);
    cosignatures = List.copyOf(cosignatures);
  }

  public BlockProposal(long time, String proposer, List<byte[]> txs) {
    this(time, proposer, txs, List.of());
  }

  public byte[] encode() {
    ByteArrayOutputStream bos = new ByteArrayOutputStream(64 + txs.size() * 400);
    try (DataOutputStream out = new DataOutputStream(bos)) {
      boolean v2 = !cosignatures.isEmpty();
      out.writeByte(v2 ? 2 : 1);
      out.writeLong(time);
      byte[] p = proposer.getBytes(StandardCharsets.UTF_8);
      out.writeShort(p.length);
      out.write(p);
      out.writeInt(txs.size());
      for (byte[] tx : txs) {
        out.writeInt(tx.length);
        out.write(tx);
      }
      if (v2) {
        out.writeInt(cosignatures.size());
        for (Cosignature c : cosignatures) {
          byte[] h = c.header().canonicalBytes();
          out.writeInt(h.length);
          out.write(h);
          byte[] k = c.keyId().getBytes(StandardCharsets.UTF_8);
          out.writeShort(k.length);
          out.write(k);
          out.write(c.sig());
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return bos.toByteArray();
  }

  /** Decodes a proposal; throws IllegalArgumentException if the bytes are not one. */
  public static BlockProposal decode(byte[] bytes) {
    try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes))) {
      int version = in.readByte();
      if (version != 1 && version != 2) {
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
      List<Cosignature> cosigs = new ArrayList<>();
      if (version == 2) {
        int m = in.readInt();
        if (m < 0 || m > 100_000) {
          throw new IllegalArgumentException("bad cosignature count " + m);
        }
        for (int i = 0; i < m; i++) {
          int len = in.readInt();
          if (len < 0 || len > 4096) {
            throw new IllegalArgumentException("bad header length " + len);
          }
          byte[] h = new byte[len];
          in.readFully(h);
          byte[] k = new byte[in.readUnsignedShort()];
          in.readFully(k);
          byte[] sig = new byte[64];
          in.readFully(sig);
          BlockHeader header;
          try {
            header = BlockHeader.fromJson(org.careledger.core.json.CanonicalJson.parse(h));
          } catch (org.careledger.core.json.CanonicalJson.InvalidJsonException e) {
            throw new IllegalArgumentException("a cosigned header is not JSON");
          }
          if (!java.util.Arrays.equals(header.canonicalBytes(), h)) {
            throw new IllegalArgumentException("a cosigned header is not canonical");
          }
          cosigs.add(new Cosignature(header, new String(k, StandardCharsets.UTF_8), sig));
        }
      }
      if (in.available() != 0) {
        throw new IllegalArgumentException("trailing bytes after proposal");
      }
      return new BlockProposal(time, new String(p, StandardCharsets.UTF_8), txs, cosigs);
    } catch (IOException e) {
      throw new IllegalArgumentException("truncated proposal");
    }
  }
}
