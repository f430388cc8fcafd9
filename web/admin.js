// /admin — users (add, disable, enable, delete) and tokens (create — the secret is shown
// once —, list, revoke), worker tokens included. Every change goes through the API as an
// admin's session, with its CSRF token.
import { $, api, h, errorBox, startPage, timeElement } from "./kiln.js";

function report(e) { $("#admin-error").replaceChildren(errorBox(e)); }

function button(text, cls, action) {
  const b = h("button", { type: "button", class: cls }, text);
  b.addEventListener("click", async () => {
    if (b.disabled) return;
    b.disabled = true;
    $("#admin-error").replaceChildren();
    try { await action(); await load(); } catch (e) { report(e); } finally { b.disabled = false; }
  });
  return b;
}

function userRow(u, me) {
  const path = "/api/v1/users/" + encodeURIComponent(u.name);
  const actions = [];
  if (u.name !== me.user) {
    actions.push(u.disabled_at
      ? button("Enable", "secondary", () => api("POST", path + "/enable"))
      : button("Disable", "secondary", () => api("POST", path + "/disable")));
    actions.push(button("Delete", "danger", async () => {
      if (!confirm(`Delete user ${u.name}?`)) return;
      try {
        await api("DELETE", path);
      } catch (e) {
        if (e.code !== "user-has-builds" || !confirm(`${u.name} owns builds. Delete them too?`)) throw e;
        await api("DELETE", path + "?with_builds=1");
      }
    }));
  }
  return h("tr", {}, h("th", { scope: "row" }, u.name), h("td", {}, u.role),
    h("td", {}, u.disabled_at ? ["disabled ", timeElement(u.disabled_at)] : "enabled"),
    h("td", { class: "num" }, u.tokens), h("td", {}, timeElement(u.created_at)),
    h("td", {}, h("div", { class: "row-actions" }, actions)));
}

function tokenRow(t) {
  return h("tr", {}, h("td", {}, t.id), h("td", {}, t.user), h("td", {}, t.role), h("td", {}, t.name),
    h("td", {}, timeElement(t.created_at)), h("td", {}, t.last_used_at ? timeElement(t.last_used_at) : "never"),
    h("td", {}, button("Revoke", "danger", async () => {
      if (confirm(`Revoke token ${t.id} of ${t.user}? Whatever uses it stops working.`)) {
        await api("DELETE", "/api/v1/tokens/" + t.id);
      }
    })));
}

let me = null;

async function load() {
  try {
    const [users, tokens] = await Promise.all([api("GET", "/api/v1/users"), api("GET", "/api/v1/tokens")]);
    $("#users").replaceChildren(...users.users.map((u) => userRow(u, me)));
    $("#tokens").replaceChildren(...tokens.tokens.map(tokenRow));
  } catch (e) { report(e); }
}

$("#add-user").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#admin-error").replaceChildren();
  const body = { name: $("#u-name").value.trim(), role: $("#u-role").value };
  if ($("#u-password").value) body.password = $("#u-password").value;
  try {
    await api("POST", "/api/v1/users", body);
    $("#add-user").reset();
    await load();
  } catch (e) { report(e); }
});

$("#add-token").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#admin-error").replaceChildren();
  const who = $("#t-who").value.trim();
  const body = { name: $("#t-label").value.trim() || "web" };
  body[$("#t-kind").value] = who;
  try {
    const t = await api("POST", "/api/v1/tokens", body);
    $("#new-token").replaceChildren(h("div", { class: "alert ok", role: "status" },
      h("h2", {}, `Token ${t.id} for ${t.user} (${t.role})`),
      h("p", {}, "Copy it now: it is shown only this once (the server keeps only its hash)."),
      h("p", { class: "token", tabindex: "0" }, t.token)));
    await load();
  } catch (e) { report(e); }
});

me = await startPage();
await load();
