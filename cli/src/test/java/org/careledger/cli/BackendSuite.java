package org.careledger.cli;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A suite that runs unchanged against every {@link Backend}: its network is started before the
 * suite's own set-up (superclass {@code @BeforeAll} methods run first) and stopped after it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class BackendSuite {
  @TempDir static Path tmp;
  /** The node the suite talks to. */
  static NodeProcess node;

  private Backend running;

  /** The network this suite runs against. */
  abstract Backend backend();

  @BeforeAll
  void startNetwork() throws Exception {
    running = backend();
    node = running.start(tmp);
  }

  @AfterAll
  void stopNetwork() throws Exception {
    running.stop();
  }
}
