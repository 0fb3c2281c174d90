package org.careledger.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "token", mixinStandardHelpOptions = true,
    description = "Sign in with your key and print a bearer token (valid five minutes) for"
        + " other HTTP clients, e.g. curl -H \"Authorization: Bearer $(careledger token"
        + " --key my.key)\" http://127.0.0.1:8080/fhir/Patient")
final class TokenCommand implements Callable<Integer> {
  @Mixin Options.Client client;

  @Override
  public Integer call() throws Exception {
    System.out.println(client.connect(client.loadKey()).token());
    return 0;
  }
}
