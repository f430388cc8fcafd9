// /login: signs in through POST /api/v1/session and goes back where the visitor was.
import { $, errorBox } from "./kiln.js";

// Only a path on this site: never another origin ("//evil", "https://...", "/\evil").
function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  return /^\/(?![\/\\])/.test(next) && !next.startsWith("/login") ? next : "/";
}

$("#sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = $("#sign-in-button");
  const out = $("#sign-in-error");
  out.replaceChildren();
  const user = $("#user").value.trim();
  const password = $("#password").value;
  if (!user || !password) {
    out.append(errorBox({ message: "enter your user name and password" }, "Cannot sign in"));
    return;
  }
  button.disabled = true;
  try {
    const r = await fetch("/api/v1/session", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user, password }),
    });
    if (r.ok) {
      location.assign(nextPage());
      return;
    }
    const body = await r.json().catch(() => ({}));
    out.append(errorBox(body.error || { message: "HTTP " + r.status }, "Cannot sign in"));
    $("#password").focus();
  } catch (e) {
    out.append(errorBox({ message: "the server cannot be reached" }, "Cannot sign in"));
  } finally {
    button.disabled = false;
  }
});
