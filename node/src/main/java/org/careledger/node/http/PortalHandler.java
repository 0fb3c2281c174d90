package org.careledger.node.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.careledger.core.crypto.Codec;
import org.careledger.core.json.CanonicalJson;
import org.careledger.node.LedgerService;
import org.careledger.node.auth.TokenService;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The browser face of the node under {@code /portal}: the patient portal, the clinician
 * console and the ledger explorer (static files from the classpath, no third-party origin), and
 * sign-in by signature: the page asks for a one-time challenge, signs a client assertion whose
 * {@code jti} is that challenge with the key it keeps in IndexedDB, and gets an HttpOnly
 * session cookie plus a CSRF token it echoes on every API call.
 */
public final class PortalHandler extends Handler.Abstract {
  private static final Logger LOG = LoggerFactory.getLogger(PortalHandler.class);
  static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self';"
      + " img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self';"
      + " form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
  private static final long CHALLENGE_MS = 2 * 60 * 1000;
  private static final int MAX_CHALLENGES = 10_000;
  private static final Map<String, String> TYPES = Map.of(
      "html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8",
      "css", "text/css; charset=utf-8", "svg", "image/svg+xml",
      "json", "application/json", "webmanifest", "application/manifest+json");

  private final String nodeName;
  private final LedgerService ledger;
  private final TokenService tokens;
  private final Map<String, String> networkUrls;
  private final String org;
  private final String csp;
  private final Map<String, Long> challenges = new ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();

  /**
   * {@code networkUrls}: the other organizations' nodes (organization id to base URL), which
   * the pages may call to gather a patient's records; nothing else is reachable from them.
   */
  public PortalHandler(String nodeName, LedgerService ledger, TokenService tokens,
      String org, Map<String, String> networkUrls) {
    this.nodeName = nodeName;
    this.org = org;
    this.ledger = ledger;
    this.tokens = tokens;
    this.networkUrls = Map.copyOf(networkUrls);
    this.csp = networkUrls.isEmpty() ? CSP : CSP.replace("connect-src 'self';",
        "connect-src 'self' " + String.join(" ", new java.util.TreeSet<>(networkUrls.values()))
            + ";");
  }

  /** The headers every portal answer carries. */
  void secure(Response response) {
    response.getHeaders().put("Content-Security-Policy", csp);
    response.getHeaders().put("X-Content-Type-Options", "nosniff");
    response.getHeaders().put("Referrer-Policy", "no-referrer");
    response.getHeaders().put("X-Frame-Options", "DENY");
    response.getHeaders().put("Cross-Origin-Opener-Policy", "same-origin");
    response.getHeaders().put("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String path = Request.getPathInContext(request);
    String method = request.getMethod();
    secure(response);
    try {
      switch (path) {
        case "/api/challenge" -> {
          require(method, "GET");
          challenge(request, response, callback);
        }
        case "/api/session" -> {
          require(method, "POST");
          Content.Source.asStringAsync(request, StandardCharsets.UTF_8).whenComplete(
              (body, err) -> {
                try {
                  if (err != null) {
                    throw new ApiHandler.Problem(400, "bad-request", "Unreadable body",
                        "the request body could not be read");
                  }
                  session(body, response, callback);
                } catch (ApiHandler.Problem p) {
                  ApiHandler.problemTo(response, callback, p);
                } catch (RuntimeException e) {
                  LOG.error("{}: portal sign-in failed: {}", nodeName, e.getClass().getName());
                  ApiHandler.problemTo(response, callback, new ApiHandler.Problem(500,
                      "internal", "Internal error", "the node could not answer"));
                }
              });
        }
        case "/api/network" -> {
          require(method, "GET");
          ObjectNode o = CanonicalJson.object();
          o.put("org", org);
          ObjectNode urls = o.putObject("urls");
          new java.util.TreeMap<>(networkUrls).forEach(urls::put);
          ApiHandler.json(response, callback, 200, o);
        }
        case "/api/logout" -> {
          require(method, "POST");
          tokens.closeCookieSession(request.getHeaders().get(HttpHeader.COOKIE));
          response.getHeaders().add(HttpHeader.SET_COOKIE, TokenService.COOKIE
              + "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
          ApiHandler.json(response, callback, 200, CanonicalJson.object());
        }
        default -> file(path, method, response, callback);
      }
    } catch (ApiHandler.Problem p) {
      ApiHandler.problemTo(response, callback, p);
    }
    return true;
  }

  private static void require(String method, String expected) {
    if (!expected.equals(method)) {
      throw new ApiHandler.Problem(405, "method-not-allowed", "Method not allowed",
          "use " + expected);
    }
  }

  /** A one-time challenge and the audience the assertion must name. */
  private void challenge(Request request, Response response, Callback callback) {
    long now = System.currentTimeMillis();
    if (challenges.size() > MAX_CHALLENGES) {
      challenges.values().removeIf(exp -> exp < now);
      if (challenges.size() > MAX_CHALLENGES) {
        throw new ApiHandler.Problem(503, "overloaded", "Too many sign-ins",
            "too many sign-ins are in progress; retry in a minute");
      }
    }
    byte[] raw = new byte[24];
    random.nextBytes(raw);
    String c = Codec.b64(raw);
    challenges.put(c, now + CHALLENGE_MS);
    String origin = request.getHttpURI().getScheme() + "://"
        + request.getHttpURI().getAuthority();
    String aud = tokens.audienceFor(origin);
    ObjectNode o = CanonicalJson.object();
    o.put("challenge", c);
    o.put("aud", aud);
    o.put("chain", ledger.chain());
    o.put("expires", now + CHALLENGE_MS);
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    ApiHandler.json(response, callback, 200, o);
  }

  /** Trades an assertion over a live challenge for a session cookie and a CSRF token. */
  private void session(String body, Response response, Callback callback) {
    String assertion;
    String jti;
    try {
      JsonNode b = new com.fasterxml.jackson.databind.ObjectMapper().readTree(body);
      assertion = b.path("assertion").asText("");
      jti = SignedJWT.parse(assertion).getJWTClaimsSet().getJWTID();
    } catch (IOException | java.text.ParseException | RuntimeException e) {
      throw new ApiHandler.Problem(400, "bad-request", "Invalid sign-in",
          "send {\"assertion\": a signed client assertion whose jti is a challenge}");
    }
    long now = System.currentTimeMillis();
    Long exp = jti == null ? null : challenges.remove(jti);
    if (exp == null || exp < now) {
      throw new ApiHandler.Problem(401, "auth-invalid-client", "Sign-in refused",
          "the assertion does not answer a live challenge; ask for a new one");
    }
    TokenService.CookieSession s;
    try {
      s = tokens.openCookieSession(assertion, ledger.store().state(), now);
    } catch (TokenService.AuthException e) {
      throw new ApiHandler.Problem(401, "auth-invalid-client", "Sign-in refused",
          e.getMessage());
    }
    response.getHeaders().add(HttpHeader.SET_COOKIE, TokenService.COOKIE + "=" + s.token()
        + "; Path=/; Max-Age=" + TokenService.COOKIE_TTL_MS / 1000
        + "; Secure; HttpOnly; SameSite=Strict");
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    ObjectNode o = CanonicalJson.object();
    o.put("identity", s.session().identity());
    o.put("role", s.session().role().wireName());
    o.put("org", s.session().org() == null ? "" : s.session().org());
    o.put("csrf", s.csrf());
    o.put("expires", s.session().expires());
    ApiHandler.json(response, callback, 200, o);
  }

  /** A static file of the portal, from the classpath folder {@code portal/}. */
  private void file(String path, String method, Response response, Callback callback) {
    if (!method.equals("GET") && !method.equals("HEAD")) {
      throw new ApiHandler.Problem(405, "method-not-allowed", "Method not allowed", "use GET");
    }
    String name = path.isEmpty() || path.equals("/") ? "index.html" : path.substring(1);
    int dot = name.lastIndexOf('.');
    String type = dot < 0 ? null : TYPES.get(name.substring(dot + 1));
    if (type == null || !name.matches("[a-z0-9][a-z0-9/_-]*\\.[a-z]+") || name.contains("..")) {
      throw new ApiHandler.Problem(404, "not-found", "Not found", "no page at /portal" + path);
    }
    byte[] bytes;
    try (InputStream in = PortalHandler.class.getResourceAsStream("/portal/" + name)) {
      if (in == null) {
        throw new ApiHandler.Problem(404, "not-found", "Not found", "no page at /portal" + path);
      }
      bytes = in.readAllBytes();
    } catch (IOException e) {
      throw new ApiHandler.Problem(500, "internal", "Internal error", "the page is unreadable");
    }
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
    ApiHandler.bytes(response, callback, 200, type, bytes);
  }
}
