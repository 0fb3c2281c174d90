package org.careledger.node.ordering;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Date;
import java.util.Set;
import java.util.function.Supplier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x509.TBSCertificate;
import org.bouncycastle.asn1.x509.Time;
import org.bouncycastle.asn1.x509.V3TBSCertificateGenerator;
import org.careledger.core.crypto.Ed25519;
import org.careledger.core.crypto.Sha256;

/**
 * Mutually authenticated TLS between the nodes' Raft endpoints, keyed by the node keys of the
 * membership state. At start each node makes a TLS key (ECDSA P-256: the Raft transport's
 * native TLS does not take Ed25519 keys) and a self-signed certificate for it that carries, in
 * the extension {@link #BINDING}, the node's Ed25519 public key and its signature over
 * "careledger-raft-tls/v1" || SHA-256(the certificate's SubjectPublicKeyInfo). Each side
 * accepts the other only if that signature verifies and the Ed25519 key is, at handshake time,
 * the active key of a node identity in its ledger state. No certificate authority and no trust
 * on first use: a key that is not (or no longer) a node key of the ledger cannot open a
 * connection. Host names are not checked; the node key is the identity. Nothing is stored.
 */
public final class NodeTls {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NodeTls.class);
  /** The binding extension's OID, under the UUID arc 2.25 (no registration needed). */
  static final ASN1ObjectIdentifier BINDING =
      new ASN1ObjectIdentifier("2.25.225017612349839734102458917130716468713");
  static final byte[] CONTEXT = "careledger-raft-tls/v1".getBytes(StandardCharsets.UTF_8);

  private NodeTls() {}

  /** A TLS key and its certificate bound to {@code nodeKey}. */
  public record Identity(PrivateKey key, X509Certificate certificate) {}

  /** Makes this run's TLS key and its certificate, named for {@code nodeId}. */
  public static Identity identity(String nodeId, Ed25519.KeyPair nodeKey)
      throws GeneralSecurityException, IOException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair tls = g.generateKeyPair();
    byte[] spki = tls.getPublic().getEncoded();
    byte[] binding = concat(nodeKey.publicKey(), nodeKey.sign(bound(spki)));
    AlgorithmIdentifier ecdsa = new AlgorithmIdentifier(
        new ASN1ObjectIdentifier("1.2.840.10045.4.3.2")); // ecdsa-with-SHA256
    X500Name name = new X500Name("CN=" + nodeId.replaceAll("[^A-Za-z0-9._-]", "_"));
    long now = System.currentTimeMillis();
    V3TBSCertificateGenerator tbs = new V3TBSCertificateGenerator();
    tbs.setSerialNumber(new ASN1Integer(new BigInteger(64, new SecureRandom())));
    tbs.setIssuer(name);
    tbs.setSubject(name);
    tbs.setStartDate(new Time(new Date(now - 3_600_000L)));
    tbs.setEndDate(new Time(new Date(now + 10L * 365 * 86_400_000L)));
    tbs.setSignature(ecdsa);
    tbs.setSubjectPublicKeyInfo(SubjectPublicKeyInfo.getInstance(spki));
    tbs.setExtensions(new Extensions(new Extension(BINDING, false,
        new DEROctetString(binding))));
    TBSCertificate t = tbs.generateTBSCertificate();
    Signature sig = Signature.getInstance("SHA256withECDSA");
    sig.initSign(tls.getPrivate());
    sig.update(t.getEncoded("DER"));
    ASN1EncodableVector v = new ASN1EncodableVector();
    v.add(t);
    v.add(ecdsa);
    v.add(new DERBitString(sig.sign()));
    byte[] der = new DERSequence(v).getEncoded("DER");
    X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(der));
    return new Identity(tls.getPrivate(), cert);
  }

  /** What the node key signs: the context, then SHA-256 of the TLS key's SPKI. */
  private static byte[] bound(byte[] spki) {
    return concat(CONTEXT, Sha256.hash(spki));
  }

  /** The key manager presenting {@code id}'s certificate. */
  public static KeyManager keyManager(Identity id) throws GeneralSecurityException, IOException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    char[] pw = new char[0];
    ks.setKeyEntry("node", id.key(), pw, new X509Certificate[] {id.certificate()});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, pw);
    return kmf.getKeyManagers()[0];
  }

  /**
   * The node key a certificate is bound to, as its key id, if the certificate is self-signed,
   * current and carries a binding that verifies; otherwise throws.
   */
  public static String boundNodeKeyId(X509Certificate c) throws CertificateException {
    c.checkValidity();
    try {
      c.verify(c.getPublicKey());
    } catch (GeneralSecurityException e) {
      throw new CertificateException("the certificate is not signed by its own key");
    }
    byte[] ext = c.getExtensionValue(BINDING.getId());
    byte[] binding;
    try {
      // the extension's value is the 96 bytes themselves: node public key, then signature
      binding = ext == null ? null : ASN1OctetString.getInstance(ext).getOctets();
    } catch (IllegalArgumentException e) {
      binding = null;
    }
    int pk = Ed25519.PUBLIC_KEY_SIZE;
    if (binding == null || binding.length != pk + Ed25519.SIGNATURE_SIZE) {
      throw new CertificateException("the certificate carries no node-key binding");
    }
    byte[] nodeKey = Arrays.copyOf(binding, pk);
    if (!Ed25519.verify(nodeKey, bound(c.getPublicKey().getEncoded()),
        Arrays.copyOfRange(binding, pk, binding.length))) {
      throw new CertificateException("the node-key binding does not verify");
    }
    return Ed25519.keyId(nodeKey);
  }

  /**
   * The trust manager of both sides: the peer's single certificate must be self-signed,
   * current and bound to a node key that is in {@code activeNodeKeyIds} now.
   */
  public static X509ExtendedTrustManager trustManager(Supplier<Set<String>> activeNodeKeyIds) {
    return new X509ExtendedTrustManager() {
      private void check(X509Certificate[] chain) throws CertificateException {
        try {
          if (chain == null || chain.length != 1) {
            throw new CertificateException("a node presents exactly one self-signed certificate");
          }
          String keyId = boundNodeKeyId(chain[0]);
          if (!activeNodeKeyIds.get().contains(keyId)) {
            throw new CertificateException("key " + keyId + " is not an active node key of the"
                + " membership state");
          }
        } catch (CertificateException e) {
          LOG.warn("refused a Raft TLS peer: {}", e.getMessage());
          throw e;
        }
      }

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType)
          throws CertificateException {
        check(chain);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType)
          throws CertificateException {
        check(chain);
      }

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType, Socket s)
          throws CertificateException {
        check(chain);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType, Socket s)
          throws CertificateException {
        check(chain);
      }

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine e)
          throws CertificateException {
        check(chain);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine e)
          throws CertificateException {
        check(chain);
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    };
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
