package org.careledger.node.vault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import org.careledger.core.crypto.Sha256;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The vault's entry formats: version 2 (a raw data key wrapped by the key-encryption key) is
 * what a node writes; version 1 (a whole Tink keyset wrapped), written by earlier nodes, still
 * opens; both refuse an entry that was changed or moved to another record, version or patient.
 */
class VaultFormatTest {
  @TempDir
  Path dir;

  private static byte[] salted(String text) {
    byte[] t = text.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[32 + t.length];
    Arrays.fill(out, 0, 32, (byte) 7);
    System.arraycopy(t, 0, out, 32, t.length);
    return out;
  }

  @Test
  void bothFormatsOpenAndRefuseChangedOrMovedEntries() throws Exception {
    Vault v = Vault.open(dir.resolve("vault.keys"), null);
    String body = "{\"resourceType\":\"Observation\",\"status\":\"final\"}";
    Vault.Sealed two = v.sealSalted("rec1", 3, "pat1", salted(body));
    Vault.Sealed one = v.sealVersion1("rec1", 3, "pat1", salted(body));
    assertThat(two.entry()[0]).isEqualTo((byte) 2);
    assertThat(one.entry()[0]).isEqualTo((byte) 1);
    assertThat(two.commitment()).isEqualTo(Sha256.hash(salted(body)));
    for (Vault.Sealed s : new Vault.Sealed[] {one, two}) {
      assertThat(new String(v.open("rec1", 3, "pat1", s.entry(), s.commitment()),
          StandardCharsets.UTF_8)).isEqualTo(body);
      assertThatThrownBy(() -> v.open("rec2", 3, "pat1", s.entry(), s.commitment()))
          .isInstanceOf(Vault.IntegrityException.class);
      assertThatThrownBy(() -> v.open("rec1", 4, "pat1", s.entry(), s.commitment()))
          .isInstanceOf(Vault.IntegrityException.class);
      assertThatThrownBy(() -> v.open("rec1", 3, "pat2", s.entry(), s.commitment()))
          .isInstanceOf(Vault.IntegrityException.class);
      // one changed byte anywhere: the wrapped key, the ciphertext, the last tag byte
      for (int at : new int[] {5, s.entry().length / 2, s.entry().length - 1}) {
        byte[] changed = s.entry().clone();
        changed[at] ^= 1;
        assertThatThrownBy(() -> v.open("rec1", 3, "pat1", changed, s.commitment()))
            .isInstanceOf(Vault.IntegrityException.class);
      }
    }
    // a data key wrapped in one format is not accepted as the other
    byte[] relabelled = two.entry().clone();
    relabelled[0] = 1;
    assertThatThrownBy(() -> v.open("rec1", 3, "pat1", relabelled, two.commitment()))
        .isInstanceOf(Vault.IntegrityException.class);
    byte[] unknown = two.entry().clone();
    unknown[0] = 3;
    assertThatThrownBy(() -> v.open("rec1", 3, "pat1", unknown, two.commitment()))
        .isInstanceOf(Vault.IntegrityException.class).hasMessageContaining("malformed");
  }

  @Test
  void anotherNodesKeysDoNotOpenAnEntry() throws Exception {
    Vault mine = Vault.open(dir.resolve("a.keys"), null);
    Vault other = Vault.open(dir.resolve("b.keys"), null);
    Vault.Sealed s = mine.sealSalted("rec1", 1, "", salted("{}"));
    assertThatThrownBy(() -> other.open("rec1", 1, "", s.entry(), s.commitment()))
        .isInstanceOf(Vault.IntegrityException.class);
  }
}
