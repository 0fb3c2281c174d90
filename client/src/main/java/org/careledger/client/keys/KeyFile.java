package org.careledger.client.keys;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Set;
import javax.crypto.Cipher;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import org.careledger.core.crypto.Codec;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.json.CanonicalJson;

/**
 * Ed25519 private keys on disk. A key file is JSON {@code {"type":"careledger-ed25519-key",
 * "keyId","publicKey", ...}} holding either the secret seed encrypted under a passphrase
 * (PBKDF2-HMAC-SHA256, 600,000 iterations, AES-256-GCM with the key id as associated data) or,
 * when no passphrase is given, the plain seed. Every key file is created with mode 0600 and is
 * refused on load if group or others can read it.
 */
public final class KeyFile {
  private static final String TYPE = "careledger-ed25519-key";
  private static final int ITERATIONS = 600_000;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rw-------");

  private KeyFile() {}

  /** A key file that cannot be used; the message is safe to show. */
  public static final class KeyFileException extends IOException {
    private static final long serialVersionUID = 1L;

    public KeyFileException(String message) {
      super(message);
    }
  }

  /** Writes a new key file; refuses to overwrite an existing file. */
  public static void write(Path path, Ed25519.KeyPair key, char[] passphraseOrNull)
      throws IOException {
    ObjectNode o = CanonicalJson.object();
    o.put("type", TYPE);
    o.put("keyId", key.keyId());
    o.put("publicKey", Codec.b64(key.publicKey()));
    byte[] secret = key.exportSecret();
    try {
      seal(o, secret, passphraseOrNull, key.keyId());
    } finally {
      Arrays.fill(secret, (byte) 0);
    }
    createOwnerOnly(path);
    Files.write(path, CanonicalJson.canonicalize(o), StandardOpenOption.TRUNCATE_EXISTING);
  }

  /**
   * Writes an arbitrary secret (for example the vault's keys) with the same protection as a
   * key file: mode 0600, and encrypted when a passphrase is given. {@code kind} names what it
   * is and is bound to the ciphertext.
   */
  public static void writeSecret(Path path, String kind, byte[] secret, char[] passphraseOrNull)
      throws IOException {
    ObjectNode o = CanonicalJson.object();
    o.put("type", "careledger-secret");
    o.put("kind", kind);
    seal(o, secret, passphraseOrNull, kind);
    createOwnerOnly(path);
    Files.write(path, CanonicalJson.canonicalize(o), StandardOpenOption.TRUNCATE_EXISTING);
  }

  /** Reads a secret written by {@link #writeSecret}. */
  public static byte[] readSecret(Path path, String kind, char[] passphraseOrNull)
      throws IOException {
    if (!Files.isRegularFile(path)) {
      throw new KeyFileException("no secret file at " + path);
    }
    checkOwnerOnly(path);
    JsonNode o;
    try {
      o = CanonicalJson.parse(Files.readAllBytes(path));
    } catch (CanonicalJson.InvalidJsonException e) {
      throw new KeyFileException(path + " is not valid JSON");
    }
    if (!"careledger-secret".equals(o.path("type").asText())
        || !kind.equals(o.path("kind").asText())) {
      throw new KeyFileException(path + " is not a CareLedger " + kind + " file");
    }
    return open(o, path, passphraseOrNull, kind);
  }

  /** Puts the secret in {@code o}: encrypted under the passphrase, or as it is without one. */
  private static void seal(ObjectNode o, byte[] secret, char[] passphraseOrNull, String aad) {
    if (passphraseOrNull == null) {
      o.put("secret", Codec.b64(secret));
      return;
    }
    byte[] salt = new byte[16];
    byte[] nonce = new byte[12];
    RANDOM.nextBytes(salt);
    RANDOM.nextBytes(nonce);
    try {
      ObjectNode enc = o.putObject("encrypted");
      enc.put("kdf", "PBKDF2-HMAC-SHA256");
      enc.put("iterations", ITERATIONS);
      enc.put("salt", Codec.b64(salt));
      enc.put("cipher", "AES-256-GCM");
      enc.put("nonce", Codec.b64(nonce));
      enc.put("ciphertext", Codec.b64(aead(Cipher.ENCRYPT_MODE, passphraseOrNull, salt, nonce,
          aad, secret)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM and PBKDF2 are required by every Java platform", e);
    }
  }

  /** Takes the secret out of {@code o}, decrypting it with the passphrase if it is encrypted. */
  private static byte[] open(JsonNode o, Path path, char[] passphraseOrNull, String aad)
      throws KeyFileException {
    try {
      if (o.has("encrypted")) {
        if (passphraseOrNull == null) {
          throw new KeyFileException(path + " is encrypted; a passphrase is needed"
              + " (set CARELEDGER_PASSPHRASE or use --passphrase-file)");
        }
        JsonNode enc = o.get("encrypted");
        return aead(Cipher.DECRYPT_MODE, passphraseOrNull, Codec.unb64(enc.get("salt").asText()),
            Codec.unb64(enc.get("nonce").asText()), aad,
            Codec.unb64(enc.get("ciphertext").asText()));
      }
      return Codec.unb64(o.get("secret").asText());
    } catch (GeneralSecurityException e) {
      throw new KeyFileException("wrong passphrase for " + path);
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new KeyFileException(path + " is damaged");
    }
  }

  private static void createOwnerOnly(Path path) throws IOException {
    Files.createDirectories(path.toAbsolutePath().getParent());
    try {
      Files.createFile(path, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
    } catch (FileAlreadyExistsException e) {
      throw new KeyFileException(path + " already exists; not overwriting it");
    }
  }

  private static void checkOwnerOnly(Path path) throws IOException {
    if (Files.getFileStore(path).supportsFileAttributeView("posix")) {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(path);
      if (perms.contains(PosixFilePermission.GROUP_READ)
          || perms.contains(PosixFilePermission.OTHERS_READ)) {
        throw new KeyFileException(path + " is readable by others; run: chmod 600 " + path);
      }
    }
  }

  /** True if the key file at {@code path} needs a passphrase. */
  public static boolean isEncrypted(Path path) throws IOException {
    return readJson(path).has("encrypted");
  }

  /** Loads a key; {@code passphraseOrNull} is needed only for an encrypted file. */
  public static Ed25519.KeyPair read(Path path, char[] passphraseOrNull) throws IOException {
    JsonNode o = readJson(path);
    checkOwnerOnly(path);
    String keyId = o.path("keyId").asText();
    byte[] secret = open(o, path, passphraseOrNull, keyId);
    Ed25519.KeyPair key = Ed25519.KeyPair.fromSecret(secret);
    Arrays.fill(secret, (byte) 0);
    if (!key.keyId().equals(keyId)) {
      throw new KeyFileException("key file " + path + " does not match its key id");
    }
    return key;
  }

  private static JsonNode readJson(Path path) throws IOException {
    if (!Files.isRegularFile(path)) {
      throw new KeyFileException("no key file at " + path);
    }
    JsonNode o;
    try {
      o = CanonicalJson.parse(Files.readAllBytes(path));
    } catch (CanonicalJson.InvalidJsonException e) {
      throw new KeyFileException("key file " + path + " is not valid JSON");
    }
    if (!TYPE.equals(o.path("type").asText())) {
      throw new KeyFileException(path + " is not a CareLedger key file");
    }
    return o;
  }

  /** Reads the public half without needing the passphrase. */
  public static byte[] publicKey(Path path) throws IOException {
    return Codec.unb64(readJson(path).get("publicKey").asText());
  }

  private static byte[] aead(int mode, char[] passphrase, byte[] salt, byte[] nonce, String keyId,
      byte[] input) throws GeneralSecurityException {
    PBEKeySpec spec = new PBEKeySpec(passphrase, salt, ITERATIONS, 256);
    byte[] k = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec)
        .getEncoded();
    spec.clearPassword();
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(mode, new SecretKeySpec(k, "AES"), new GCMParameterSpec(128, nonce));
      c.updateAAD(keyId.getBytes(StandardCharsets.UTF_8));
      return c.doFinal(input);
    } finally {
      Arrays.fill(k, (byte) 0);
    }
  }
}
