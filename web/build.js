// /build — the seed's form: what to build (one build, or one per architecture × release),
// the kickstart (pasted, uploaded or a URL) checked as it is typed, the request's fields
// (made by the server from its request-field table) and the seed's own fields.
import { $, api, h, errorBox, startPage } from "./kiln.js";

const form = $("#build-form");
let idempotencyKey = newKey();
let releases = [];

function newKey() {
  return "web-" + (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2));
}

function source() { return form.querySelector("input[name=ks-source]:checked").value; }
function checked(name) {
  return [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
}
function lines(text) {
  return text.split(/[\n;]/).map((s) => s.trim()).filter((s) => s);
}

// Fields for other image types are hidden (and not sent).
function showFieldsForType() {
  const type = $("#f-type").value;
  for (const el of form.querySelectorAll("[data-types]")) {
    el.hidden = !el.dataset.types.split(",").includes(type);
  }
}

function showSource() {
  for (const el of form.querySelectorAll("[data-source]")) el.hidden = el.dataset.source !== source();
  scheduleCheck(0);
}

async function loadReleases() {
  const box = $("#releases");
  try {
    releases = (await api("GET", "/api/v1/releases")).releases;
  } catch (e) {
    box.replaceChildren(errorBox(e, "Cannot list releases"));
    return;
  }
  const why = [];
  box.replaceChildren(...releases.map((r, i) => {
    const served = r.online_workers && r.online_workers.length > 0;
    if (!served) why.push(`${r.name}: no online worker builds it yet (queued builds wait for one)`);
    const input = h("input", { type: "checkbox", name: "release", value: r.name,
                               checked: i === 0 ? true : null });
    return h("label", {}, input, ` ${r.name}` + (r.version ? ` (${r.family || ""} ${r.version})` : "") +
             (served ? "" : " — no worker online"));
  }));
  $("#releases-why").textContent = why.join("; ");
  updateMatrixNote();
}

function updateMatrixNote() {
  const n = checked("arch").length * checked("release").length;
  $("#matrix-note").textContent = n > 1 ? `${n} builds: one for each architecture and release.` : "";
}

// ---- Checking the kickstart as it is typed.

let checkTimer = null;
let checkSeq = 0;

function scheduleCheck(delay = 500) {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(checkKickstart, delay);
}

async function kickstartText() {
  if (source() === "paste") return $("#ks-text").value;
  if (source() === "file") {
    const f = $("#ks-file").files[0];
    if (!f) return "";
    const bytes = new Uint8Array(await f.arrayBuffer());
    if (bytes.includes(0)) throw new Error(`${f.name} is a binary file, not a kickstart (a kickstart is text)`);
    return new TextDecoder().decode(bytes);
  }
  return null;  // a URL: the server reads it
}

function showProblems(result) {
  const out = $("#ks-problems");
  if (!result) { out.replaceChildren(); return; }
  if (result.valid && result.diagnostics.length === 0) {
    out.replaceChildren(h("p", { class: "alert ok" }, "The kickstart has no problems."));
    return;
  }
  const items = result.diagnostics.map((d) => {
    const where = d.line ? `Line ${d.line}` : d.file || "Request";
    const li = h("li", { class: d.severity },
      h("a", { href: "#ks-text", "data-line": d.line || "" }, where), `: ${d.severity}: ${d.message}`,
      d.hint ? h("span", { class: "hint" }, d.hint) : null);
    return li;
  });
  const title = result.valid ? "Warnings" : `${result.errors} error${result.errors === 1 ? "" : "s"}`;
  out.replaceChildren(h("div", { class: result.valid ? "alert info" : "alert", role: "status" },
    h("h2", {}, title), h("ul", { class: "problems" }, items)));
}

// A problem's line link puts the cursor on that line of the pasted text.
$("#ks-problems").addEventListener("click", (event) => {
  const a = event.target.closest("a[data-line]");
  if (!a || !a.dataset.line || source() !== "paste") return;
  event.preventDefault();
  const area = $("#ks-text");
  const lineNo = Number(a.dataset.line);
  const text = area.value;
  let start = 0;
  for (let i = 1; i < lineNo && start >= 0; ++i) start = text.indexOf("\n", start) + 1;
  const end = text.indexOf("\n", start);
  area.focus();
  area.setSelectionRange(start, end < 0 ? text.length : end);
});

async function checkKickstart() {
  const seq = ++checkSeq;
  let result = null;
  try {
    const text = await kickstartText();
    if (text === null) {
      const url = $("#ks-url").value.trim();
      if (!url) { showProblems(null); return; }
      result = await api("POST", "/api/v1/kickstart/validate", { kickstart_url: url });
    } else if (!text.trim()) {
      showProblems(null);
      return;
    } else {
      result = await api("POST", "/api/v1/kickstart/validate", text);
    }
  } catch (e) {
    if (seq === checkSeq) $("#ks-problems").replaceChildren(errorBox(e, "Cannot check the kickstart"));
    return;
  }
  if (seq === checkSeq) showProblems(result);
}

// ---- The seed's imagebuild.conf fills the form.

// [DEFAULT] and the image type's own section ([live], [dvd], [boot]) as key -> value.
function parseConf(text) {
  const sections = {};
  let current = "DEFAULT";
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) { current = section[1].trim(); continue; }
    const eq = line.search(/[=:]/);
    if (eq < 0) continue;
    (sections[current] ||= {})[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  const merged = { ...(sections.DEFAULT || {}) };
  const type = merged.type;
  Object.assign(merged, sections[type] || {});
  return merged;
}

function setField(name, value) {
  const el = form.querySelector(`[name="${name}"]`);
  if (el && value !== undefined && value !== "") el.value = value;
}

async function fillFromConf(file) {
  const conf = parseConf(await file.text());
  if (conf.type) $("#f-type").value = conf.type;
  if (conf.arch) {
    for (const box of form.querySelectorAll("input[name=arch]")) box.checked = box.value === conf.arch;
  }
  const release = conf.releasever || conf.release;
  if (release) {
    for (const box of form.querySelectorAll("input[name=release]")) box.checked = box.value === release;
  }
  for (const key of ["label", "title", "product", "version", "proxy", "name", "bid", "flavor"]) {
    setField(key, conf[key]);
  }
  if (release && conf[release + "_url"]) setField("mirror", conf[release + "_url"]);
  const lists = { staging: conf.staging, email: conf.email, extra_packages: conf.nvr };
  for (const [key, value] of Object.entries(lists)) {
    if (value) setField(key, lines(value.replaceAll(",", ";")).join("\n"));
  }
  if (conf.config && /^(https?|ftp):\/\//.test(conf.config)) {
    form.querySelector("input[value=url]").checked = true;
    $("#ks-url").value = conf.config;
  }
  showFieldsForType();
  showSource();
  updateMatrixNote();
}

// ---- Submitting.

const kListFields = ["extra_packages", "staging", "email"];

// The request's fields as the API's JSON takes them (the batch sends one per combination).
function requestFields() {
  const out = {};
  for (const el of form.querySelectorAll("[data-request-field]")) {
    if (el.closest("[hidden]") || !el.value.trim()) continue;
    const key = el.name;
    if (kListFields.includes(key)) {
      const items = lines(el.value);
      if (key === "email") out.notify = { email: items };
      else out[key] = items;
    } else {
      out[key] = el.value.trim();
    }
  }
  const network = $("#f-script_network").value;
  if (network) out.script_network = network;
  return out;
}

function query() {
  const params = new URLSearchParams();
  const priority = Number($("#f-priority").value || 0);
  if (priority) params.set("priority", String(priority));
  if ($("#f-dry-run").checked) params.set("dry_run", "1");
  const q = params.toString();
  return q ? "?" + q : "";
}

async function submit() {
  const out = $("#form-error");
  out.replaceChildren();
  $("#batch-result").replaceChildren();
  const arches = checked("arch"), chosen = checked("release");
  const problems = [];
  if (arches.length === 0) problems.push("choose at least one architecture");
  if (chosen.length === 0) problems.push("choose at least one release");
  let text = null;
  try { text = await kickstartText(); } catch (e) { problems.push(e.message); }
  const url = $("#ks-url").value.trim();
  if (text === null ? !url : !text.trim()) problems.push("give the kickstart: paste it, upload it or name its URL");
  const debs = [...$("#f-debs").files];
  const combos = arches.flatMap((a) => chosen.map((r) => [a, r]));
  if (debs.length && combos.length > 1) problems.push(".deb files go with one architecture and release only");
  if (problems.length) {
    out.append(errorBox({ message: problems.join("; ") }, "The form is not complete"));
    out.querySelector(".alert").focus?.();
    return;
  }
  const base = { type: $("#f-type").value, ...requestFields() };
  if (text === null) base.kickstart_url = url; else base.kickstart = text;
  if (source() === "file") base.kickstart_name = $("#ks-file").files[0].name;
  try {
    if (combos.length === 1) {
      const [arch, release] = combos[0];
      let body = { ...base, arch, release };
      if (debs.length) body = multipart(body, debs);
      const b = await api("POST", "/api/v1/builds" + query(), body, { "Idempotency-Key": idempotencyKey });
      idempotencyKey = newKey();
      location.assign("/builds/" + b.id);
      return;
    }
    const builds = combos.map(([arch, release]) => ({ ...base, arch, release }));
    const answer = await api("POST", "/api/v1/builds/batch" + query(), { builds },
                             { "Idempotency-Key": idempotencyKey });
    idempotencyKey = newKey();
    $("#batch-result").replaceChildren(h("div", { class: "alert ok", role: "status" },
      h("h2", {}, `${answer.builds.length} builds queued`),
      // The answer lists the builds in the request's order.
      h("ul", {}, answer.builds.map((b, i) =>
        h("li", {}, h("a", { href: "/builds/" + b.id }, `#${b.id} ${combos[i][0]} ${combos[i][1]}`))))));
  } catch (e) {
    const box = errorBox(e, "The build was not queued");
    if (Array.isArray(e.details)) {
      box.append(h("ul", { class: "problems" }, e.details.map((d) =>
        h("li", { class: d.severity || "error" },
          (d.line ? `Line ${d.line}: ` : "") + (d.message || JSON.stringify(d))))));
    }
    out.append(box);
  }
}

// One build with .deb files: the same request as multipart form fields.
function multipart(body, debs) {
  const data = new FormData();
  for (const [k, v] of Object.entries(body)) {
    if (k === "notify") for (const e of v.email) data.append("email", e);
    else if (Array.isArray(v)) for (const item of v) data.append(k, item);
    else data.append(k, v);
  }
  for (const f of debs) data.append("package", f, f.name);
  return data;
}

// ---- Wiring.

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = $("#submit");
  if (button.disabled) return;
  button.disabled = true;
  try { await submit(); } finally { button.disabled = false; }
});
$("#f-type").addEventListener("change", showFieldsForType);
for (const r of form.querySelectorAll("input[name=ks-source]")) r.addEventListener("change", showSource);
$("#ks-text").addEventListener("input", () => scheduleCheck());
$("#ks-file").addEventListener("change", () => scheduleCheck(0));
$("#ks-url").addEventListener("change", () => scheduleCheck(0));
$("#arches").addEventListener("change", updateMatrixNote);
$("#releases").addEventListener("change", updateMatrixNote);
$("#f-conf").addEventListener("change", () => {
  const f = $("#f-conf").files[0];
  if (f) fillFromConf(f).catch((e) => $("#form-error").replaceChildren(errorBox(e, "Cannot read that file")));
});

const me = await startPage();
if (me.role === "admin") for (const el of form.querySelectorAll("[data-admin-only]")) el.hidden = false;
showFieldsForType();
await loadReleases();
