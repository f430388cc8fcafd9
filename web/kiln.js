// What every page of kiln's web UI shares: calling the API as the CLI does (the session
// cookie, plus the X-CSRF-Token on every change), building DOM from untrusted text without
// ever parsing it as HTML, and formatting sizes and times (in the viewer's own zone).

let whoAmI = null;

// The signed-in user {user, role, csrf_token}, or a trip to the sign-in page.
export async function session() {
  if (whoAmI) return whoAmI;
  const r = await fetch("/api/v1/session", { credentials: "same-origin" });
  if (r.status === 401) {
    toSignIn();
    throw new Error("signed out");
  }
  whoAmI = await r.json();
  return whoAmI;
}

export function toSignIn() {
  const here = location.pathname + location.search;
  location.assign("/login?next=" + encodeURIComponent(here));
}

// An API answer that was not a success: its status and the API's error object.
export class ApiError extends Error {
  constructor(status, error) {
    super(error.message || "HTTP " + status);
    this.status = status;
    this.code = error.code || "";
    this.hint = error.hint || "";
    this.details = error.details;
  }
}

// Calls the API. `body`: an object (sent as JSON), a string (text/plain) or FormData
// (multipart). Answers the
// parsed JSON; throws ApiError for an error answer (a 401 goes to the sign-in page).
export async function api(method, path, body, headers = {}) {
  const init = { method, credentials: "same-origin", headers: { ...headers } };
  if (method !== "GET" && method !== "HEAD") {
    init.headers["X-CSRF-Token"] = (await session()).csrf_token;
  }
  if (body instanceof FormData) {
    init.body = body;
  } else if (typeof body === "string") {
    init.headers["Content-Type"] = "text/plain; charset=utf-8";
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { code: "network", message: "the server cannot be reached",
                            hint: "check your connection and try again" });
  }
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (r.status === 401 && path !== "/api/v1/session") {
    toSignIn();
    throw new ApiError(401, { code: "unauthorized", message: "your session has ended" });
  }
  if (!r.ok) {
    const error = json && json.error ? json.error : { message: "HTTP " + r.status };
    throw new ApiError(r.status, error);
  }
  return json;
}

// h("a", {href: url}, "text", child...): an element; strings become text nodes, never HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function $(selector, root = document) { return root.querySelector(selector); }

export function formatBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0, v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; ++i; }
  return (i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)) + " " + units[i];
}

// An ISO time from the API, in the viewer's own time zone.
export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function timeElement(iso) {
  return iso ? h("time", { datetime: iso }, formatTime(iso)) : "";
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || isNaN(seconds)) return "";
  const s = Math.round(seconds);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}

export function stateBadge(state) {
  return h("span", { class: "state state-" + state }, state);
}

// An error answer as a page shows it: what, and how to fix it.
export function errorBox(err, title = "That did not work") {
  const box = h("div", { class: "alert", role: "alert" }, h("h2", {}, title),
                h("p", {}, err.message || String(err)));
  if (err.hint) box.append(h("p", {}, err.hint));
  return box;
}

// Runs an action once at a time: a double click does not send it twice.
export function once(button, action) {
  button.addEventListener("click", async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    try { await action(event); } finally { button.disabled = false; }
  });
}

// The header: the user's name, admin links, sign-out, and the current page marked.
export async function startPage() {
  const page = document.body.dataset.page;
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === page) a.setAttribute("aria-current", "page");
  }
  const me = await session();
  $("#who-name").textContent = me.user + (me.role === "admin" ? " (admin)" : "");
  $(".who").hidden = false;
  if (me.role === "admin") for (const li of document.querySelectorAll("[data-admin]")) li.hidden = false;
  $("#sign-out").addEventListener("click", async () => {
    try { await api("DELETE", "/api/v1/session"); } catch (e) { /* signed out either way */ }
    location.assign("/login");
  });
  return me;
}
