package org.careledger.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.Ed25519Signer;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import org.careledger.core.crypto.Ed25519;

/**
 * A client of the node's JSON API. It authenticates SMART Backend Services style: it signs a
 * short-lived JWT assertion with its Ed25519 key and trades it at {@code /api/v1/auth/token} for
 * a bearer token, which it renews when it expires. Thread-safe.
 */
public final class ApiClient {
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final String TOKEN_PATH = "/api/v1/auth/token";

  private final List<URI> nodes;
  private final Ed25519.KeyPair key;
  private final HttpClient http;
  private volatile int current;
  /** Bearer tokens by node base URL: each node issues and knows only its own. */
  private final java.util.Map<URI, TokenSlot> tokens =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** One node's token; its monitor serializes fetching it. */
  private static final class TokenSlot {
    String token;
    long expires;
  }

  /** A client for the node(s) at {@code baseUrls}; the first reachable one is used. */
  public ApiClient(List<String> baseUrls, Ed25519.KeyPair keyOrNull) {
    if (baseUrls.isEmpty()) {
      throw new IllegalArgumentException("at least one node URL is required");
    }
    this.nodes = baseUrls.stream().map(u -> URI.create(u.endsWith("/")
        ? u.substring(0, u.length() - 1) : u)).toList();
    this.key = keyOrNull;
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
        .version(HttpClient.Version.HTTP_1_1).build();
  }

  public ApiClient(String baseUrl, Ed25519.KeyPair keyOrNull) {
    this(List.of(baseUrl), keyOrNull);
  }

  public URI node() {
    return nodes.get(current);
  }

  /** Builds the signed client assertion for the token endpoint of {@code node}. */
  public static String clientAssertion(Ed25519.KeyPair key, URI tokenEndpoint, long now) {
    try {
      byte[] secret = key.exportSecret();
      OctetKeyPair jwk = new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(key.publicKey()))
          .d(Base64URL.encode(secret)).keyID(key.keyId()).build();
      java.util.Arrays.fill(secret, (byte) 0);
      JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(key.keyId()).subject(key.keyId())
          .audience(tokenEndpoint.toString()).jwtID(UUID.randomUUID().toString())
          .issueTime(new Date(now)).expirationTime(new Date(now + 4 * 60_000)).build();
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.EdDSA)
          .keyID(key.keyId()).type(JOSEObjectType.JWT).build(), claims);
      jwt.sign(new Ed25519Signer(jwk));
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign client assertion", e);
    }
  }

  /** Exchanges a fresh client assertion for a bearer token. */
  public String token() throws ApiException {
    return withFailover(this::tokenFor);
  }

  /** A bearer token of the node at {@code base}, fetched or renewed when needed. */
  private String tokenFor(URI base) throws ApiException {
    if (key == null) {
      throw new ApiException(0, null, "this command needs a key (--key)");
    }
    TokenSlot slot = tokens.computeIfAbsent(base, b -> new TokenSlot());
    synchronized (slot) {
      long now = System.currentTimeMillis();
      if (slot.token != null && now < slot.expires - 30_000) {
        return slot.token;
      }
      URI endpoint = URI.create(base + TOKEN_PATH);
      String form = "grant_type=client_credentials"
          + "&client_assertion_type=" + enc("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
          + "&client_assertion=" + enc(clientAssertion(key, endpoint, now))
          + "&scope=" + enc("system/*.*");
      HttpRequest req = HttpRequest.newBuilder(endpoint)
          .header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString(form)).timeout(Duration.ofSeconds(30)).build();
      JsonNode body = send(req);
      slot.token = body.get("access_token").asText();
      slot.expires = now + body.get("expires_in").asLong() * 1000;
      return slot.token;
    }
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /** GET with the bearer token and extra headers as name, value pairs. */
  public JsonNode get(String path, String... headers) throws ApiException {
    return withFailover(base -> {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
          .header("Authorization", "Bearer " + tokenFor(base)).timeout(Duration.ofSeconds(30))
          .GET();
      for (int i = 0; i + 1 < headers.length; i += 2) {
        b.header(headers[i], headers[i + 1]);
      }
      return send(b.build());
    });
  }

  /** GET without authentication (health). */
  public JsonNode getPublic(String path) throws ApiException {
    return withFailover(base -> send(HttpRequest.newBuilder(URI.create(base + path))
        .timeout(Duration.ofSeconds(30)).GET().build()));
  }

  /**
   * Submits signed transaction bytes and waits for the commit receipt. A node that does not
   * answer within {@link #SUBMIT_TIMEOUT} is given up and the same bytes go to the next node:
   * a transaction is committed at most once, so if the first node did commit it, the next one
   * refuses it as a duplicate and this returns its receipt instead.
   */
  public JsonNode submit(byte[] tx) throws ApiException {
    boolean[] resent = {false};
    try {
      return withFailover(base -> {
        String t = tokenFor(base);
        try {
          return send(HttpRequest.newBuilder(URI.create(base + "/api/v1/transactions"))
              .header("Authorization", "Bearer " + t).header("Content-Type", "application/json")
              .timeout(SUBMIT_TIMEOUT).POST(HttpRequest.BodyPublishers.ofByteArray(tx))
              .build());
        } catch (ApiException e) {
          resent[0] |= e.status() == 0;
          throw e;
        }
      });
    } catch (ApiException e) {
      if (!resent[0] || e.status() != 409) {
        throw e;
      }
      String id = org.careledger.core.crypto.Codec.hex(
          org.careledger.core.crypto.Sha256.hash(tx));
      try {
        return get("/api/v1/transactions/" + id);
      } catch (ApiException notThere) {
        throw e;
      }
    }
  }

  /** How long {@link #submit} waits for one node before it tries the next. */
  public static final Duration SUBMIT_TIMEOUT = Duration.ofSeconds(10);

  /**
   * POST of a body (JSON, or a signed transaction) with the bearer token and extra headers
   * given as name, value pairs (e.g. X-Purpose-Of-Use).
   */
  public JsonNode post(String path, byte[] body, String... headers) throws ApiException {
    return request("POST", path, body, headers);
  }

  /**
   * An authenticated request with a JSON body ({@code POST}, {@code PUT}) and extra headers as
   * name, value pairs; FHIR OperationOutcomes and problem documents become the exception's
   * message.
   */
  public JsonNode request(String method, String path, byte[] body, String... headers)
      throws ApiException {
    return withFailover(base -> {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
          .header("Authorization", "Bearer " + tokenFor(base))
          .header("Content-Type", "application/json")
          .timeout(Duration.ofSeconds(60))
          .method(method, HttpRequest.BodyPublishers.ofByteArray(body));
      for (int i = 0; i + 1 < headers.length; i += 2) {
        b.header(headers[i], headers[i + 1]);
      }
      return send(b.build());
    });
  }

  /** POST without authentication (redeeming an enrollment code). */
  public JsonNode postPublic(String path, byte[] body) throws ApiException {
    return withFailover(base -> send(HttpRequest.newBuilder(URI.create(base + path))
        .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build()));
  }

  /** The underlying HTTP client, for callers that pipeline many requests. */
  public HttpClient http() {
    return http;
  }

  private interface Call<T> {
    T apply(URI base) throws ApiException;
  }

  private <T> T withFailover(Call<T> call) throws ApiException {
    ApiException last = null;
    for (int attempt = 0; attempt < nodes.size(); attempt++) {
      int i = (current + attempt) % nodes.size();
      try {
        T r = call.apply(nodes.get(i));
        current = i;
        return r;
      } catch (ApiException e) {
        if (e.status() != 0 && e.status() != 503) {
          throw e;
        }
        last = e;
      }
    }
    throw last;
  }

  private JsonNode send(HttpRequest req) throws ApiException {
    HttpResponse<byte[]> res;
    try {
      res = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      String why = e instanceof java.net.ConnectException ? "connection refused"
          : e instanceof java.net.http.HttpTimeoutException ? "timed out"
          : e.getMessage() != null ? e.getMessage() : "I/O error";
      throw new ApiException(0, null, "cannot reach " + req.uri().getAuthority() + ": " + why);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiException(0, null, "interrupted");
    }
    JsonNode body;
    try {
      body = JSON.readTree(res.body());
    } catch (IOException e) {
      body = null;
    }
    if (res.statusCode() >= 300) {
      String detail = body != null && body.has("detail") ? body.get("detail").asText()
          : body != null && body.has("issue") ? diagnostics(body)
          : "HTTP " + res.statusCode();
      String title = body != null && body.has("title") ? body.get("title").asText() + ": " : "";
      throw new ApiException(res.statusCode(), body, title + detail);
    }
    if (body == null) {
      throw new ApiException(res.statusCode(), null, "the node answered with a body that is not JSON");
    }
    return body;
  }

  private static String diagnostics(JsonNode outcome) {
    StringBuilder b = new StringBuilder();
    for (JsonNode i : outcome.get("issue")) {
      if (i.hasNonNull("diagnostics")) {
        b.append(b.isEmpty() ? "" : "; ").append(i.get("diagnostics").asText());
      }
    }
    return b.isEmpty() ? "refused" : b.toString();
  }
}
