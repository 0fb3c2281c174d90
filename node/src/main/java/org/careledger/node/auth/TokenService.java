package org.careledger.node.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.Ed25519Verifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.security.SecureRandom;
import java.text.ParseException;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.careledger.core.contract.Role;
import org.careledger.core.crypto.Codec;
import org.careledger.core.ledger.Membership;
import org.careledger.core.ledger.StateView;

/**
 * SMART Backend Services authentication. A client posts a JWT assertion signed (EdDSA) with its
 * registered Ed25519 key: {@code iss} = {@code sub} = its key id, {@code aud} = this node's
 * token endpoint URL (see {@link #TokenService}), {@code exp} at most five minutes ahead, and a {@code jti} never seen before. It gets
 * an opaque bearer token valid for {@link #TOKEN_TTL_MS}. Every use of a token re-checks that
 * its key and identity are still active, so a revocation takes effect at once.
 *
 * <p>Thread-safe. Tokens and seen {@code jti}s are kept in memory: a restart ends every session,
 * and an assertion seen before a restart is still refused, because only assertions issued
 * ({@code iat}) after this service started are accepted.
 */
public final class TokenService {
  public static final long TOKEN_TTL_MS = 5 * 60 * 1000;
  public static final long MAX_ASSERTION_LIFETIME_MS = 5 * 60 * 1000;
  private static final long CLOCK_SKEW_MS = 60 * 1000;

  /** An authenticated caller. */
  public record Session(String identity, String keyId, Role role, String org, long expires) {}

  /** A refused token request; the message is safe to return to the client. */
  public static final class AuthException extends Exception {
    private static final long serialVersionUID = 1L;

    public AuthException(String message) {
      super(message);
    }
  }

  private final SecureRandom random = new SecureRandom();
  private final java.util.Set<String> audiences;

  /**
   * A token service for the node reachable at {@code baseUrls} (e.g. its HTTP address and a
   * public URL behind a proxy): assertions must name one of their token endpoints as
   * {@code aud}, so an assertion made for one node is useless at another.
   */
  public TokenService(java.util.Collection<String> baseUrls) {
    java.util.Set<String> a = new java.util.LinkedHashSet<>();
    for (String b : baseUrls) {
      String base = b.endsWith("/") ? b.substring(0, b.length() - 1) : b;
      a.add(base + TOKEN_PATH);
    }
    this.audiences = java.util.Collections.unmodifiableSet(a);
  }

  /**
   * The token endpoint a page served from {@code origin} (scheme://host:port) should name as
   * {@code aud}: its own when this node answers there, otherwise the node's first address.
   */
  public String audienceFor(String origin) {
    String own = origin + TOKEN_PATH;
    return audiences.contains(own) ? own : audiences.iterator().next();
  }

  /** The token endpoint path. */
  public static final String TOKEN_PATH = "/api/v1/auth/token";

  /** The base URLs of a node listening at host:port: the address and its loopback aliases. */
  public static java.util.List<String> baseUrls(String host, int port, String publicUrlOrNull) {
    java.util.List<String> out = new java.util.ArrayList<>();
    java.util.List<String> hosts = new java.util.ArrayList<>(java.util.List.of(host));
    if (host.equals("127.0.0.1") || host.equals("localhost") || host.equals("::1")) {
      hosts = java.util.List.of("127.0.0.1", "localhost", "[::1]");
    }
    for (String h : hosts) {
      out.add("http://" + h + ":" + port);
    }
    if (publicUrlOrNull != null && !publicUrlOrNull.isBlank()) {
      out.add(publicUrlOrNull);
    }
    return out;
  }
  private final Map<String, Session> tokens = new ConcurrentHashMap<>();
  private final Map<String, Long> seenJti = new ConcurrentHashMap<>();
  // JWT times have one-second precision
  private final long startedAt = System.currentTimeMillis() / 1000 * 1000;

  /** Validates a client assertion and issues a bearer token. */
  public Map.Entry<String, Session> exchange(String assertion, StateView state, long now)
      throws AuthException {
    SignedJWT jwt;
    JWTClaimsSet claims;
    try {
      jwt = SignedJWT.parse(assertion);
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      throw new AuthException("client_assertion is not a signed JWT");
    }
    if (!JWSAlgorithm.EdDSA.equals(jwt.getHeader().getAlgorithm())) {
      throw new AuthException("client_assertion must be signed with EdDSA (Ed25519)");
    }
    String keyId = claims.getIssuer();
    if (keyId == null || !keyId.equals(claims.getSubject())) {
      throw new AuthException("iss and sub must both be the client's key id");
    }
    Membership.KeyRecord key = Membership.key(state, keyId);
    if (key == null) {
      throw new AuthException("key " + keyId + " is not registered");
    }
    try {
      OctetKeyPair jwk = new OctetKeyPair.Builder(Curve.Ed25519,
          Base64URL.encode(key.publicKey())).build();
      if (!jwt.verify(new Ed25519Verifier(jwk))) {
        throw new AuthException("client_assertion signature does not verify");
      }
    } catch (JOSEException e) {
      throw new AuthException("client_assertion signature does not verify");
    }
    Membership.Identity identity = Membership.identity(state, key.identity());
    if (!key.active() || identity == null || !identity.active()) {
      throw new AuthException("key " + keyId + " is revoked");
    }
    if (Membership.removedOrg(state, identity.org())) {
      throw new AuthException("key " + keyId + " belongs to an organization that left the"
          + " network");
    }
    if (identity.role() == Role.NODE) {
      throw new AuthException("node keys cannot sign in to the API");
    }
    boolean audienceOk = claims.getAudience() != null && claims.getAudience().stream()
        .anyMatch(audiences::contains);
    if (!audienceOk) {
      throw new AuthException("aud must be this node's token endpoint");
    }
    Date exp = claims.getExpirationTime();
    if (exp == null || exp.getTime() < now - CLOCK_SKEW_MS
        || exp.getTime() > now + MAX_ASSERTION_LIFETIME_MS + CLOCK_SKEW_MS) {
      throw new AuthException("exp must be in the future and at most five minutes ahead");
    }
    Date iat = claims.getIssueTime();
    if (iat == null || iat.getTime() > now + CLOCK_SKEW_MS) {
      throw new AuthException("iat is required and must not be in the future");
    }
    if (iat.getTime() < startedAt) {
      // jtis seen before a restart are forgotten; refusing older assertions keeps them unusable
      throw new AuthException("client_assertion was issued before this node started");
    }
    String jti = claims.getJWTID();
    if (jti == null || jti.isEmpty() || jti.length() > 256) {
      throw new AuthException("jti is required");
    }
    purge(now);
    if (seenJti.putIfAbsent(keyId + "/" + jti, exp.getTime()) != null) {
      throw new AuthException("client_assertion was already used (jti replay)");
    }
    byte[] raw = new byte[32];
    random.nextBytes(raw);
    String token = Codec.b64(raw);
    Session s = new Session(identity.id(), keyId, identity.role(), identity.org(),
        now + TOKEN_TTL_MS);
    tokens.put(token, s);
    return Map.entry(token, s);
  }

  /** The portal's session cookie (host-only, Secure, HttpOnly, SameSite=Strict). */
  public static final String COOKIE = "__Host-careledger";
  /** The header a cookie-authenticated request must carry, echoing its session's CSRF token. */
  public static final String CSRF_HEADER = "X-CSRF-Token";
  /** How long a portal session lasts; the page signs a new challenge before it ends. */
  public static final long COOKIE_TTL_MS = 15 * 60 * 1000;

  private final Map<String, String> csrfTokens = new ConcurrentHashMap<>();

  /** A browser session: the cookie's token, the CSRF token the page echoes, and the caller. */
  public record CookieSession(String token, String csrf, Session session) {}

  /**
   * Validates a client assertion like {@link #exchange} and opens a browser session: its token
   * goes in an HttpOnly cookie, and every request that uses the cookie must echo {@code csrf} in
   * {@value #CSRF_HEADER} (reads too, since reads of PHI write access events).
   */
  public CookieSession openCookieSession(String assertion, StateView state, long now)
      throws AuthException {
    Map.Entry<String, Session> e = exchange(assertion, state, now);
    Session s = new Session(e.getValue().identity(), e.getValue().keyId(), e.getValue().role(),
        e.getValue().org(), now + COOKIE_TTL_MS);
    tokens.put(e.getKey(), s);
    byte[] raw = new byte[32];
    random.nextBytes(raw);
    String csrf = Codec.b64(raw);
    csrfTokens.put(e.getKey(), csrf);
    return new CookieSession(e.getKey(), csrf, s);
  }

  /** Ends the browser session of {@code cookieHeader}, if any. */
  public void closeCookieSession(String cookieHeader) {
    String t = cookie(cookieHeader);
    if (t != null) {
      tokens.remove(t);
      csrfTokens.remove(t);
    }
  }

  /**
   * The caller of a request: its bearer token if it sends {@code Authorization}, otherwise its
   * session cookie, accepted only with the matching {@value #CSRF_HEADER}; null if neither
   * authenticates.
   */
  public Session fromRequest(String authorization, String cookieHeader, String csrfHeader,
      StateView state, long now) {
    if (authorization != null) {
      return fromHeader(authorization, state, now);
    }
    String t = cookie(cookieHeader);
    if (t == null || csrfHeader == null) {
      return null;
    }
    String expected = csrfTokens.get(t);
    if (expected == null || !java.security.MessageDigest.isEqual(
        expected.getBytes(java.nio.charset.StandardCharsets.UTF_8),
        csrfHeader.getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
      return null;
    }
    Session s = authenticate(t, state, now);
    if (s == null) {
      csrfTokens.remove(t);
    }
    return s;
  }

  private static String cookie(String header) {
    if (header == null) {
      return null;
    }
    for (String part : header.split(";")) {
      String p = part.trim();
      if (p.startsWith(COOKIE + "=")) {
        return p.substring(COOKIE.length() + 1);
      }
    }
    return null;
  }

  /**
   * The session of an {@code Authorization: Bearer <token>} header value, or null if there is
   * none or the token is unknown, expired or revoked.
   */
  public Session fromHeader(String authorization, StateView state, long now) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    return authenticate(authorization.substring(7).trim(), state, now);
  }

  /** The session of a bearer token, or null if the token is unknown, expired or revoked. */
  public Session authenticate(String token, StateView state, long now) {
    Session s = token == null ? null : tokens.get(token);
    if (s == null) {
      return null;
    }
    if (s.expires() < now) {
      tokens.remove(token);
      return null;
    }
    Membership.KeyRecord key = Membership.key(state, s.keyId());
    Membership.Identity identity = Membership.identity(state, s.identity());
    if (key == null || !key.active() || identity == null || !identity.active()
        || Membership.removedOrg(state, identity.org())) {
      tokens.remove(token);
      return null;
    }
    return s;
  }

  private void purge(long now) {
    if (seenJti.size() > 10_000) {
      seenJti.values().removeIf(exp -> exp < now - CLOCK_SKEW_MS);
      tokens.values().removeIf(s -> s.expires() < now);
      csrfTokens.keySet().retainAll(tokens.keySet());
    }
  }
}
