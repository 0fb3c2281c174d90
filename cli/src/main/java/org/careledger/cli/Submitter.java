package org.careledger.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.careledger.client.ApiClient;
import org.careledger.client.ApiException;
import org.careledger.client.Transactions;
import org.careledger.core.contract.Command;
import org.careledger.core.crypto.Ed25519;

/** Signs a command with the caller's key, submits it and prints the receipt. */
final class Submitter {
  private Submitter() {}

  static JsonNode submit(Options.Client opts, Command command, Path receiptOut)
      throws IOException, ApiException {
    Ed25519.KeyPair key = opts.loadKey();
    ApiClient api = opts.connect(key);
    String chain = api.get("/api/v1/status").get("chain").asText();
    byte[] tx = Transactions.sign(chain, key, command, System.currentTimeMillis(),
        Transactions.DEFAULT_VALIDITY_MS);
    return submitBytes(api, tx, receiptOut);
  }

  static JsonNode submitBytes(ApiClient api, byte[] tx, Path receiptOut)
      throws IOException, ApiException {
    JsonNode receipt = api.submit(tx);
    System.out.println("committed " + receipt.get("txId").asText() + " at leaf "
        + receipt.get("leafIndex").asLong() + " in block " + receipt.get("height").asLong());
    if (receiptOut != null) {
      Files.writeString(receiptOut, new ObjectMapper().writerWithDefaultPrettyPrinter()
          .writeValueAsString(receipt) + "\n");
      System.out.println("receipt written to " + receiptOut);
    }
    return receipt;
  }
}
