// The web UI's benchmark (bench/ui/run.sh): dashboard first paint with 10,000 builds vs an
// empty store, and the build page's memory while it follows a 100,000-line log.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(path.resolve("tests/browser/package.json"));
const { chromium } = require("playwright-core");
const kiln = process.argv[2];
const work = path.join(os.tmpdir(), `kiln-bench-ui-${process.pid}`);
const cache = path.join(os.tmpdir(), "kiln-build-tests", "service-cache");
const kRuns = 7;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function serve(name, workers) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  const logPath = path.join(dir, "serve.log");
  const child = spawn(kiln, ["serve", "--listen", "127.0.0.1:0", "--data-dir", path.join(dir, "data"),
                             "--cache-dir", cache, "--workers", String(workers)],
                      { stdio: ["ignore", fs.openSync(logPath, "w"), fs.openSync(logPath, "a")],
                        env: { ...process.env, XDG_CONFIG_HOME: path.join(dir, "config") } });
  child.on("exit", (code, signal) => {
    if (!stopping) console.error(`kiln serve (${name}) exited: ${code ?? signal}\n${fs.readFileSync(logPath, "utf8")}`);
  });
  let stopping = false;
  let url = null;
  for (let i = 0; i < 300 && !url; ++i) {
    await new Promise((r) => setTimeout(r, 100));
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(fs.readFileSync(logPath, "utf8"));
    if (m) url = m[1];
  }
  if (!url) throw new Error(`kiln serve did not start: ${fs.readFileSync(logPath, "utf8")}`);
  const token = fs.readFileSync(path.join(dir, "data", "admin.token"), "utf8").trim();
  const call = async (method, route, body) => {
    const r = await fetch(url + route, { method, body: body && JSON.stringify(body),
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" } });
    if (!r.ok) throw new Error(`${method} ${route}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  await call("POST", "/api/v1/users", { name: "bench", role: "admin", password: "bench-password" });
  return { url, call, stop: () => { stopping = true; child.kill("SIGTERM"); } };
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-precise-memory-info"],
});

async function signedIn(url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url + "/login");
  await page.fill("#user", "bench");
  await page.fill("#password", "bench-password");
  await Promise.all([page.waitForURL(url + "/"), page.click("#sign-in-button")]);
  return page;
}

// First contentful paint and the time until the first page of builds is in the table, per
// load of "/" (a signed-in session, caches warm after the first load).
async function dashboard(url, expectRows) {
  const page = await signedIn(url);
  const fcp = [], rows = [];
  for (let i = 0; i < kRuns; ++i) {
    await page.goto(url + "/");
    await page.waitForFunction((n) => document.querySelectorAll("#builds tr").length >= n ||
                                      document.querySelector("#list-status").textContent !== "",
                               expectRows);
    const t = await page.evaluate(() => ({
      fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
      now: performance.now(),
    }));
    fcp.push(t.fcp);
    rows.push(t.now);
  }
  await page.context().close();
  return { fcp: median(fcp), rows: median(rows) };
}

fs.rmSync(work, { recursive: true, force: true });
const lines = [];
const say = (s) => { console.log(s); lines.push(s); };

// ---- 1. The dashboard.
const empty = await serve("empty", 0);
const full = await serve("full", 0);
const started = Date.now();
for (let b = 0; b < 10; ++b) {
  const builds = [];
  for (let i = 0; i < 1000; ++i) {
    // Each its own name: identical requests would attach to one build in flight.
    builds.push({ type: "tar", arch: "x86_64", release: "bookworm", name: `bench-${b * 1000 + i}`,
                  kickstart: "lang C\n%packages\njq\n%end\n" });
  }
  await full.call("POST", "/api/v1/builds/batch", { builds });
}
const stored = (await full.call("GET", "/api/v1/workers")).queue.queued;
say(`store: ${stored} queued builds submitted in ${((Date.now() - started) / 1000).toFixed(1)} s`);
if (stored !== 10000) throw new Error(`expected 10,000 queued builds, the store has ${stored}`);
const e = await dashboard(empty.url, 0);
const f = await dashboard(full.url, 50);
say(`dashboard, empty store:   first contentful paint ${e.fcp.toFixed(0)} ms, list shown ${e.rows.toFixed(0)} ms (median of ${kRuns})`);
say(`dashboard, 10,000 builds: first contentful paint ${f.fcp.toFixed(0)} ms, list shown ${f.rows.toFixed(0)} ms (median of ${kRuns})`);
say(`10,000 builds / empty: first paint ${(f.fcp / e.fcp).toFixed(2)}, list ${(f.rows / e.rows).toFixed(2)}; target first paint <= 300 ms: ${f.fcp <= 300 ? "met" : "NOT met"}`);
empty.stop();
full.stop();

// The largest renderer (tab) process's memory: its private pages (what the tab itself costs,
// as Chrome's task manager counts a tab's footprint) and its RSS (with the pages it shares
// with every other Chromium process: the binary, fonts, libraries).
const renderer = () => {
  let best = { private: 0, rss: 0 };
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--type=renderer")) continue;
      const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      const kb = (field) => Number((new RegExp(field + ":\\s+(\\d+)").exec(rollup) || [0, 0])[1]);
      const mine = (kb("Private_Clean") + kb("Private_Dirty")) * 1024;
      if (mine > best.private) best = { private: mine, rss: kb("Rss") * 1024 };
    } catch (err) { /* gone */ }
  }
  return best;
};

// ---- 2. Following a 100,000-line log.
const builder = await serve("log", 1);
const ks = "lang C\n%packages --excludedocs\njq\n-nano\n%end\n" +
           `%post\nseq -f 'bench log line %g of 100000: the quick brown fox jumps over the lazy dog' 1 100000\n# ${Date.now()}\n%end\n`;
const build = await builder.call("POST", "/api/v1/builds", { type: "tar", arch: "x86_64", release: "bookworm", kickstart: ks });
const page = await signedIn(builder.url);
const cdp = await page.context().newCDPSession(page);
await cdp.send("Performance.enable");
// The same tab on a page with almost nothing in it: what any page costs here.
await page.goto(`${builder.url}/workers`);
await page.waitForTimeout(1000);
const idle = renderer();
await page.goto(`${builder.url}/builds/${build.id}`);
let peakHeap = 0, peakNodes = 0, peakPrivate = 0, peakRss = 0, state = "";
const t0 = Date.now();
while (Date.now() - t0 < 30 * 60 * 1000) {
  const m = Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((x) => [x.name, x.value]));
  peakHeap = Math.max(peakHeap, m.JSHeapUsedSize);
  peakNodes = Math.max(peakNodes, m.Nodes);
  const r = renderer();
  peakPrivate = Math.max(peakPrivate, r.private);
  peakRss = Math.max(peakRss, r.rss);
  state = await page.evaluate(() => document.querySelector("#state .state")?.textContent || "");
  if (["succeeded", "failed", "canceled"].includes(state)) break;
  await new Promise((r) => setTimeout(r, 500));
}
await page.waitForTimeout(2000);  // the last events
const shown = await page.evaluate(() => document.querySelector("#log").textContent.split("\n").length);
const logBytes = (await (await fetch(`${builder.url}/api/v1/builds/${build.id}/log`, {
  headers: { Authorization: "Bearer " + fs.readFileSync(path.join(work, "log", "data", "admin.token"), "utf8").trim() },
})).text()).length;
const mib = (x) => (x / 1048576).toFixed(1);
say(`build page following a 100,000-line log (build ${state}; the log ${mib(logBytes)} MiB, lines in the page at the end ${shown}):`);
say(`  peak JS heap ${mib(peakHeap)} MiB, peak DOM nodes ${peakNodes}`);
say(`  tab (renderer) private memory: ${mib(peakPrivate)} MiB at peak vs ${mib(idle.private)} MiB on the workers page (ratio ${(peakPrivate / idle.private).toFixed(2)})`);
say(`  tab RSS with the pages shared with the other Chromium processes: ${mib(peakRss)} MiB at peak vs ${mib(idle.rss)} MiB`);
say(`target: the tab under 200 MB (private memory): ${peakPrivate < 200 * 1048576 ? "met" : "NOT met"}`);
builder.stop();
await browser.close();
fs.rmSync(work, { recursive: true, force: true });
