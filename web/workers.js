// /workers — what the seed used Flower for: each build host's architectures, releases,
// capacity and load, its current builds, its last heartbeat and whether it is online.
import { $, api, h, errorBox, startPage, timeElement } from "./kiln.js";

function row(w, i) {
  const builds = w.current_builds || w.my_builds || [];
  return h("tr", {},
    h("th", { scope: "row" }, w.id || `worker ${i + 1}`),
    h("td", {}, h("span", { class: "state " + (w.online ? "state-succeeded" : "state-canceled") },
      w.online ? "online" : "offline")),
    h("td", {}, w.arches || "any"), h("td", {}, w.releases || "any"), h("td", {}, w.types || "any"),
    h("td", { class: "num" }, `${w.load} / ${w.capacity}`),
    h("td", {}, builds.length === 0 ? "–" :
      builds.map((id, k) => [k ? ", " : "", h("a", { href: "/builds/" + id }, "#" + id)])),
    h("td", {}, timeElement(w.last_heartbeat)),
    h("td", {}, w.version || ""));
}

async function load() {
  try {
    const answer = await api("GET", "/api/v1/workers");
    $("#workers").replaceChildren(...answer.workers.map(row));
    const online = answer.workers.filter((w) => w.online).length;
    $("#workers-status").textContent =
      `${online} of ${answer.workers.length} online; ${answer.queue.queued} queued, ${answer.queue.running} running.`;
    $("#workers-error").replaceChildren();
  } catch (e) {
    $("#workers-error").replaceChildren(errorBox(e, "Cannot list the workers"));
  }
}

await startPage();
await load();
setInterval(() => { if (document.visibilityState === "visible") load(); }, 5000);
