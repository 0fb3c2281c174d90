// The ledger explorer for auditors and operators: this node's health and the network as it
// sees it, the result of the last ledger check, the latest signed tree head with every
// organization's co-signature checked here, its consistency with the head first seen in this
// tab, the newest blocks, and per transaction its metadata and inclusion proof. Nothing here
// is PHI: the ledger holds commitments and pseudonyms only.
import * as L from "./ledger.js";
import * as S from "./session.js";
import { el, guard, fmt, mark } from "./ui.js";

const SEEN = "careledger.firstHead";
const BLOCKS = 15;

function dl(pairs) {
  return el("dl", {}, pairs.filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
}

function nodeName(names, keyId) {
  const n = names.get(keyId);
  return n && n.id ? n.id + " (" + n.org + ")" : "key " + keyId;
}

function badge(ok, good, bad, why) {
  return el("span", { class: "badge " + (ok ? "ok" : "bad"), title: why || "" }, ok ? good : bad);
}

export async function explorer(body) {
  body.replaceChildren(el("p", {}, "Loading the ledger…"));
  const [status, net, head, gov] = await Promise.all([guard(() => S.get("/api/v1/status")),
    guard(() => S.get("/api/v1/network")), guard(() => S.get("/api/v1/tree-head")),
    guard(() => S.get("/api/v1/network/proposals"))]);
  if (!status || !net || !head || !gov) return;
  const names = new Map(net.nodes.map((n) => [n.keyId, n]));
  const keys = await guard(() => S.nodeKeys(net.nodes.filter((n) => n.status === "active")
    .map((n) => n.keyId))) || new Map();

  // this node and its last check
  const v = status.lastVerify;
  const health = el("section", { class: "card", id: "node-health", "aria-labelledby": "h-node" },
    el("h2", { id: "h-node" }, "This node"),
    dl([["Node", status.node], ["Chain", status.chain.slice(0, 16) + "…"],
      ["Raft role", net.role], ["Term", net.term], ["Leader", net.leader || "none known"],
      ["Height", status.height], ["Transactions", status.logSize],
      ["Majority-signed height", status.quorumHeight], ["Raft index applied", net.appliedIndex]]),
    el("h3", {}, "Last ledger check"),
    v ? el("p", { id: "last-verify", "data-result": v.result },
      badge(v.result === "ok" || v.result === "empty ledger", v.result, v.result), " ",
      "at " + v.when + " · " + fmt(v.time) + (v.blocks !== undefined ? " · " + v.blocks
        + " blocks, " + v.transactions + " transactions replayed in " + v.ms + " ms" : ""))
      : el("p", { id: "last-verify", class: "muted" }, "No check has run on this node."),
    el("p", { class: "muted" }, "Operators run the full check on a data dir with "
      + "'careledger verify'."));

  // the network
  const peers = el("table", { id: "peers" }, el("caption", {}, "Raft members as this node sees"
    + " them"), el("thead", {}, el("tr", {}, ["Node", "Address", "Role", "Last answer", "Next index"]
    .map((h) => el("th", { scope: "col" }, h)))),
  el("tbody", {}, (net.peers || []).map((p) => el("tr", { "data-peer": p.id, "data-role": p.role },
    el("td", {}, p.id + (p.id === net.self ? " (this node)" : "")), el("td", {}, p.address),
    el("td", {}, p.role), el("td", {}, p.lastContactMs === undefined ? "—"
      : p.lastContactMs < 3000 ? p.lastContactMs + " ms ago" : "not answering ("
        + Math.round(p.lastContactMs / 1000) + " s)"),
    el("td", {}, p.nextIndex === undefined ? "—" : p.nextIndex)))));
  const network = el("section", { class: "card", id: "network", "aria-labelledby": "h-net" },
    el("h2", { id: "h-net" }, "Network"), el("div", { class: "scroll" }, peers),
    el("p", { class: "muted" }, "Follower details are known to the leader only."));

  // the member organizations and the network contract's proposals
  const members = el("section", { class: "card", id: "governance", "aria-labelledby": "h-gov" },
    el("h2", { id: "h-gov" }, "Organizations and proposals"),
    el("ul", { class: "plain", id: "organizations" }, gov.organizations.map((o) =>
      el("li", { "data-org": o.id, "data-status": o.status }, o.id + " · " + o.name
        + (o.status === "member" ? "" : " · " + o.status)))),
    gov.proposals.length === 0 ? el("p", { class: "muted" }, "No proposal to add or remove an"
      + " organization or to replace a node yet.") : el("ul", { class: "list", id: "proposals" },
      gov.proposals.map((p) => el("li", { "data-proposal": p.id, "data-status": p.status },
        el("strong", {}, p.action === "replace-node"
          ? "Replace node " + p.node.old + " of " + p.org + " by " + p.node.id
          : (p.action === "add" ? "Add " : "Remove ") + p.org), " · " + p.status
        + " · approved by " + p.approvals.join(", ") + " · proposed by " + p.proposer + " on "
        + fmt(p.created) + " · " + p.reason))),
    el("p", { class: "muted" }, "Admins propose and approve with 'careledger network'; a"
      + " majority of the member organizations decides."));

  // the signed tree head
  const signers = await L.headSigners(head, keys);
  const n = net.nodes.filter((x) => x.status === "active").length;
  const headBox = el("section", { class: "card", id: "tree-head", "aria-labelledby": "h-head" },
    el("h2", { id: "h-head" }, "Latest signed tree head"),
    dl([["Height", head.header.height], ["Log size", head.header.logSize],
      ["Log root", head.header.logRoot], ["Time", fmt(head.header.time)],
      ["Proposer", nodeName(names, head.header.proposer)]]),
    el("p", { id: "cosigned", "data-signers": String(signers.length) },
      badge(signers.length >= net.majority, "✓ " + signers.length + " of " + n
        + " organizations signed", signers.length + " of " + n + " signed (majority "
        + net.majority + " not reached yet)")),
    el("ul", { class: "plain", id: "signatures" }, head.signatures.map((s) => {
      const who = names.get(s.keyId);
      return el("li", { "data-key": s.keyId }, signers.includes(s.keyId) ? "✓ " : "✗ ",
        who ? who.id + " (" + who.org + ")" : "unknown key " + s.keyId);
    })));
  const consistency = el("p", { id: "consistency", class: "muted" }, "Checking…");
  headBox.append(consistency);

  // blocks
  const blocks = el("ul", { class: "list", id: "blocks" });
  const detail = el("section", { id: "block-detail" });
  body.replaceChildren(el("h1", {}, "Ledger and network"), el("div", { class: "cards" }, health,
    network), members, headBox, el("h2", {}, "Newest blocks"), blocks, detail);

  guard(() => checkConsistency(head, keys, consistency));
  const top = head.header.height;
  for (let h = top; h >= 0 && h > top - BLOCKS; h--) {
    const b = await guard(() => S.get("/api/v1/blocks/" + h));
    if (!b) break;
    blocks.append(el("li", { "data-height": String(h) }, el("div", { class: "row" },
      el("span", { class: "title" }, "Block " + h), el("span", { class: "muted" },
        fmt(b.header.time))),
    el("div", {}, b.header.txCount + " transaction(s) · proposed by " + nodeName(names, b.header.proposer)
      + " · " + b.signatures.length + " signature(s)"),
    el("button", { type: "button", class: "secondary open-block", on: { click: () =>
      guard(() => openBlock(b, keys, detail)) } }, "Open block " + h)));
  }
}

/** Compares the head with the first one this tab saw, by an RFC 9162 consistency proof. */
async function checkConsistency(head, keys, out) {
  const first = JSON.parse(sessionStorage.getItem(SEEN) || "null");
  if (!first || first.chain !== head.header.chain) {
    sessionStorage.setItem(SEEN, JSON.stringify(head.header));
    out.textContent = "This head is now the reference: later heads are checked against it.";
    return;
  }
  if (first.height === head.header.height) {
    const same = first.logRoot === head.header.logRoot && first.logSize === head.header.logSize;
    out.replaceChildren(badge(same, "✓ same head as first seen", "head changed at the same height"));
    out.dataset.result = same ? "ok" : "bad";
    return;
  }
  const p = await S.get("/api/v1/proofs/consistency?fromHeight=" + first.height + "&toHeight="
    + head.header.height);
  const signed = (await L.headSigners(p.second, keys)).length > 0;
  const ok = signed && p.first.header.logRoot === first.logRoot
    && p.first.header.logSize === first.logSize
    && p.second.header.logRoot === head.header.logRoot
    && await L.verifyConsistency(first.logSize, p.second.header.logSize, p.hashes.map(L.unhex),
      L.unhex(first.logRoot), L.unhex(p.second.header.logRoot));
  out.replaceChildren(badge(ok, "✓ consistent with the head first seen (height " + first.height
    + ")", "NOT consistent with the head first seen (height " + first.height + ")"));
  out.dataset.result = ok ? "ok" : "bad";
}

/** A block's transactions: contract, command, signer, and each inclusion proof checked. */
async function openBlock(b, keys, out) {
  const list = el("ul", { class: "list", id: "txs" });
  out.replaceChildren(el("h2", {}, "Block " + b.header.height), dl([
    ["Previous", b.header.prev], ["State writes", b.header.stateWrites],
    ["Log size", b.header.logSize], ["Log root", b.header.logRoot]]), list);
  for (const id of b.txIds) {
    const r = await S.get("/api/v1/transactions/" + id);
    const p = r.tx.payload;
    const check = el("span", { class: "badge pending" }, "checking…");
    list.append(el("li", { "data-tx": id }, el("div", { class: "row" },
      el("span", { class: "title" }, p.contract + "." + ((p.command && p.command.type) || "?")),
      check), el("div", { class: "mono" }, id),
    el("div", { class: "muted" }, "signer key " + p.signer + " · log leaf " + r.leafIndex
      + " · signed " + fmt(p.notBefore + 60000))));
    try {
      await L.verifyReceipt(r, keys);
      mark(check, true, "✓ inclusion proof");
    } catch (e) {
      mark(check, false, "proof failed", e.message);
    }
  }
  out.focus?.();
}
