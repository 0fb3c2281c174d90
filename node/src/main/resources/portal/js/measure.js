// The patient's own measurements: written on the phone as FHIR Observations performed by the
// patient, committed to and signed with the patient's key in this browser, stored encrypted in
// the custodian's vault and anchored like any record. Shown as trend charts beside the
// clinic's measurements of the same kind.
import * as L from "./ledger.js";
import * as S from "./session.js";
import { el, field, say, guard, fmt } from "./ui.js";
import { when } from "./fhirview.js";

const UCUM = "http://unitsofmeasure.org";
const CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category";

/** The kinds a patient may record; codes are LOINC, units UCUM. */
export const MEASURES = {
  weight: { label: "Weight", unit: "kg", ucum: "kg", loinc: "29463-7", codes: ["29463-7"],
    display: "Body weight", category: "vital-signs", min: 1, max: 500, step: "0.1" },
  bp: { label: "Blood pressure", unit: "mmHg", ucum: "mm[Hg]", loinc: "85354-9",
    codes: ["85354-9"], display: "Blood pressure panel with all children optional",
    category: "vital-signs", min: 20, max: 300, step: "1",
    parts: [["8480-6", "Systolic blood pressure", "systolic"],
      ["8462-4", "Diastolic blood pressure", "diastolic"]] },
  glucose: { label: "Blood glucose", unit: "mg/dL", ucum: "mg/dL", loinc: "2339-0",
    codes: ["2339-0", "2345-7"], display: "Glucose [Mass/volume] in Blood",
    category: "laboratory", min: 10, max: 1000, step: "1" },
  heart: { label: "Heart rate", unit: "beats/min", ucum: "/min", loinc: "8867-4",
    codes: ["8867-4"], display: "Heart rate", category: "vital-signs", min: 20, max: 300,
    step: "1" },
  steps: { label: "Steps", unit: "steps", ucum: "{steps}", loinc: "55423-8", codes: ["55423-8"],
    display: "Number of steps in unspecified time Pedometer", category: "activity", min: 0,
    max: 200000, step: "1" },
  symptom: { label: "Symptom (free text)", loinc: "75325-1", codes: ["75325-1"],
    display: "Symptom", category: "survey", text: true },
};

function kindOf(resource) {
  const codes = ((resource.code && resource.code.coding) || []).map((c) => c.code);
  for (const [k, m] of Object.entries(MEASURES)) {
    if (m.codes.some((c) => codes.includes(c))) return k;
  }
  return null;
}

function quantity(v, m) {
  return { value: v, unit: m.unit, system: UCUM, code: m.ucum };
}

/** The Observation for one reading; `n` is what the node assigned (id, subject). */
export function observation(n, kind, values, effective, note) {
  const m = MEASURES[kind];
  const now = new Date().toISOString();
  const r = {
    resourceType: "Observation", id: n.id, meta: { versionId: "1", lastUpdated: now },
    status: "final",
    category: [{ coding: [{ system: CATEGORY, code: m.category }] }],
    code: { coding: [{ system: "http://loinc.org", code: m.loinc, display: m.display }],
      text: m.label },
    subject: { reference: n.subject },
    effectiveDateTime: effective,
    issued: now,
    performer: [{ reference: n.subject }],
  };
  if (m.text) r.valueString = values[0];
  else if (m.parts) {
    r.component = m.parts.map(([code, display], i) => ({
      code: { coding: [{ system: "http://loinc.org", code, display }] },
      valueQuantity: quantity(values[i], m),
    }));
  } else r.valueQuantity = quantity(values[0], m);
  if (note) r.note = [{ text: note }];
  return r;
}

/**
 * Writes one reading: asks the node for a record id, builds the Observation, commits to
 * SHA-256(salt || its bytes), signs patients.contribute with the patient's key and sends both.
 */
export async function record(kind, values, effective, note) {
  const n = await S.get("/api/v1/patients/me/measurements/new");
  const bytes = L.utf8(JSON.stringify(observation(n, kind, values, effective, note)));
  const salted = new Uint8Array(32 + bytes.length);
  salted.set(crypto.getRandomValues(new Uint8Array(32)));
  salted.set(bytes, 32);
  const commitment = L.hex(await L.sha256(salted));
  const s = S.session();
  const tx = await L.signTransaction(s.key, s.chain, "patients", { type: "contribute",
    org: n.org, record: n.record, resourceType: "Observation", commitment });
  return (await S.call("POST", "/api/v1/patients/me/measurements",
    { tx: L.b64url(tx), salted: L.b64url(salted) })).body;
}

// ------------------------------------------------------------------------ charts

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

/** The points of one kind: { t, values: [..], mine } from timeline items. */
function series(items, kind, me) {
  const m = MEASURES[kind];
  const out = [];
  for (const i of items) {
    if (i.r.resourceType !== "Observation" || kindOf(i.resource) !== kind) continue;
    const t = Date.parse(when(i.resource));
    if (Number.isNaN(t)) continue;
    const mine = i.r.author === me;
    if (m.text) {
      out.push({ t, text: i.resource.valueString || "", mine });
      continue;
    }
    let values;
    if (m.parts) {
      values = m.parts.map(([code]) => {
        const c = (i.resource.component || []).find((x) => ((x.code && x.code.coding) || [])
          .some((y) => y.code === code));
        return c && c.valueQuantity ? Number(c.valueQuantity.value) : NaN;
      });
    } else {
      values = [i.resource.valueQuantity ? Number(i.resource.valueQuantity.value) : NaN];
    }
    if (values.every((v) => Number.isFinite(v))) out.push({ t, values, mine });
  }
  return out.sort((a, b) => a.t - b.t);
}

/** A line chart: the clinic's readings solid, the patient's own dashed with square marks. */
function chart(kind, points) {
  const m = MEASURES[kind];
  const W = 340;
  const H = 170;
  const P = { l: 44, r: 10, t: 10, b: 28 };
  const all = points.flatMap((p) => p.values);
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (lo === hi) { lo -= 1; hi += 1; }
  const t0 = points[0].t;
  const t1 = points[points.length - 1].t === t0 ? t0 + 86400000 : points[points.length - 1].t;
  const x = (t) => P.l + (W - P.l - P.r) * (t - t0) / (t1 - t0);
  const y = (v) => H - P.b - (H - P.t - P.b) * (v - lo) / (hi - lo);
  const mine = points.filter((p) => p.mine).length;
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
    "aria-label": `${m.label}: ${points.length} readings, ${mine} of them yours, from `
      + `${new Date(t0).toLocaleDateString()} to ${new Date(t1).toLocaleDateString()}` });
  g.append(svg("line", { x1: P.l, y1: H - P.b, x2: W - P.r, y2: H - P.b, class: "axis" }));
  g.append(svg("line", { x1: P.l, y1: P.t, x2: P.l, y2: H - P.b, class: "axis" }));
  for (const v of [lo, (lo + hi) / 2, hi]) {
    g.append(svg("text", { x: P.l - 4, y: y(v) + 4, "text-anchor": "end", class: "tick" },
      Math.round(v * 10) / 10));
  }
  g.append(svg("text", { x: P.l, y: H - 8, class: "tick" }, new Date(t0).toLocaleDateString()));
  g.append(svg("text", { x: W - P.r, y: H - 8, "text-anchor": "end", class: "tick" },
    new Date(t1).toLocaleDateString()));
  const lines = m.parts ? m.parts.length : 1;
  for (const own of [false, true]) {
    const pts = points.filter((p) => p.mine === own);
    for (let k = 0; k < lines; k++) {
      if (pts.length > 1) {
        g.append(svg("polyline", { class: (own ? "mine" : "clinic") + " line" + k,
          points: pts.map((p) => x(p.t).toFixed(1) + "," + y(p.values[k]).toFixed(1)).join(" ") }));
      }
      for (const p of pts) {
        g.append(own
          ? svg("rect", { x: x(p.t) - 3, y: y(p.values[k]) - 3, width: 6, height: 6,
            class: "mine line" + k })
          : svg("circle", { cx: x(p.t), cy: y(p.values[k]), r: 3, class: "clinic line" + k }));
      }
    }
  }
  return g;
}

/**
 * The Measurements tab: a form to record a reading and, per kind, a chart of the clinic's and
 * the patient's own readings. `load` returns the decoded timeline items.
 */
export async function measurements(body, load) {
  const kind = el("select", { name: "kind" }, Object.entries(MEASURES).map(([k, m]) =>
    el("option", { value: k }, m.label)));
  const v1 = el("input", { type: "number", name: "value", inputmode: "decimal" });
  const v2 = el("input", { type: "number", name: "value2", inputmode: "decimal" });
  const txt = el("textarea", { name: "symptom", rows: 2, maxlength: 500 });
  const at = el("input", { type: "datetime-local", name: "when", required: true });
  const note = el("input", { name: "note", maxlength: 200, autocomplete: "off" });
  const f1 = field("Value", v1);
  const f2 = field("Diastolic (mmHg)", v2);
  const ft = field("What do you feel?", txt);
  function adapt() {
    const m = MEASURES[kind.value];
    f1.hidden = !!m.text;
    f2.hidden = !m.parts;
    ft.hidden = !m.text;
    v1.required = !m.text;
    v2.required = !!m.parts;
    txt.required = !!m.text;
    f1.querySelector("label").textContent = m.parts ? "Systolic (mmHg)"
      : m.text ? "Value" : "Value (" + m.unit + ")";
    for (const i of [v1, v2]) {
      i.min = m.min ?? "";
      i.max = m.max ?? "";
      i.step = m.step || "any";
    }
  }
  kind.addEventListener("change", adapt);
  const local = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
  at.value = local.toISOString().slice(0, 16);
  const charts = el("div", { id: "charts" });
  const form = el("form", { id: "measure", on: { submit: (ev) => {
    ev.preventDefault();
    guard(async () => {
      const m = MEASURES[kind.value];
      const values = m.text ? [txt.value.trim()] : m.parts ? [Number(v1.value), Number(v2.value)]
        : [Number(v1.value)];
      if (m.text && !values[0]) throw new Error("describe the symptom");
      const effective = new Date(at.value).toISOString();
      if (Date.parse(effective) > Date.now() + 60000) throw new Error("the time is in the future");
      say("Signing and storing your reading…");
      const r = await record(kind.value, values, effective, note.value.trim());
      say("Saved and signed with your key (transaction " + r.receipt.txId.slice(0, 12) + "…).");
      v1.value = "";
      v2.value = "";
      txt.value = "";
      note.value = "";
      await draw();
    });
  } } }, field("What", kind), f1, f2, ft, field("When", at), field("Note (optional)", note),
  el("button", { type: "submit" }, "Sign and save"));
  adapt();
  async function draw() {
    charts.replaceChildren(el("p", { class: "muted" }, "Loading your measurements…"));
    const items = await load();
    const me = S.session().identity;
    const parts = [];
    for (const k of Object.keys(MEASURES)) {
      const pts = series(items, k, me);
      if (pts.length === 0) continue;
      const m = MEASURES[k];
      const mine = pts.filter((p) => p.mine).length;
      const section = el("section", { class: "card trend", "data-kind": k,
        "data-points": String(pts.length), "data-mine": String(mine) },
      el("h3", {}, m.label + (m.unit ? " (" + m.unit + ")" : "")),
      el("p", { class: "muted" }, (pts.length - mine) + " from your care providers · " + mine
        + " recorded by you"));
      if (m.text) {
        section.append(el("ul", { class: "plain" }, pts.slice(-10).reverse().map((p) =>
          el("li", {}, fmt(p.t) + (p.mine ? " (you): " : " (clinic): ") + p.text))));
      } else {
        section.append(chart(k, pts), el("p", { class: "legend" },
          el("span", { class: "key clinic" }, "● clinic"), " ",
          el("span", { class: "key mine" }, "■ recorded by you"),
          m.parts ? " · upper line systolic, lower diastolic" : ""),
        el("p", { class: "muted" }, "Latest: " + pts[pts.length - 1].values.join("/") + " "
          + m.unit + " on " + fmt(pts[pts.length - 1].t)));
      }
      parts.push(section);
    }
    charts.replaceChildren(...(parts.length ? parts
      : [el("p", { class: "muted" }, "No measurements yet.")]));
  }
  body.replaceChildren(el("h2", {}, "Record a measurement"), form, el("h2", {}, "Trends"),
    charts);
  await draw();
}
