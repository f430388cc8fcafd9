// / — the dashboard: my builds (an admin's: everyone's) with live state and progress, the
// filters and pages of GET /api/v1/builds, and the queue and workers at a glance.
import { $, api, h, errorBox, startPage, stateBadge, timeElement } from "./kiln.js";

const kPageSize = 50;
let cursors = [0];  // the cursor of each page shown so far (0 = the newest)
let page = 0;
let nextCursor = null;
let me = null;

function filters() {
  const params = new URLSearchParams();
  for (const [k, v] of new FormData($("#filters"))) if (v.trim()) params.set(k, v.trim());
  return params;
}

function row(b) {
  const pct = Math.round((b.progress || 0) * 100);
  const link = h("a", { href: "/builds/" + b.id }, "#" + b.id + (b.name ? " " + b.name : ""));
  return h("tr", { "data-build": b.id },
    h("td", {}, link),
    h("td", {}, stateBadge(b.state)),
    h("td", {}, b.state === "running"
      ? h("progress", { max: 100, value: pct, "aria-label": "build " + b.id + " progress" }, pct + " %")
      : b.state === "succeeded" ? "100 %" : ""),
    h("td", {}, b.type), h("td", {}, b.arch),
    h("td", { class: "hide-narrow" }, b.release),
    h("td", { class: "hide-narrow" }, b.owner),
    h("td", { class: "hide-narrow" }, timeElement(b.created_at)));
}

async function load() {
  const params = filters();
  params.set("limit", String(kPageSize));
  if (cursors[page]) params.set("cursor", String(cursors[page]));
  try {
    const list = await api("GET", "/api/v1/builds?" + params);
    $("#list-error").replaceChildren();
    $("#builds").replaceChildren(...list.builds.map(row));
    nextCursor = list.next_cursor;
    $("#older").disabled = !nextCursor;
    $("#newer").disabled = page === 0;
    const whose = me.role === "admin" ? "everyone's builds" : "your builds";
    $("#list-status").textContent = list.builds.length === 0
      ? "No builds match." : `Page ${page + 1} of ${whose}: ${list.builds.length} shown.`;
    return list.builds;
  } catch (e) {
    $("#list-error").replaceChildren(errorBox(e, "Cannot list builds"));
    return [];
  }
}

async function glance() {
  try {
    const w = await api("GET", "/api/v1/workers");
    $("#queued").textContent = w.queue ? w.queue.queued : "–";
    $("#running").textContent = w.queue ? w.queue.running : "–";
    $("#online").textContent = w.workers.filter((x) => x.online).length;
  } catch (e) { /* the list shows errors; the glance stays as it was */ }
}

// Builds not yet finished are refreshed every 2 s while the tab is shown.
async function refresh() {
  if (document.visibilityState === "visible") {
    const builds = await load();
    await glance();
    if (!builds.some((b) => b.state === "queued" || b.state === "running")) {
      setTimeout(refresh, 10000);
      return;
    }
  }
  setTimeout(refresh, 2000);
}

$("#filters").addEventListener("submit", (e) => {
  e.preventDefault();
  cursors = [0];
  page = 0;
  load();
});
$("#older").addEventListener("click", () => {
  if (!nextCursor) return;
  cursors[page + 1] = nextCursor;
  ++page;
  load();
});
$("#newer").addEventListener("click", () => {
  if (page === 0) return;
  --page;
  load();
});

me = await startPage();
refresh();
