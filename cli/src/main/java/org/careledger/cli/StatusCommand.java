package org.careledger.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "status", mixinStandardHelpOptions = true,
    description = "Show a node's chain, height, log size and root.")
final class StatusCommand implements Callable<Integer> {
  @Mixin Options.Client client;

  @Override
  public Integer call() throws Exception {
    var s = client.connect(client.loadKey()).get("/api/v1/status");
    System.out.println("chain     " + s.get("chain").asText());
    System.out.println("node      " + s.get("node").asText() + (s.get("leader").asBoolean()
        ? " (leader)" : s.hasNonNull("leaderId") ? " (follower of " + s.get("leaderId").asText()
            + ")" : " (no leader known)"));
    System.out.println("height    " + s.get("height").asLong());
    System.out.println("log size  " + s.get("logSize").asLong());
    System.out.println("log root  " + s.get("logRoot").asText());
    System.out.println("signed in as " + s.get("you").asText());
    return 0;
  }
}
