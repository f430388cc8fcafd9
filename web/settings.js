// /settings — what the master sends for every build of the signed-in user (GET/PATCH
// /api/v1/settings): an address of their own, an opt-out of all e-mail, webhooks; and the
// secret their webhook calls are signed with (GET /api/v1/webhook-secret), shown on request.
import { $, api, h, errorBox, startPage } from "./kiln.js";

function show(s) {
  $("#s-email").value = s.email;
  $("#s-opt-out").checked = s.email_opt_out;
  $("#s-webhooks").value = s.webhooks.join("\n");
  if (s.limits) $("#s-webhook-limit").textContent = s.limits.webhooks;
}

$("#settings-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#settings-error").replaceChildren();
  $("#settings-saved").replaceChildren();
  const body = {
    email: $("#s-email").value.trim(),
    email_opt_out: $("#s-opt-out").checked,
    webhooks: $("#s-webhooks").value.split("\n").map((l) => l.trim()).filter((l) => l),
  };
  try {
    show(await api("PATCH", "/api/v1/settings", body));
    $("#settings-saved").replaceChildren(h("div", { class: "alert ok", role: "status" },
      h("p", {}, "Saved. Builds you submit from now on use these settings.")));
  } catch (e) { $("#settings-error").replaceChildren(errorBox(e, "Not saved")); }
});

$("#show-secret").addEventListener("click", async () => {
  try {
    const s = await api("GET", "/api/v1/webhook-secret");
    $("#secret").replaceChildren(h("p", { class: "token", tabindex: "0" }, s.secret));
    $("#show-secret").hidden = true;
  } catch (e) { $("#secret").replaceChildren(errorBox(e)); }
});

await startPage();
try { show(await api("GET", "/api/v1/settings")); } catch (e) { $("#settings-error").replaceChildren(errorBox(e)); }
