// Keys in IndexedDB (private halves non-extractable), sign-in by signed challenge, and API
// calls that carry the session cookie plus the CSRF token.
import * as L from "./ledger.js";

const DB = "careledger";
const STORE = "keys";

function db() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE, { keyPath: "identity" });
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function tx(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(STORE, mode);
    const req = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(req && req.result);
    t.onerror = () => reject(t.error);
  });
}

export const keys = {
  save: (k) => tx("readwrite", (s) => s.put(k)),
  all: () => tx("readonly", (s) => s.getAll()),
  get: (identity) => tx("readonly", (s) => s.get(identity)),
  remove: (identity) => tx("readwrite", (s) => s.delete(identity)),
};

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

let current = null; // { identity, role, org, csrf, expires, key, chain }

export function session() {
  return current;
}

async function parse(res) {
  const type = res.headers.get("Content-Type") || "";
  const body = type.includes("json") ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    let msg = "HTTP " + res.status;
    if (body && body.detail) msg = body.detail;
    else if (body && body.issue) msg = body.issue.map((i) => i.diagnostics).join("; ");
    throw new ApiError(res.status, msg, body);
  }
  return body;
}

/** Signs the node's one-time challenge with the stored key and opens a session. */
export async function signIn(key) {
  const ch = await parse(await fetch("/portal/api/challenge", { cache: "no-store" }));
  const a = await L.assertion(key, ch.aud, ch.challenge);
  const s = await parse(await fetch("/portal/api/session", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ assertion: a }),
  }));
  current = { ...s, key, chain: ch.chain };
  return current;
}

export async function signOut() {
  if (current) {
    await fetch("/portal/api/logout", { method: "POST",
      headers: { "X-CSRF-Token": current.csrf } }).catch(() => {});
  }
  current = null;
}

async function fresh() {
  if (!current) throw new ApiError(401, "not signed in");
  if (current.expires - Date.now() < 60000) await signIn(current.key);
}

/** An authenticated call; returns { body, headers }. */
export async function call(method, path, body, headers = {}) {
  await fresh();
  const h = { "X-CSRF-Token": current.csrf, ...headers };
  if (body !== undefined && !(body instanceof Uint8Array)) {
    h["Content-Type"] = "application/json";
    body = JSON.stringify(body);
  } else if (body instanceof Uint8Array) {
    h["Content-Type"] = "application/json";
  }
  const res = await fetch(path, { method, headers: h, body, cache: "no-store" });
  const headersOut = res.headers;
  return { body: await parse(res), headers: headersOut };
}

export async function get(path, headers) {
  return (await call("GET", path, undefined, headers)).body;
}

/** Signs a command with the signed-in key and submits it; returns the receipt. */
export async function submit(contract, command, path = "/api/v1/transactions") {
  const bytes = await L.signTransaction(current.key, current.chain, contract, command);
  return (await call("POST", path, bytes)).body;
}

/** Redeems an enrollment code with a new browser-held key; signs in with it. */
export async function enroll(code, identity) {
  const h = await parse(await fetch("/health", { cache: "no-store" }));
  const k = await L.generateKey();
  const command = { type: "enroll", code, id: identity, publicKey: L.b64url(k.publicKey) };
  const bytes = await L.signTransaction(k, h.chain, "patients", command);
  await parse(await fetch("/api/v1/enroll", { method: "POST",
    headers: { "Content-Type": "application/json" }, body: bytes }));
  const stored = { identity, keyId: k.keyId, publicKey: L.b64url(k.publicKey),
    privateKey: k.privateKey, kind: "patient", created: Date.now() };
  await keys.save(stored);
  return signIn(stored);
}

/** A new key for a staff member; an admin registers its public key before sign-in works. */
export async function newStaffKey(identity) {
  const k = await L.generateKey();
  const stored = { identity, keyId: k.keyId, publicKey: L.b64url(k.publicKey),
    privateKey: k.privateKey, kind: "staff", created: Date.now() };
  await keys.save(stored);
  return stored;
}

/**
 * A bearer token at another organization's node, for the signed-in key: a client assertion
 * naming that node's token endpoint, signed here. Cookies never cross origins.
 */
async function remoteToken(base) {
  const aud = base + "/api/v1/auth/token";
  const jti = L.hex(crypto.getRandomValues(new Uint8Array(16)));
  const a = await L.assertion(current.key, aud, jti);
  const body = new URLSearchParams({ grant_type: "client_credentials",
    client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    client_assertion: a });
  const t = await parse(await fetch(aud, { method: "POST", body, cache: "no-store" }));
  return t.access_token;
}

/** A GET at another organization's node (listed in network-urls), with a fresh token. */
export async function getAt(base, path) {
  const token = await remoteToken(base);
  return parse(await fetch(base + path, { headers: { Authorization: "Bearer " + token },
    cache: "no-store" }));
}

/** Links the signed-in patient's records at another organization (its enrollment code). */
export async function link(code) {
  const command = { type: "enroll", code, id: current.identity, publicKey: current.key.publicKey };
  const bytes = await L.signTransaction(current.key, current.chain, "patients", command);
  return (await call("POST", "/api/v1/enroll", bytes)).body;
}

const pinned = new Map();

/**
 * The node keys that may sign tree heads, from the membership state (identities of role
 * node, active). Pinned in this page: a key that changes under the same id is refused.
 */
export async function nodeKeys(keyIds) {
  for (const id of keyIds) {
    if (pinned.has(id)) continue;
    const k = await get("/api/v1/membership/keys/" + id);
    const who = await get("/api/v1/membership/identities/" + k.identity);
    if (who.role !== "node" || k.status !== "active" && k.status !== "rotated") continue;
    pinned.set(id, L.unb64url(k.publicKey));
  }
  return pinned;
}
