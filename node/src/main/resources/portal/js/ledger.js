// CareLedger's formats in the browser: canonical JSON, Ed25519 keys and signatures
// (WebCrypto), signed transactions, client assertions and RFC 9162 proof checks.
// Byte-exact with docs/protocol.md.

const enc = new TextEncoder();

export function b64url(bytes) {
  let s = "";
  const b = new Uint8Array(bytes);
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function unb64url(s) {
  const t = s.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(t + "===".slice((t.length + 3) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (x) => x.toString(16).padStart(2, "0")).join("");
}

export function unhex(s) {
  if (!/^([0-9a-f]{2})*$/.test(s)) throw new Error("not hex");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
  return out;
}

/** RFC 8785 canonical JSON restricted to integers (protocol.md section 1). */
export function canonical(v) {
  if (v === null || typeof v === "boolean" || typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new Error("only integers are allowed");
    return String(v);
  }
  if (Array.isArray(v)) return "[" + v.map(canonical).join(",") + "]";
  const keys = Object.keys(v).sort();
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonical(v[k])).join(",") + "}";
}

export function utf8(s) {
  return enc.encode(s);
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

function concat(...parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** A new Ed25519 key pair whose private half never leaves WebCrypto. */
export async function generateKey() {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey: raw, keyId: await keyId(raw) };
}

/** First 16 bytes of SHA-256(public key), hex. */
export async function keyId(raw) {
  return hex((await sha256(raw)).slice(0, 16));
}

async function sign(privateKey, bytes) {
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, bytes));
}

export async function verify(publicRaw, signature, bytes) {
  try {
    const k = await crypto.subtle.importKey("raw", publicRaw, { name: "Ed25519" }, false,
      ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, k, signature, bytes);
  } catch (e) {
    return false;
  }
}

function nonce() {
  return b64url(crypto.getRandomValues(new Uint8Array(16)));
}

/** A signed transaction envelope (protocol.md section 3), as its exact bytes. */
export async function signTransaction(key, chain, contract, command) {
  const now = Date.now();
  const payload = {
    v: 1, chain, signer: key.keyId, nonce: nonce(), notBefore: now - 60000,
    notAfter: now + 600000, contract, command,
  };
  const sig = b64url(await sign(key.privateKey, utf8(canonical(payload))));
  return utf8(canonical({ payload, sig }));
}

/** A client assertion (protocol.md section 8) whose jti is the node's challenge. */
export async function assertion(key, aud, challenge) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(utf8(JSON.stringify({ alg: "EdDSA", kid: key.keyId, typ: "JWT" })));
  const claims = b64url(utf8(JSON.stringify({
    iss: key.keyId, sub: key.keyId, aud, jti: challenge, iat: now, exp: now + 240,
  })));
  const sig = b64url(await sign(key.privateKey, utf8(head + "." + claims)));
  return head + "." + claims + "." + sig;
}

/** RFC 9162 section 2.1.3.2: does the audit path lead from the leaf to the root? */
export async function verifyInclusion(leafIndex, treeSize, leafHash, path, root) {
  if (leafIndex >= treeSize) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(concat(Uint8Array.of(1), p, r));
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await sha256(concat(Uint8Array.of(1), r, p));
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/**
 * Checks a receipt (protocol.md section 7) against trusted node keys (keyId -> raw public key):
 * the transaction's id, its inclusion proof, and a node's signature on the tree head. Returns
 * the transaction's payload when everything holds; throws with the reason otherwise.
 */
export async function verifyReceipt(receipt, nodeKeys) {
  const txBytes = utf8(canonical(receipt.tx));
  if (hex(await sha256(txBytes)) !== receipt.txId) throw new Error("transaction id mismatch");
  const head = receipt.treeHead;
  const headerBytes = utf8(canonical(head.header));
  let signed = false;
  for (const s of head.signatures) {
    const k = nodeKeys.get(s.keyId);
    if (k && await verify(k, unb64url(s.sig), headerBytes)) signed = true;
  }
  if (!signed) throw new Error("tree head not signed by a known node key");
  const p = receipt.inclusionProof;
  if (p.treeSize !== head.header.logSize || p.leafIndex !== receipt.leafIndex) {
    throw new Error("proof is not for this tree head");
  }
  const leaf = await sha256(concat(Uint8Array.of(0), txBytes));
  const ok = await verifyInclusion(p.leafIndex, p.treeSize, leaf, p.hashes.map(unhex),
    unhex(head.header.logRoot));
  if (!ok) throw new Error("inclusion proof does not lead to the signed root");
  return receipt.tx.payload;
}

/**
 * Checks the receipt of a records transaction once and returns its anchored commitments:
 * a map from "record/version" to the commitment (hex). A patient's own measurement is
 * anchored by their signed patients.contribute (version 1); the map then also records its
 * signer under "signer".
 */
export async function anchoredCommitments(receipt, nodeKeys) {
  const payload = await verifyReceipt(receipt, nodeKeys);
  const out = new Map();
  const c = payload.command || {};
  if (payload.contract === "patients" && c.type === "contribute") {
    out.set(c.record + "/1", c.commitment);
    out.set("signer", payload.signer);
    return out;
  }
  for (const v of c.versions || []) {
    out.set(v.record + "/" + v.version, v.commitment);
  }
  return out;
}

/**
 * RFC 9162 section 2.1.4.2: does the consistency proof show that the tree of size1 with
 * root1 is a prefix of the tree of size2 with root2?
 */
export async function verifyConsistency(size1, size2, proof, root1, root2) {
  if (size1 > size2) return false;
  if (size1 === size2) return proof.length === 0 && equal(root1, root2);
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  let path = proof.slice();
  if ((size1 & (size1 - 1)) === 0) path = [root1, ...path];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await sha256(concat(Uint8Array.of(1), c, fr));
      sr = await sha256(concat(Uint8Array.of(1), c, sr));
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = await sha256(concat(Uint8Array.of(1), sr, c));
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, root1) && equal(sr, root2);
}

/** Checks a tree head's signatures; returns the key ids (of nodeKeys) whose signature holds. */
export async function headSigners(block, nodeKeys) {
  const bytes = utf8(canonical(block.header));
  const out = [];
  for (const s of block.signatures) {
    const k = nodeKeys.get(s.keyId);
    if (k && await verify(k, unb64url(s.sig), bytes)) out.push(s.keyId);
  }
  return out;
}

/**
 * Checks one record of the timeline: SHA-256(salted) is the commitment its anchoring
 * transaction (already checked by anchoredCommitments) names for this record and version.
 * Returns the resource's exact bytes.
 */
export async function verifyRecord(rec, anchored) {
  const salted = unb64url(rec.salted);
  const commitment = hex(await sha256(salted));
  if (anchored.get(rec.record + "/" + rec.version) !== commitment) {
    throw new Error("the commitment is not the anchored one");
  }
  return salted.slice(32);
}
