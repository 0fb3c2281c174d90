package org.careledger.node.vault;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.TinkProtoKeysetFormat;
import com.google.crypto.tink.subtle.AesGcmJce;
import com.google.crypto.tink.util.SecretBytes;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.AesGcmKey;
import com.google.crypto.tink.aead.AesGcmParameters;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.careledger.client.keys.KeyFile;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Sha256;
import org.careledger.core.json.CanonicalJson;

/**
 * The custodian's vault. Each record version is encrypted under its own data key (AES-256-GCM
 * through Tink's AES-GCM primitive); the data key is wrapped by the node's key-encryption key (also AES-256-GCM),
 * and both ciphertexts are bound (associated data) to the record pseudonym, version and patient
 * pseudonym, so an entry moved to another record or version does not decrypt. The plaintext is
 * {@code salt (32 bytes) || resource bytes}; the ledger holds SHA-256 of it (the commitment).
 *
 * <p>Pseudonyms are the first 16 bytes of HMAC-SHA256 under the node's pseudonym key, in hex:
 * stable on this node, meaningless elsewhere.
 *
 * <p>Thread-safe. Keys live in {@code keys/vault.keys} (mode 0600; encrypted when a passphrase
 * is set) and are never logged.
 */
public final class Vault {
  private static final byte[] AAD_PREFIX = "careledger/vault/v1".getBytes(StandardCharsets.UTF_8);
  private static final String KIND = "vault-keys";
  private static final SecureRandom RANDOM = new SecureRandom();
  /** A data key: AES-256-GCM, 12-byte nonce, 16-byte tag, no Tink output prefix. */
  private static final AesGcmParameters DEK;

  static {
    try {
      AeadConfig.register();
      DEK = AesGcmParameters.builder().setKeySizeBytes(32).setIvSizeBytes(12)
          .setTagSizeBytes(16).setVariant(AesGcmParameters.Variant.NO_PREFIX).build();
    } catch (GeneralSecurityException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final Aead kek;
  private final SecretKeySpec pseudonymKey;

  /** A vault entry that failed its integrity checks; never served. */
  public static final class IntegrityException extends Exception {
    private static final long serialVersionUID = 1L;

    public IntegrityException(String message) {
      super(message);
    }
  }

  /** A sealed version: the commitment for the ledger and the entry bytes for the vault. */
  public record Sealed(byte[] commitment, byte[] entry) {}

  private final ThreadLocal<Mac> macs;

  private Vault(Aead kek, byte[] pseudonymKey) {
    this.kek = kek;
    this.pseudonymKey = new SecretKeySpec(pseudonymKey, "HmacSHA256");
    this.macs = ThreadLocal.withInitial(() -> {
      try {
        Mac m = Mac.getInstance("HmacSHA256");
        m.init(this.pseudonymKey);
        return m;
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("HMAC-SHA256 is required by every Java platform", e);
      }
    });
  }

  /** Creates fresh vault keys at {@code path}. */
  public static void createKeys(Path path, char[] passphraseOrNull) throws IOException {
    byte[] pseudo = new byte[32];
    RANDOM.nextBytes(pseudo);
    try {
      writeKeys(path, KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM), pseudo,
          passphraseOrNull);
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot create vault keys", e);
    } finally {
      Arrays.fill(pseudo, (byte) 0);
    }
  }

  /** Opens the vault with the keys at {@code path}, creating them first if there are none. */
  public static Vault open(Path path, char[] passphraseOrNull) throws IOException {
    if (!Files.exists(path)) {
      createKeys(path, passphraseOrNull);
    }
    Keys k = readKeys(path, passphraseOrNull);
    try {
      return new Vault(k.kek().getPrimitive(RegistryConfiguration.get(), Aead.class),
          k.pseudonymKey());
    } catch (GeneralSecurityException e) {
      throw new KeyFile.KeyFileException(path + " does not hold valid vault keys");
    } finally {
      Arrays.fill(k.pseudonymKey(), (byte) 0);
    }
  }

  /** The key-encryption keyset and the pseudonym key, as a vault keys file holds them. */
  private record Keys(KeysetHandle kek, byte[] pseudonymKey) {}

  private static Keys readKeys(Path path, char[] passphraseOrNull) throws IOException {
    byte[] secret = KeyFile.readSecret(path, KIND, passphraseOrNull);
    try {
      var o = CanonicalJson.parse(secret);
      return new Keys(TinkProtoKeysetFormat.parseKeyset(Codec.unb64(o.get("kek").asText()),
          InsecureSecretKeyAccess.get()), Codec.unb64(o.get("pseudonymKey").asText()));
    } catch (GeneralSecurityException | CanonicalJson.InvalidJsonException
        | RuntimeException e) {
      throw new KeyFile.KeyFileException(path + " does not hold valid vault keys");
    } finally {
      Arrays.fill(secret, (byte) 0);
    }
  }

  /**
   * Writes vault keys to {@code path}, which must not exist (mode 0600, encrypted under the
   * passphrase when one is given).
   */
  private static void writeKeys(Path path, KeysetHandle kek, byte[] pseudonymKey,
      char[] passphraseOrNull) throws IOException, GeneralSecurityException {
    var o = CanonicalJson.object();
    o.put("kek", Codec.b64(TinkProtoKeysetFormat.serializeKeyset(kek,
        InsecureSecretKeyAccess.get())));
    o.put("pseudonymKey", Codec.b64(pseudonymKey));
    byte[] secret = CanonicalJson.canonicalize(o);
    try {
      KeyFile.writeSecret(path, KIND, secret, passphraseOrNull);
    } finally {
      Arrays.fill(secret, (byte) 0);
    }
  }

  /**
   * Replaces the vault keys at {@code path} in one step: the new file is written and synced
   * beside it, then renamed over it, so a crash leaves either the old keys or the new ones.
   */
  private static void replaceKeys(Path path, KeysetHandle kek, byte[] pseudonymKey,
      char[] passphraseOrNull) throws IOException, GeneralSecurityException {
    Path next = path.resolveSibling(path.getFileName() + ".new");
    Files.deleteIfExists(next);
    writeKeys(next, kek, pseudonymKey, passphraseOrNull);
    try (FileChannel ch = FileChannel.open(next, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    Files.move(next, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel dir = FileChannel.open(path.toAbsolutePath().getParent(),
        StandardOpenOption.READ)) {
      dir.force(true);
    }
  }

  /**
   * The first step of rotating the key-encryption key: a new one is added to the vault keys at
   * {@code path} and wraps from now on, while the old one stays to unwrap what it wrapped. The
   * pseudonym key stays (the ledger holds the pseudonyms). Keys that already hold more than one
   * key-encryption key are from a rotation that was interrupted, and are kept as they are.
   */
  public static void beginKeyRotation(Path path, char[] passphraseOrNull) throws IOException {
    Keys k = readKeys(path, passphraseOrNull);
    try {
      if (k.kek().size() == 1) {
        replaceKeys(path, KeysetHandle.newBuilder(k.kek()).addEntry(KeysetHandle
            .generateEntryFromParameters(PredefinedAeadParameters.AES256_GCM).withRandomId()
            .makePrimary()).build(), k.pseudonymKey(), passphraseOrNull);
      }
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot add a key-encryption key", e);
    } finally {
      Arrays.fill(k.pseudonymKey(), (byte) 0);
    }
  }

  /**
   * The last step of a rotation: the vault keys keep only the key-encryption key that wraps;
   * the others are gone from the file (an entry they still wrapped no longer opens).
   */
  public static void finishKeyRotation(Path path, char[] passphraseOrNull) throws IOException {
    Keys k = readKeys(path, passphraseOrNull);
    try {
      KeysetHandle.Builder b = KeysetHandle.newBuilder(k.kek());
      for (int i = b.size() - 1; i >= 0; i--) {
        if (!b.getAt(i).isPrimary()) {
          b.deleteAt(i);
        }
      }
      replaceKeys(path, b.build(), k.pseudonymKey(), passphraseOrNull);
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot remove the old key-encryption key", e);
    } finally {
      Arrays.fill(k.pseudonymKey(), (byte) 0);
    }
  }

  /** The pseudonym of {@code value} in namespace {@code kind} (e.g. "record", "patient"). */
  public String pseudonym(String kind, String value) {
    Mac mac = macs.get();
    mac.update(kind.getBytes(StandardCharsets.UTF_8));
    mac.update((byte) 0);
    return Codec.hex(Arrays.copyOf(mac.doFinal(value.getBytes(StandardCharsets.UTF_8)), 16));
  }

  private static byte[] aad(String record, long version, String patient) {
    byte[] r = record.getBytes(StandardCharsets.UTF_8);
    byte[] p = patient.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(AAD_PREFIX.length + r.length + p.length + 10).put(AAD_PREFIX)
        .put((byte) 0).put(r).putLong(version).put((byte) 0).put(p).array();
  }

  /**
   * Encrypts one version. Entry format (version 2): u8 2, u16 length of the wrapped data key,
   * the wrapped data key (the 32 key bytes encrypted by the key-encryption key), the ciphertext
   * (AES-256-GCM under the data key: 12-byte nonce, ciphertext, 16-byte tag). Both encryptions
   * have the record, version and patient as associated data.
   */
  public Sealed seal(String record, long version, String patient, byte[] content) {
    byte[] salt = new byte[32];
    RANDOM.nextBytes(salt);
    return sealSalted(record, version, patient, ByteBuffer.allocate(salt.length + content.length)
        .put(salt).put(content).array());
  }

  /**
   * Encrypts {@code salt (32 bytes) || resource bytes} made by someone else (a patient's
   * browser, which commits to them before the node sees them). The array is zeroed.
   */
  public Sealed sealSalted(String record, long version, String patient, byte[] plain) {
    byte[] aad = aad(record, version, patient);
    byte[] raw = null;
    try {
      AesGcmKey dek = AesGcmKey.builder().setParameters(DEK).setKeyBytes(
          SecretBytes.randomBytes(32)).build();
      raw = dek.getKeyBytes().toByteArray(InsecureSecretKeyAccess.get());
      byte[] wrapped = kek.encrypt(raw, aad);
      byte[] ct = AesGcmJce.create(dek).encrypt(plain, aad);
      byte[] entry = ByteBuffer.allocate(3 + wrapped.length + ct.length).put((byte) 2)
          .putShort((short) wrapped.length).put(wrapped).put(ct).array();
      byte[] commitment = Sha256.hash(plain);
      return new Sealed(commitment, entry);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("encryption failed", e);
    } finally {
      Arrays.fill(plain, (byte) 0);
      if (raw != null) {
        Arrays.fill(raw, (byte) 0);
      }
    }
  }

  /**
   * As {@link #sealSalted} in the first entry format (u8 1; the data key a whole Tink keyset
   * encrypted by the key-encryption key), which nodes wrote before version 2 and still read.
   * Kept so that tests can show such entries still open.
   */
  Sealed sealVersion1(String record, long version, String patient, byte[] plain) {
    byte[] aad = aad(record, version, patient);
    try {
      KeysetHandle dek = KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM);
      byte[] ct = dek.getPrimitive(RegistryConfiguration.get(), Aead.class).encrypt(plain, aad);
      byte[] wrapped = TinkProtoKeysetFormat.serializeEncryptedKeyset(dek, kek, aad);
      byte[] entry = ByteBuffer.allocate(3 + wrapped.length + ct.length).put((byte) 1)
          .putShort((short) wrapped.length).put(wrapped).put(ct).array();
      return new Sealed(Sha256.hash(plain), entry);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("encryption failed", e);
    }
  }

  /**
   * Decrypts one version and checks it against the commitment anchored on the ledger. Returns
   * the resource bytes (without the salt).
   *
   * @throws IntegrityException if the entry does not decrypt (changed ciphertext or wrapped
   *     key, or an entry moved from another record) or does not match the commitment
   */
  public byte[] open(String record, long version, String patient, byte[] entry,
      byte[] commitment) throws IntegrityException {
    byte[] plain = openWithSalt(record, version, patient, entry, commitment);
    return Arrays.copyOfRange(plain, 32, plain.length);
  }

  /** As {@link #open}, returning {@code salt || resource bytes} (for proofs). */
  public byte[] openWithSalt(String record, long version, String patient, byte[] entry,
      byte[] commitment) throws IntegrityException {
    Parts e = Parts.of(entry);
    byte[] aad = aad(record, version, patient);
    byte[] plain;
    try {
      if (e.format() == 2) {
        byte[] raw = kek.decrypt(e.wrapped(), aad);
        try {
          plain = AesGcmJce.create(AesGcmKey.builder().setParameters(DEK).setKeyBytes(
              SecretBytes.copyFrom(raw, InsecureSecretKeyAccess.get())).build())
              .decrypt(e.ciphertext(), aad);
        } finally {
          Arrays.fill(raw, (byte) 0);
        }
      } else {
        KeysetHandle dek = TinkProtoKeysetFormat.parseEncryptedKeyset(e.wrapped(), kek, aad);
        plain = dek.getPrimitive(RegistryConfiguration.get(), Aead.class)
            .decrypt(e.ciphertext(), aad);
      }
    } catch (GeneralSecurityException x) {
      throw new IntegrityException("vault entry does not decrypt");
    }
    if (commitment == null || plain.length < 32
        || !MessageDigest.isEqual(Sha256.hash(plain), commitment)) {
      throw new IntegrityException("vault entry does not match its commitment on the ledger");
    }
    return plain;
  }
  /**
   * Wraps the data key of one entry again, under the key-encryption key that wraps now (for a
   * rotation); the ciphertext stays as it is, and so does the commitment it matches.
   *
   * @throws IntegrityException if the entry is malformed or its data key does not unwrap
   */
  public byte[] rewrap(String record, long version, String patient, byte[] entry)
      throws IntegrityException {
    Parts e = Parts.of(entry);
    byte[] aad = aad(record, version, patient);
    byte[] again;
    try {
      if (e.format() == 2) {
        byte[] raw = kek.decrypt(e.wrapped(), aad);
        try {
          again = kek.encrypt(raw, aad);
        } finally {
          Arrays.fill(raw, (byte) 0);
        }
      } else {
        again = TinkProtoKeysetFormat.serializeEncryptedKeyset(
            TinkProtoKeysetFormat.parseEncryptedKeyset(e.wrapped(), kek, aad), kek, aad);
      }
    } catch (GeneralSecurityException x) {
      throw new IntegrityException("vault entry's data key does not unwrap");
    }
    return ByteBuffer.allocate(3 + again.length + e.ciphertext().length).put(e.format())
        .putShort((short) again.length).put(again).put(e.ciphertext()).array();
  }

  /**
   * An entry's parts: its format (1 or 2), the wrapped data key, and the ciphertext under it.
   */
  private record Parts(byte format, byte[] wrapped, byte[] ciphertext) {
    static Parts of(byte[] entry) throws IntegrityException {
      if (entry == null || entry.length < 3 || (entry[0] != 1 && entry[0] != 2)) {
        throw new IntegrityException("vault entry is missing or malformed");
      }
      ByteBuffer b = ByteBuffer.wrap(entry);
      b.get();
      int wl = b.getShort() & 0xffff;
      if (wl > entry.length - 3) {
        throw new IntegrityException("vault entry is malformed");
      }
      byte[] wrapped = new byte[wl];
      b.get(wrapped);
      byte[] ct = new byte[b.remaining()];
      b.get(ct);
      return new Parts(entry[0], wrapped, ct);
    }
  }
}
