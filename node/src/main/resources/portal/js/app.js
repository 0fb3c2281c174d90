// The CareLedger portal: patients (enroll, timeline, consents, who saw my data, my data) and
// clinicians (find patients, read with the reason shown, break-glass). Every string from the
// node is set as text, never as HTML.
import * as L from "./ledger.js";
import * as S from "./session.js";
import { describe, when } from "./fhirview.js";
import { el, field, say, show, guard, fmt, mark } from "./ui.js";
import { measurements } from "./measure.js";
import { explorer } from "./explorer.js";

const PURPOSES = { TREAT: "Treatment", ETREAT: "Emergency treatment", HPAYMT: "Payment",
  HOPERAT: "Healthcare operations", HRESCH: "Research", PATRQT: "At my request",
  PUBHLTH: "Public health" };

// ------------------------------------------------------------------------ start page

async function start() {
  document.getElementById("who").textContent = "";
  document.getElementById("signout").hidden = true;
  const stored = await S.keys.all();
  const code = el("input", { name: "code", autocomplete: "off", required: true,
    placeholder: "ABCD-EFGH-…", autocapitalize: "characters" });
  const ident = el("input", { name: "identity", required: true, autocomplete: "off",
    value: "pat-" + L.hex(crypto.getRandomValues(new Uint8Array(5))) });
  const enrollForm = el("form", { id: "enroll", on: { submit: (ev) => {
    ev.preventDefault();
    guard(async () => {
      say("Creating your key and enrolling…");
      await S.enroll(code.value.trim().toUpperCase(), ident.value.trim());
      say("Enrolled.");
      home();
    });
  } } }, field("Enrollment code from your clinic", code),
  field("Your CareLedger name (anyone you grant access sees it)", ident),
  el("button", { type: "submit" }, "Enroll on this device"));

  const signInList = el("div", {}, stored.length === 0
    ? el("p", { class: "muted" }, "No keys on this device yet.")
    : stored.map((k) => el("button", { type: "button", class: "secondary",
      "data-identity": k.identity, on: { click: () => guard(async () => {
        await S.signIn(k);
        home();
      }) } }, "Sign in as " + k.identity)));

  const staffId = el("input", { name: "staff-identity", required: true, autocomplete: "off",
    placeholder: "dr-bea" });
  const staffOut = el("div", { id: "staff-key" });
  const staffForm = el("form", { id: "staff", on: { submit: (ev) => {
    ev.preventDefault();
    guard(async () => {
      const k = await S.newStaffKey(staffId.value.trim());
      staffOut.replaceChildren(el("p", {}, "Ask your organization's admin to register this key:"),
        el("p", { class: "mono", id: "staff-public-key" }, k.publicKey),
        el("p", { class: "mono" }, "careledger identity register --id " + k.identity
          + " --role practitioner --public-key " + k.publicKey),
        el("p", { class: "muted" }, "Then sign in below."));
    });
  } } }, field("Your staff identity", staffId),
  el("button", { type: "submit", class: "secondary" }, "Create a key on this device"), staffOut);

  show(el("h1", {}, "Your health records, your say"),
    el("div", { class: "cards" },
      el("section", { class: "card", "aria-labelledby": "h-patient" },
        el("h2", { id: "h-patient" }, "Patients"), enrollForm),
      el("section", { class: "card", "aria-labelledby": "h-signin" },
        el("h2", { id: "h-signin" }, "Sign in"), signInList),
      el("section", { class: "card", "aria-labelledby": "h-staff" },
        el("h2", { id: "h-staff" }, "Clinicians and staff"), staffForm)));
}

// ------------------------------------------------------------------------ shells

function header() {
  const s = S.session();
  document.getElementById("who").textContent = s.identity + " · " + s.role
    + (s.org ? " · " + s.org : "");
  const out = document.getElementById("signout");
  out.hidden = false;
  out.onclick = () => guard(async () => { await S.signOut(); start(); });
}

function tabs(items, active, onPick) {
  return el("nav", { class: "tabs", "aria-label": "Sections", role: "tablist" },
    items.map(([id, label]) => el("button", { type: "button", role: "tab", id: "tab-" + id,
      "aria-selected": String(id === active), on: { click: () => onPick(id) } }, label)));
}

function home() {
  header();
  if (S.session().role === "patient") patient("timeline");
  else staff(S.session().role === "practitioner" ? "patients" : "ledger");
}

function staff(tab) {
  const items = S.session().role === "practitioner"
    ? [["patients", "Patients"], ["ledger", "Ledger and network"]]
    : [["ledger", "Ledger and network"]];
  const body = el("section", { id: "panel", role: "tabpanel" });
  show(tabs(items, tab, staff), body);
  if (tab === "ledger") explorer(body);
  else clinician(body);
}

// ------------------------------------------------------------------------ patient

const PATIENT_TABS = [["timeline", "My records"], ["measure", "My measurements"],
  ["consents", "Who may see them"],
  ["access", "Who saw my data"], ["data", "My data"]];

function patient(tab) {
  const body = el("section", { id: "panel", role: "tabpanel" });
  show(tabs(PATIENT_TABS, tab, patient), body);
  const measure = (b) => measurements(b, allItems);
  ({ timeline, measure, consents, access, data })[tab](body);
}

const newestFirst = (a, b) => (b.date > a.date ? 1 : b.date < a.date ? -1 : 0);

/** A timeline answer's records, decoded, each with its organization and anchoring receipts. */
function decode(res) {
  return res.records.map((r) => {
    const bytes = L.unb64url(r.salted).slice(32);
    const resource = JSON.parse(new TextDecoder().decode(bytes));
    return { r, resource, d: describe(resource), date: when(resource), org: res.custodian,
      anchors: res.anchors };
  }).sort(newestFirst);
}

/**
 * The patient's timelines at the other organizations they are linked to, fetched from those
 * organizations' nodes (network-urls) with a token signed by the patient's key here.
 */
async function remoteTimelines() {
  const [net, me] = await Promise.all([fetch("/portal/api/network", { cache: "no-store" })
    .then((r) => r.json()), S.get("/api/v1/patients/me")]);
  const out = [];
  for (const l of me.links) {
    if (l.org === net.org) continue;
    const base = net.urls[l.org];
    if (!base) {
      out.push({ org: l.org, error: "this node knows no address of " + l.org + "'s node" });
      continue;
    }
    try {
      out.push({ org: l.org, res: await S.getAt(base, "/api/v1/patients/me/timeline") });
    } catch (e) {
      out.push({ org: l.org, error: e.message });
    }
  }
  return out;
}

/** Every record of the patient, here and at the other organizations, newest first. */
async function allItems() {
  const res = await S.get("/api/v1/patients/me/timeline");
  const others = await remoteTimelines();
  return decode(res).concat(...others.filter((o) => o.res).map((o) => decode(o.res)))
    .sort(newestFirst);
}

async function timeline(body) {
  body.replaceChildren(el("p", {}, "Loading your records…"));
  const t0 = performance.now();
  const res = await guard(() => S.get("/api/v1/patients/me/timeline"));
  if (!res) return;
  document.body.dataset.fetchMs = String(Math.round(performance.now() - t0));
  const items = decode(res);
  const orgs = [res.custodian];
  const elsewhere = el("ul", { class: "plain", id: "elsewhere" });
  const types = [...new Set(items.map((i) => i.r.resourceType))].sort();
  const typeSel = el("select", { name: "type" }, el("option", { value: "" }, "All kinds"),
    types.map((t) => el("option", { value: t }, describe({ resourceType: t }).kind + " (" + t + ")")));
  const from = el("input", { type: "date", name: "from" });
  const to = el("input", { type: "date", name: "to" });
  const list = el("ul", { class: "list", id: "timeline", "aria-label": "Records" });
  const count = el("p", { class: "muted", id: "timeline-count" });
  const badges = new Map();
  function render() {
    const shown = items.filter((i) => (!typeSel.value || i.r.resourceType === typeSel.value)
      && (!from.value || i.date.slice(0, 10) >= from.value)
      && (!to.value || i.date.slice(0, 10) <= to.value));
    count.textContent = shown.length + " of " + items.length + " records at "
      + orgs.join(", ");
    list.replaceChildren(...shown.slice(0, 300).map((i) => {
      let b = badges.get(i.r.record);
      if (!b) {
        b = el("span", { class: "badge pending", "data-record": i.r.record }, "checking…");
        badges.set(i.r.record, b);
      }
      return el("li", { "data-type": i.r.resourceType, "data-author": i.r.author || false,
        "data-org": i.org },
        el("div", { class: "row" }, el("span", { class: "kind" }, i.d.kind
          + (i.r.author ? " · recorded by you" : "") + " · " + i.org), b),
        el("div", { class: "title" }, i.d.title),
        i.d.summary ? el("div", {}, i.d.summary) : null,
        el("dl", {}, i.d.details.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
    }));
    if (shown.length > 300) list.append(el("li", { class: "muted" },
      "Showing the newest 300; narrow the filter to see more."));
  }
  for (const c of [typeSel, from, to]) c.addEventListener("change", render);
  body.replaceChildren(el("div", { class: "filters" }, field("Kind", typeSel),
    field("From", from), field("To", to)), count, elsewhere, list);
  render();
  document.body.dataset.timelineMs = String(Math.round(performance.now() - t0));
  // then the records held by the patient's other organizations, from their own nodes
  for (const o of await guard(() => remoteTimelines()) || []) {
    if (o.error) {
      elsewhere.append(el("li", { "data-org": o.org, class: "warning" }, "Records at " + o.org
        + " could not be fetched: " + o.error));
      continue;
    }
    const more = decode(o.res);
    items.push(...more);
    items.sort(newestFirst);
    orgs.push(o.org);
    elsewhere.append(el("li", { "data-org": o.org }, more.length + " records from " + o.org
      + "'s node"));
    for (const t of new Set(more.map((i) => i.r.resourceType))) {
      if (!types.includes(t)) {
        types.push(t);
        typeSel.append(el("option", { value: t }, describe({ resourceType: t }).kind + " ("
          + t + ")"));
      }
    }
  }
  render();
  document.body.dataset.orgs = String(orgs.length);
  // verify after first render: commitment, anchoring transaction, proof, signed head
  const keys = await guard(() => S.nodeKeys([...new Set(items.flatMap((i) =>
    i.anchors[i.r.anchorTx].treeHead.signatures.map((s) => s.keyId)))]));
  const anchored = new Map();
  let ok = 0;
  for (const i of items) {
    let b = badges.get(i.r.record);
    if (!b) {
      b = el("span", { class: "badge pending", "data-record": i.r.record });
      badges.set(i.r.record, b);
    }
    try {
      if (!anchored.has(i.r.anchorTx)) {
        anchored.set(i.r.anchorTx, L.anchoredCommitments(i.anchors[i.r.anchorTx],
          keys || new Map()));
      }
      const a = await anchored.get(i.r.anchorTx);
      await L.verifyRecord(i.r, a);
      if (i.r.author && a.get("signer") !== S.session().key.keyId) {
        throw new Error("not signed with your key");
      }
      mark(b, true, i.r.author ? "✓ verified · signed by you" : "✓ verified",
        "Commitment and ledger proof checked in this browser");
      ok++;
    } catch (e) {
      mark(b, false, "not verified", e.message);
    }
  }
  document.body.dataset.verified = ok + "/" + items.length;
}

function granteeLabel(g) {
  const [kind, rest] = [g.split(":")[0], g.slice(g.indexOf(":") + 1)];
  return kind === "identity" ? rest : kind === "org" ? "everyone at " + rest
    : rest.replace("@", " at ");
}

function requestsList(reqs, body) {
  return el("ul", { class: "list", id: "requests" }, reqs.length === 0
    ? el("li", { class: "muted" }, "Nobody has asked you for access.")
    : reqs.slice().sort((a, b) => b.time - a.time).map((r) => el("li", { "data-request": r.id, "data-state": r.state,
      class: r.state === "open" ? "ask" : "" },
    el("div", { class: "row" }, el("span", { class: "title" }, r.requester + " at " + r.requesterOrg
      + " asks for access"), el("span", { class: "badge" }, r.state)),
    el("div", {}, "For " + r.purposes.map((x) => PURPOSES[x] || x).join(", ") + " · "
      + (r.types.includes("*") ? "all kinds of records" : r.types.join(", ")) + " · until "
      + fmt(r.end)),
    el("div", { class: "muted" }, "Reason: " + r.reason + " · asked " + fmt(r.time)),
    r.state === "open" ? el("div", { class: "row" },
      el("button", { type: "button", class: "grant-request", on: { click: () => guard(async () => {
        await S.submit("consent", { type: "grant",
          id: L.hex(crypto.getRandomValues(new Uint8Array(16))),
          grantee: "identity:" + r.requester, types: r.types, purposes: r.purposes,
          start: Date.now(), end: r.end });
        say("Access granted as asked, signed with your key.");
        consents(body);
      }) } }, "Grant as asked"),
      el("button", { type: "button", class: "secondary decline-request", on: {
        click: () => guard(async () => {
          await S.submit("consent", { type: "decline", id: r.id });
          say("Declined.");
          consents(body);
        }) } }, "Decline")) : null)));
}

async function consents(body) {
  const [res, asks] = await Promise.all([guard(() => S.get("/api/v1/patients/me/consents")),
    guard(() => S.get("/api/v1/patients/me/requests"))]);
  if (!res || !asks) return;
  const kind = el("select", { name: "grantee-kind" }, el("option", { value: "identity" }, "A person"),
    el("option", { value: "org" }, "An organization"),
    el("option", { value: "role" }, "A role at an organization (role@org)"));
  const who = el("input", { name: "grantee", required: true, placeholder: "dr-bea" });
  const purposes = el("fieldset", {}, el("legend", {}, "For what"),
    Object.entries(PURPOSES).map(([c, label]) => el("label", {},
      el("input", { type: "checkbox", name: "purpose", value: c, checked: c === "TREAT" }), label)));
  const types = el("input", { name: "types", placeholder: "all kinds, or e.g. Observation,Condition" });
  const exclude = el("input", { name: "exclude", placeholder: "e.g. PSY (mental health)" });
  const until = el("input", { type: "date", name: "until", required: true,
    value: new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10) });
  const form = el("form", { id: "grant", on: { submit: (ev) => {
    ev.preventDefault();
    guard(async () => {
      const p = [...purposes.querySelectorAll("input:checked")].map((x) => x.value);
      if (p.length === 0) throw new Error("choose at least one purpose");
      const t = types.value.split(",").map((x) => x.trim()).filter(Boolean);
      const x = exclude.value.split(",").map((v) => v.trim()).filter(Boolean);
      const now = Date.now();
      const end = new Date(until.value + "T23:59:59").getTime();
      if (!(end > now)) throw new Error("the end date must be in the future");
      const cmd = { type: "grant", id: L.hex(crypto.getRandomValues(new Uint8Array(16))),
        grantee: kind.value + ":" + who.value.trim(), types: t.length ? t : ["*"],
        purposes: p, start: now, end };
      if (x.length) cmd.exclude = x;
      await S.submit("consent", cmd);
      say("Access granted and signed with your key.");
      consents(body);
    });
  } } }, field("Who", kind), field("Name or id", who), purposes,
  field("Which records", types), field("Except", exclude), field("Until", until),
  el("button", { type: "submit" }, "Sign and grant"));
  const now = Date.now();
  const list = el("ul", { class: "list", id: "grants" }, res.grants.length === 0
    ? el("li", { class: "muted" }, "You have not granted anyone access.")
    : res.grants.map((g) => {
      const state = g.status !== "active" ? "revoked" : g.end < now ? "expired" : "active";
      return el("li", { "data-grant": g.id, "data-state": state },
        el("div", { class: "row" }, el("span", { class: "title" }, granteeLabel(g.grantee)),
          el("span", { class: "badge " + (state === "active" ? "ok" : "") }, state)),
        el("div", {}, (g.types || []).includes("*") || !g.types ? "All kinds of records"
          : g.types.join(", ")),
        el("div", { class: "muted" }, "For " + g.purposes.map((x) => PURPOSES[x] || x).join(", ")
          + " · until " + fmt(g.end) + (g.exclude ? " · except " + g.exclude.join(", ") : "")),
        state === "active" ? el("button", { type: "button", class: "danger",
          on: { click: () => guard(async () => {
            await S.submit("consent", { type: "revoke", id: g.id });
            say("Revoked.");
            consents(body);
          }) } }, "Revoke") : null);
    }));
  body.replaceChildren(el("h2", {}, "Requests for access"), requestsList(asks.requests, body),
    el("h2", {}, "Your grants"), list, el("h2", {}, "Grant access"), form);
}

/** Access events per page: a phone fetches and checks this many at a time. */
const ACCESS_PAGE = 50;

async function access(body) {
  const list = el("ul", { class: "list", id: "events" });
  const count = el("p", { class: "muted" }, "");
  const more = el("div", { id: "older-slot" });
  body.replaceChildren(count, list, more);
  let shown = 0;
  // the node answers the newest events a page at a time; older ones come on request
  const page = async (older) => {
    const res = await guard(() => S.get("/api/v1/patients/me/access-events?limit="
      + ACCESS_PAGE + (older ? "&before=" + encodeURIComponent(older) : "")));
    if (!res) return;
    const events = res.events.slice().reverse();
    shown += events.length;
    count.textContent = shown + " access events" + (res.older ? " (the newest; older ones below)"
      : "");
    more.replaceChildren(res.older ? el("button", { type: "button", id: "older",
      on: { click: () => page(res.older) } }, "Show older events") : "");
    const keys = await guard(() => S.nodeKeys([...new Set(events.filter((e) => e.receipt)
      .flatMap((e) => e.receipt.treeHead.signatures.map((s) => s.keyId)))])) || new Map();
    for (const e of events) {
      const badge = el("span", { class: "badge pending" }, "checking…");
      const cls = e.breakGlass ? "breakglass" : e.decision === "deny" ? "deny" : "";
      list.append(el("li", { class: cls, "data-decision": e.decision,
        "data-break-glass": String(e.breakGlass) },
        el("div", { class: "row" }, el("span", { class: "title" },
          (e.breakGlass ? "BREAK-GLASS: " : "") + e.accessor
          + (e.accessorOrg ? " (" + e.accessorOrg + ")" : "")), badge),
        el("div", {}, (e.decision === "allow" ? "Allowed: " : "Refused: ") + e.action + " of "
          + e.records.length + " record(s)" + (e.types.length ? " — " + e.types.join(", ") : "")),
        el("div", { class: "muted" }, fmt(e.time) + " · purpose " + (PURPOSES[e.purpose]
          || e.purpose || "none") + " · " + e.basis + (e.reason ? " · reason: " + e.reason : ""))));
      try {
        if (!e.receipt) throw new Error("no receipt");
        const payload = await L.verifyReceipt(e.receipt, keys);
        if (payload.contract !== "access") throw new Error("not an access event");
        mark(badge, true, "✓ on the ledger");
      } catch (err) {
        mark(badge, false, "proof failed", err.message);
      }
    }
  };
  await page(null);
}

async function data(body) {
  const download = el("button", { type: "button", id: "download", on: { click: () => guard(async () => {
    // this node's export (recorded as an export), plus the records at the patient's other
    // organizations, fetched from their nodes as for the timeline
    const r = await fetch("/api/v1/patients/me/records", { headers: {
      "X-CSRF-Token": S.session().csrf } });
    if (!r.ok) throw new Error("download refused (HTTP " + r.status + ")");
    const bundle = await r.json();
    let others = 0;
    for (const o of await remoteTimelines()) {
      if (!o.res) throw new Error("records at " + o.org + " could not be fetched: " + o.error);
      for (const i of decode(o.res)) {
        bundle.entry = bundle.entry || [];
        bundle.entry.push({ resource: i.resource });
        others++;
      }
    }
    bundle.total = undefined;
    const blob = new Blob([JSON.stringify(bundle)], { type: "application/fhir+json" });
    const a = el("a", { href: URL.createObjectURL(blob), download: "my-records.json",
      id: "download-link", "data-entries": String((bundle.entry || []).length) },
    "Save my-records.json" + (others ? " (with " + others + " records of other organizations)"
      : ""));
    body.querySelector("#download-slot").replaceChildren(a);
    a.click();
  }) } }, "Download all my records (FHIR Bundle)");
  const org = el("input", { name: "org", required: true, placeholder: "org1" });
  const basis = el("input", { name: "basis", required: true, value: "GDPR Art. 17" });
  const confirmBox = el("input", { type: "checkbox", name: "confirm", required: true });
  const erase = el("form", { id: "erase", on: { submit: (ev) => {
    ev.preventDefault();
    guard(async () => {
      const r = await S.submit("patients", { type: "request-erasure", org: org.value.trim(),
        legalBasis: basis.value.trim() }, "/api/v1/patients/me/erasure");
      say("Erased " + r.erasedRecords + " record(s); the request and the erasure are on the ledger.");
    });
  } } }, field("Organization", org), field("Legal basis", basis),
  el("label", {}, confirmBox, " I understand this cannot be undone"),
  el("button", { type: "submit", class: "danger" }, "Sign and request erasure"));
  const linkCode = el("input", { name: "link-code", required: true, autocomplete: "off",
    autocapitalize: "characters", placeholder: "ABCD-EFGH-…" });
  const linkForm = el("form", { id: "link", on: { submit: (ev) => {
    ev.preventDefault();
    guard(async () => {
      await S.link(linkCode.value.trim().toUpperCase());
      linkCode.value = "";
      say("Linked with your key: your records there now appear under My records.");
    });
  } } }, field("Enrollment code from another organization", linkCode),
  el("button", { type: "submit" }, "Link with my key"));
  body.replaceChildren(el("h2", {}, "Your records at another organization"),
    el("p", { class: "muted" }, "Another hospital, lab or insurer in the network can give you"
      + " a code; linking it lets this portal show their records of you too."), linkForm,
    el("h2", {}, "Download"), download, el("div", { id: "download-slot" }),
    el("h2", {}, "Erase my records"), erase);
}

// ------------------------------------------------------------------------ clinician

async function clinician(root) {
  const purpose = el("select", { name: "purpose" }, Object.entries(PURPOSES).map(([c, l]) =>
    el("option", { value: c }, l)));
  const list = el("ul", { class: "list", id: "patients" });
  const find = el("button", { type: "button", id: "find", on: { click: () => guard(async () => {
    const b = await S.get("/fhir/Patient?_count=50", { "X-Purpose-Of-Use": purpose.value });
    const entries = b.entry || [];
    list.replaceChildren(...(entries.length === 0
      ? [el("li", { class: "muted" }, "No patients you may see for this purpose.")]
      : entries.map((e) => el("li", {}, el("button", { type: "button", class: "secondary",
        "data-patient": e.resource.id, on: { click: () => chart(e.resource.id, purpose.value) } },
      describe(e.resource).title + " · " + (e.resource.birthDate || ""))))));
  }) } }, "Find patients I may see");
  const direct = el("input", { name: "patient-id", placeholder: "Patient id" });
  const open = el("button", { type: "button", class: "secondary", id: "open", on: {
    click: () => chart(direct.value.trim(), purpose.value) } }, "Open");
  root.replaceChildren(el("h1", {}, "Clinician console"), field("Purpose of use", purpose), find,
    list, el("h2", {}, "Open a patient by id"), field("Patient id", direct), open);
}

async function chart(id, purpose, reason) {
  const panel = el("section", { id: "chart" });
  show(el("button", { type: "button", class: "secondary", on: { click: () => staff("patients") } },
    "← Back"), el("h1", {}, "Patient " + id), panel);
  const headers = { "X-Purpose-Of-Use": reason ? "ETREAT" : purpose };
  if (reason) headers["X-Break-Glass-Reason"] = reason;
  try {
    const r = await S.call("GET", "/fhir/Patient/" + encodeURIComponent(id)
      + "/$everything?_count=500", undefined, headers);
    const why = r.headers.get("X-Access-Basis") || "";
    const entries = r.body.entry || [];
    if (entries.length === 0) {
      throw new Error("no consent or rule lets you see this patient's records for this"
        + " purpose; the attempt is recorded on the ledger");
    }
    panel.replaceChildren(el("p", { id: "basis", class: reason ? "warning" : "muted" },
      "Access granted by: " + why + " · recorded in ledger transaction "
        + (r.headers.get("X-Access-Event") || "").slice(0, 16) + "…"),
    el("ul", { class: "list", id: "records" }, entries.map((e) => {
      const d = describe(e.resource);
      return el("li", { "data-type": e.resource.resourceType }, el("span", { class: "kind" }, d.kind),
        el("div", { class: "title" }, d.title), d.summary ? el("div", {}, d.summary) : null,
        el("dl", {}, d.details.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
    })));
  } catch (e) {
    const reasonBox = el("textarea", { name: "reason", required: true, rows: 3 });
    panel.replaceChildren(el("p", { id: "refused", role: "alert" }, "Refused: " + e.message),
      el("form", { id: "breakglass", class: "warning", on: { submit: (ev) => {
        ev.preventDefault();
        chart(id, purpose, reasonBox.value.trim());
      } } }, el("h2", {}, "Emergency access (break-glass)"),
      el("p", {}, "Only in an emergency. Your name, the reason and every record you open are"
        + " written to the ledger and the patient is told at once."),
      field("Reason", reasonBox),
      el("button", { type: "submit", class: "danger" }, "Break the glass")),
      askForm(id, purpose));
  }
}

/** Asks the patient for access: a consent.request signed with the clinician's key. */
function askForm(id, purpose) {
  const why = el("textarea", { name: "ask-reason", required: true, rows: 2, maxlength: 200 });
  const until = el("input", { type: "date", name: "ask-until", required: true,
    value: new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10) });
  const out = el("p", { id: "ask-result", role: "status" });
  return el("form", { id: "ask", class: "card", on: { submit: (ev) => {
    ev.preventDefault();
    guard(async () => {
      const who = await S.get("/api/v1/patients/lookup?id=" + encodeURIComponent(id));
      if (!who.enrolled) {
        throw new Error("this patient has not enrolled in CareLedger yet; they cannot be asked"
          + " here");
      }
      const end = new Date(until.value + "T23:59:59").getTime();
      if (!(end > Date.now())) throw new Error("the end date must be in the future");
      const r = await S.submit("consent", { type: "request",
        id: L.hex(crypto.getRandomValues(new Uint8Array(16))), org: who.org, patient: who.patient,
        purposes: [purpose], types: ["*"], end, reason: why.value.trim() });
      out.textContent = "Request sent; the patient sees it in their portal (transaction "
        + r.txId.slice(0, 16) + "…).";
    });
  } } }, el("h2", {}, "Ask the patient for access"),
  el("p", { class: "muted" }, "The patient is shown who asks, for what purpose and why, and"
    + " decides with their own key."),
  field("Why you need access", why), field("Until", until),
  el("button", { type: "submit", class: "secondary" }, "Send request"), out);
}

start();
