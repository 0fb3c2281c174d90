package org.careledger.client;

import java.util.ArrayList;
import java.util.List;
import org.careledger.core.contract.Command;
import org.careledger.core.contract.CommandCodec;
import org.careledger.core.tx.Transaction;
import org.careledger.core.tx.TxCodec;

/** Reads what a client needs from a genesis transaction: the chain id and the node keys. */
public record GenesisFile(String chain, Command.Genesis command) {
  public static GenesisFile parse(byte[] bytes) {
    Transaction tx = switch (TxCodec.decode(bytes)) {
      case TxCodec.Decoded.Ok ok -> ok.tx();
      case TxCodec.Decoded.Refused r ->
          throw new IllegalArgumentException("not a genesis: " + r.refusal().detail());
    };
    try {
      if (CommandCodec.decode(tx.contract(), tx.command()) instanceof Command.Genesis g) {
        return new GenesisFile(tx.chain(), g);
      }
    } catch (CommandCodec.CommandException e) {
      throw new IllegalArgumentException("not a genesis: " + e.getMessage());
    }
    throw new IllegalArgumentException("not a genesis transaction");
  }

  public List<byte[]> nodeKeys() {
    List<byte[]> keys = new ArrayList<>();
    for (Command.OrgSpec o : command.organizations()) {
      if (o.nodeKey() != null) {
        keys.add(o.nodeKey());
      }
    }
    return keys;
  }
}
