package org.careledger.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.careledger.node.NetworkInit;

/**
 * The benchmarks' own data dirs and ports. A benchmark makes its nodes' data dirs under the
 * work dir and deletes them when it ends, whether it finished or failed: a run of the network
 * benchmarks writes gigabytes, and leftovers fill the disk.
 */
public final class WorkDirs {
  private WorkDirs() {}

  public static Path create(Path parent, String prefix) throws IOException {
    return Files.createTempDirectory(parent, prefix);
  }

  /** Deletes {@code dir} and everything under it; a dir already gone is fine. */
  public static void delete(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (NoSuchFileException e) {
      // already gone
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  /**
   * A free port on 127.0.0.1 for a node's Raft server, outside the range the kernel gives to
   * outgoing connections (see {@link NetworkInit#freePort}).
   */
  static int raftPort() throws IOException {
    return NetworkInit.freePort("127.0.0.1");
  }
}
