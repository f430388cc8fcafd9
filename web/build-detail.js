// /builds/{id} — one build, live: state, stage and progress from its event stream, the stages
// as a timeline with their cache decisions, the queue while it waits, the log (a window of
// its last lines, followed or paused, searchable), artifacts, and cancel / retry / delete.
import { $, api, h, errorBox, formatBytes, formatDuration, formatTime, startPage, stateBadge,
         timeElement } from "./kiln.js";

const id = Number(location.pathname.split("/")[2]);
const base = "/api/v1/builds/" + id;
// The log lines kept in the page: a build of 100,000 lines keeps the tab small; the whole
// log is a download away.
const kLogWindow = 5000;

let build = null;
let lastSeq = 0;
let stream = null;
const logLines = [];
let droppedLines = 0;
let logDirty = false;
const stages = new Map();  // name -> {name, index, why, cached, outcome, ms, fraction}

function renderBuild() {
  const b = build;
  document.title = `#${b.id} ${b.name || b.type} · kiln`;
  $("#title").textContent = `Build #${b.id}` + (b.name ? ` — ${b.name}` : "") +
    ` (${b.type}, ${b.arch}, ${b.release})`;
  $("#state").replaceChildren(stateBadge(b.state), b.cancel_requested && b.state === "running" ? " cancel requested" : "");
  $("#stage").textContent = b.stage || "–";
  $("#worker").textContent = b.worker || "–";
  $("#created").replaceChildren(timeElement(b.created_at));
  const start = b.started_at ? new Date(b.started_at) : null;
  const end = b.finished_at ? new Date(b.finished_at) : new Date();
  $("#duration").textContent = start ? formatDuration((end - start) / 1000) : "–";
  setProgress(b.state === "succeeded" ? 1 : b.progress || 0);
  renderFailure();
  renderQueue();
  renderArtifacts();
  renderDeliveries();
  const final = ["succeeded", "failed", "canceled"].includes(b.state);
  $("#cancel").hidden = final;
  $("#retry").hidden = !(b.state === "failed" || b.state === "canceled");
  $("#delete").hidden = !final;
  if (b.spec && b.spec.kickstart !== undefined) $("#kickstart").textContent = b.spec.kickstart;
  $("#log-download").href = b.log_url || base + "/log";
  $("#log-download").setAttribute("download", `build-${b.id}.log`);
}

function setProgress(fraction) {
  const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  $("#progress").value = pct;
  $("#progress").textContent = pct + " %";
  $("#progress-text").textContent = pct + " %";
}

function renderFailure() {
  const e = build.error;
  if (!e || build.state === "succeeded") { $("#failure").replaceChildren(); return; }
  $("#failure").replaceChildren(h("div", { class: "alert", role: "alert" },
    h("h2", {}, build.state === "canceled" ? "Canceled" : `Failed: ${e.class || e.code}`),
    h("p", {}, e.message), e.hint ? h("p", {}, "How to fix it: " + e.hint) : null));
}

function renderQueue() {
  const q = build.queue;
  if (build.state !== "queued" || !q) { $("#queue").replaceChildren(); return; }
  const parts = [`Place ${q.position} of ${q.queued} in the queue.`];
  if (q.waiting_for) parts.push(`Waiting for ${q.waiting_for}.`);
  if (q.estimated_start) parts.push(`Expected to start about ${formatTime(q.estimated_start)}.`);
  if (q.estimated_duration_s) parts.push(`Builds like it take about ${formatDuration(q.estimated_duration_s)}.`);
  $("#queue").replaceChildren(h("p", { class: "alert info" }, parts.join(" ")));
}

// What the master sent out (e-mails, staged copies), with each one's tries.
function renderDeliveries() {
  const list = build.deliveries || [];
  $("#deliveries-section").hidden = list.length === 0;
  if (list.length === 0) return;
  $("#deliveries").replaceChildren(h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["What", "To", "State", "Tries", "Last error", "Next try"].map((t) =>
      h("th", { scope: "col" }, t)))),
    h("tbody", {}, list.map((d) => h("tr", {},
      h("td", {}, `${d.kind} (${d.what})`), h("td", { class: "mono" }, d.target),
      h("td", {}, h("span", { class: "state " + (d.state === "delivered" ? "state-succeeded"
                                                  : d.state === "failed" ? "state-failed" : "state-queued") },
                    d.state)),
      h("td", { class: "num" }, d.attempts), h("td", {}, d.last_error || ""),
      h("td", {}, d.next_try ? timeElement(d.next_try) : "")))))));
}

function renderArtifacts() {
  const list = build.artifacts || [];
  if (build.artifacts_removed_at) {
    $("#artifacts").replaceChildren(h("p", { class: "muted" },
      `Removed by the server's retention on ${formatTime(build.artifacts_removed_at)}.`));
    return;
  }
  if (list.length === 0) { $("#artifacts").replaceChildren(h("p", { class: "muted" }, "None yet.")); return; }
  // The build's own SHA256SUMS is one of its artifacts; for an older build without one, the
  // page writes it from the list.
  let sumsLink = null;
  if (!list.some((a) => a.name === "SHA256SUMS")) {
    const sums = list.map((a) => `${a.sha256}  ${a.name}`).join("\n") + "\n";
    const sumsUrl = URL.createObjectURL(new Blob([sums], { type: "text/plain" }));
    sumsLink = h("p", {}, h("a", { href: sumsUrl, download: "SHA256SUMS" }, "SHA256SUMS"));
  }
  $("#artifacts").replaceChildren(h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "File"), h("th", { scope: "col", class: "num" }, "Size"),
      h("th", { scope: "col" }, "SHA-256"))),
    h("tbody", {}, list.map((a) => h("tr", {},
      h("td", {}, h("a", { href: a.url, download: a.name }, a.name)),
      h("td", { class: "num" }, formatBytes(a.size)),
      h("td", { class: "mono" }, a.sha256)))))),
    sumsLink);
}

// ---- Stages.

function stage(name) {
  if (!stages.has(name)) stages.set(name, { name, index: stages.size, why: "", fraction: 0 });
  return stages.get(name);
}

function renderStages() {
  const items = [...stages.values()].sort((a, b) => a.index - b.index);
  if (items.length === 0) return;
  $("#stages").replaceChildren(...items.map((s) => {
    const done = s.outcome !== undefined;
    const cls = s.cached || s.outcome === "cached" ? "cached" : done ? "done" : "";
    const pct = Math.round((done ? 1 : s.fraction) * 100);
    const result = done ? `${s.outcome}${s.ms !== undefined ? " in " + formatDuration(s.ms / 1000) : ""}`
                        : s.current ? pct + " %" : s.planned ? (s.cached ? "cache hit" : "to build") : "";
    return h("li", { class: cls },
      h("span", {}, s.name),
      h("span", { class: "bar", role: "img", "aria-label": `${s.name} ${pct} %` }, h("span", { style: null })),
      h("span", { class: "num" }, result),
      s.why ? h("span", { class: "why" }, s.why) : null);
  }));
  // Widths are set after: a style attribute from text is never built.
  let i = 0;
  for (const bar of $("#stages").querySelectorAll(".bar > span")) {
    const s = items[i++];
    bar.style.width = Math.round((s.outcome !== undefined ? 1 : s.fraction) * 100) + "%";
  }
}

// ---- The log.

function addLogLine(line) {
  logLines.push(line);
  // Trimmed in bulk (one splice per window's worth of lines, not one per line).
  if (logLines.length >= 2 * kLogWindow) {
    droppedLines += logLines.length - kLogWindow;
    logLines.splice(0, logLines.length - kLogWindow);
  }
  scheduleLogRender();
}

// The lines the page shows: the last window's worth.
function shownLines() {
  return logLines.length > kLogWindow ? logLines.slice(logLines.length - kLogWindow) : logLines;
}

// Drawn at most five times a second: a fast log (thousands of lines a second) would otherwise
// lay out the whole window again at every frame.
function scheduleLogRender() {
  if (logDirty) return;
  logDirty = true;
  setTimeout(() => requestAnimationFrame(renderLog), 200);
}

function renderLog() {
  logDirty = false;
  const pre = $("#log");
  const term = $("#log-search").value;
  const lines = shownLines();
  const hidden = droppedLines + logLines.length - lines.length;
  if (!term) {
    pre.textContent = lines.join("\n");
    $("#log-count").textContent =
      hidden > 0 ? `the last ${lines.length} lines of ${lines.length + hidden} (download the full log for all)` : "";
  } else {
    const needle = term.toLowerCase();
    const matches = lines.filter((l) => l.toLowerCase().includes(needle));
    pre.replaceChildren(...matches.flatMap((l) => {
      const at = l.toLowerCase().indexOf(needle);
      return [l.slice(0, at), h("mark", {}, l.slice(at, at + term.length)), l.slice(at + term.length) + "\n"];
    }));
    $("#log-count").textContent = `${matches.length} matching line${matches.length === 1 ? "" : "s"}`;
  }
  if ($("#follow").checked) pre.scrollTop = pre.scrollHeight;
}

// ---- The event stream (EventSource reconnects by itself and sends Last-Event-ID: the
// server resumes after it; the sequence check below drops anything seen twice).

function onEvent(kind, handler) {
  stream.addEventListener(kind, (e) => {
    const seq = Number(e.lastEventId);
    if (seq && seq <= lastSeq) return;
    if (seq) lastSeq = seq;
    let data = {};
    try { data = JSON.parse(e.data); } catch (err) { return; }
    handler(data);
  });
}

let refreshing = false;
let queueTimer = null;
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    build = await api("GET", base);
    renderBuild();
  } catch (e) {
    $("#load-error").replaceChildren(errorBox(e, "Cannot load the build"));
  } finally {
    refreshing = false;
  }
  // A queued build's place and wait change with other builds (no event of its own says so),
  // and deliveries go on after a build's stream has ended: both are asked for again.
  clearTimeout(queueTimer);
  const final = build && ["succeeded", "failed", "canceled"].includes(build.state);
  const pending = build && (build.deliveries || []).some((d) => d.state === "pending");
  if (build && build.state === "queued") queueTimer = setTimeout(refresh, 3000);
  else if (final && pending) queueTimer = setTimeout(refresh, 5000);
}

function follow() {
  stream = new EventSource(base + "/events");
  onEvent("state", (d) => {
    build.state = d.state;
    if (d.worker) build.worker = d.worker;
    renderBuild();
    refresh();
  });
  onEvent("plan", (d) => {
    for (const p of d.stages || []) Object.assign(stage(p.stage), { planned: true, cached: p.cached, why: p.why });
    renderStages();
  });
  onEvent("stage", (d) => {
    for (const s of stages.values()) s.current = false;
    Object.assign(stage(d.stage), { index: d.index ?? stage(d.stage).index, why: d.why || "", current: true });
    build.stage = d.stage;
    if (typeof d.progress === "number") build.progress = d.progress;
    renderBuild();
    renderStages();
  });
  onEvent("progress", (d) => {
    if (typeof d.progress === "number") { build.progress = d.progress; setProgress(d.progress); }
    if (d.stage && typeof d.stage_progress === "number") { stage(d.stage).fraction = d.stage_progress; renderStages(); }
  });
  onEvent("stage_done", (d) => {
    Object.assign(stage(d.stage), { outcome: d.outcome || "done", ms: d.ms, current: false });
    if (typeof d.progress === "number") { build.progress = d.progress; setProgress(d.progress); }
    renderStages();
  });
  onEvent("log", (d) => addLogLine(d.line ?? ""));
  onEvent("cancel", () => { build.cancel_requested = true; renderBuild(); });
  onEvent("artifacts_removed", () => refresh());
  onEvent("delivery", () => refresh());
  stream.addEventListener("end", () => {
    stream.close();
    refresh();
  });
}

function action(button, method, path, after) {
  button.addEventListener("click", async () => {
    if (button.disabled) return;
    if (method === "DELETE" && !confirm(`Delete build #${id} and its files?`)) return;
    button.disabled = true;
    $("#action-error").replaceChildren();
    try {
      const answer = await api(method, path);
      await after(answer);
    } catch (e) {
      $("#action-error").replaceChildren(errorBox(e, "That did not work"));
    } finally {
      button.disabled = false;
    }
  });
}

action($("#cancel"), "POST", base + "/cancel", refresh);
action($("#retry"), "POST", base + "/retry", async () => {
  // A retry is a new attempt of the same build: follow it from here.
  stages.clear();
  $("#stages").replaceChildren();
  await refresh();
  if (stream.readyState === EventSource.CLOSED) follow();
});
action($("#delete"), "DELETE", base, () => location.assign("/"));
$("#log-search").addEventListener("input", scheduleLogRender);
$("#follow").addEventListener("change", scheduleLogRender);
$("#log").addEventListener("wheel", () => {
  const pre = $("#log");
  // Scrolling up pauses following; scrolling back to the end resumes it.
  requestAnimationFrame(() => {
    $("#follow").checked = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  });
});

await startPage();
await refresh();
if (build) follow();
