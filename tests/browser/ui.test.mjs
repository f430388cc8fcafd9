// kiln's web UI in a real browser: Debian's Chromium, driven by playwright-core, against a
// real `kiln serve --workers 1` that builds real images (the services' shared stage cache
// keeps the package set from being bootstrapped twice on a machine).
//   node ui.test.mjs KILN_BINARY OUT_DIR
// Each step prints "ok" or "FAIL"; the process exits non-zero if any failed. A screenshot of
// every page goes to OUT_DIR (a PNG per page) for a person to look at.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const [kiln, outDir] = process.argv.slice(2);
const work = path.join(os.tmpdir(), "kiln-build-tests", `ui-${process.pid}`);
const cache = path.join(os.tmpdir(), "kiln-build-tests", "service-cache");
const kSmall = "lang C\n%packages --excludedocs\njq\n-nano\n%end\n";
const kTimezone = "Asia/Tokyo";

// ---- A tiny runner: steps in order, each reported; a failed step does not stop the rest.

const failures = [];
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    console.log(`ok    ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL  ${name}\n      ${String(e.stack || e).split("\n").join("\n      ")}`);
  }
}

async function eventually(what, fn, timeoutMs = 30000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e.fatal) throw e;
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}` + (last ? `: ${last.message}` : ""));
}

// ---- The server.

// A kickstart server that takes the connection and never answers (the server may fetch from
// loopback here: --fetch-allow below; its time limit is 3 s).
const silent = net.createServer(() => {}).listen(0, "127.0.0.1");
await new Promise((r) => silent.once("listening", r));

function startServer() {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  fs.mkdirSync(cache, { recursive: true });
  const log = fs.openSync(path.join(outDir, "serve.log"), "w");
  const child = spawn(kiln, ["serve", "--listen", "127.0.0.1:0", "--data-dir", path.join(work, "data"),
                             "--cache-dir", cache, "--workers", "1",
                             "--fetch-allow", "127.0.0.1/32", "--fetch-timeout", "3"],
                      { stdio: ["ignore", log, log], env: { ...process.env, XDG_CONFIG_HOME: path.join(work, "config") } });
  return child;
}

async function serverUrl() {
  return eventually("kiln serve to listen", () => {
    const text = fs.readFileSync(path.join(outDir, "serve.log"), "utf8");
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
    return m && m[1];
  }, 30000);
}

const server = startServer();
process.on("exit", () => server.kill("SIGKILL"));
let base = "";
let adminToken = "";

async function adminApi(method, route, body) {
  const r = await fetch(base + route, {
    method, headers: { Authorization: "Bearer " + adminToken, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

// ---- The browser.

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function newPage(options = {}) {
  const context = await browser.newContext({ timezoneId: kTimezone, acceptDownloads: true, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
  page.problems = problems;
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(outDir, name + ".png"), fullPage: true });
}

async function signIn(page, user, password, to = "/") {
  const r = await page.goto(base + to);
  assert.equal(new URL(page.url()).pathname, "/login", "a signed-out visitor lands on the sign-in page");
  assert.equal(new URL(page.url()).searchParams.get("next"), to);
  assert.equal(r.status(), 200);
  await page.fill("#user", user);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL((u) => u.pathname === to.split("?")[0]), page.click("#sign-in-button")]);
}

async function apiFromPage(page, method, route) {
  return page.evaluate(async ([m, r]) => {
    const res = await fetch(r, { method: m });
    return { status: res.status, body: await res.json().catch(() => null) };
  }, [method, route]);
}

async function chooseRelease(page, release) {
  await page.waitForSelector(`#releases input[value="${release}"]`);
  for (const box of await page.$$("#releases input[name=release]")) {
    const value = await box.getAttribute("value");
    if ((value === release) !== (await box.isChecked())) await box.click();
  }
}

async function buildState(page) {
  return page.evaluate(() => document.querySelector("#state .state")?.textContent || "");
}

// ---- The steps.

let alicePage = null;
let firstBuild = 0;
let cancelBuild = 0;

await step("kiln serve starts and the admin adds users through the API", async () => {
  base = await serverUrl();
  adminToken = fs.readFileSync(path.join(work, "data", "admin.token"), "utf8").trim();
  for (const [name, role] of [["alice", "user"], ["bob", "user"], ["ada", "admin"]]) {
    const r = await adminApi("POST", "/api/v1/users", { name, role, password: `${name}-password` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
});

await step("sign in: a signed-out visitor is sent to /login and comes back where they were", async () => {
  alicePage = await newPage();
  const page = alicePage;
  await page.goto(base + "/login");
  await page.fill("#user", "alice");
  await page.fill("#password", "wrong password");
  await page.click("#sign-in-button");
  await page.waitForSelector("#sign-in-error .alert");
  assert.match(await page.textContent("#sign-in-error"), /wrong user name or password/);
  await shot(page, "login");
  await signIn(page, "alice", "alice-password", "/build");
  assert.equal(await page.textContent("#who-name"), "alice");
});

await step("new build: an uploaded kickstart's error is shown at its line; fixed, it builds", async () => {
  const page = alicePage;
  await page.check("input[name=ks-source][value=file]");
  const bad = "lang C\n%packages --excludedocs\njq\n%end\nfrobnicate --now\n";
  await page.setInputFiles("#ks-file", { name: "bad.ks", mimeType: "text/plain", buffer: Buffer.from(bad) });
  await page.waitForSelector("#ks-problems .alert");
  const problems = await page.textContent("#ks-problems");
  assert.match(problems, /Line 5: error: .*frobnicate/, problems);
  await shot(page, "build-form-error");
  // Its own %post: the bootstrap comes from the shared cache, the rest is built while we watch.
  const fixed = kSmall + `%post\necho built-by-the-ui-test-${process.pid}-${Date.now()}\nsleep 4\n%end\n`;
  await page.setInputFiles("#ks-file", { name: "small.ks", mimeType: "text/plain", buffer: Buffer.from(fixed) });
  await eventually("the fixed kickstart to pass", async () => /no problems/.test(await page.textContent("#ks-problems")));
  await page.selectOption("#f-type", "tar");
  await chooseRelease(page, "bookworm");
  assert.equal(await page.isVisible("#f-label"), false, "a live-only field is hidden for tar");
  await shot(page, "build-form");
  await Promise.all([page.waitForURL(/\/builds\/\d+$/), page.click("#submit")]);
  firstBuild = Number(new URL(page.url()).pathname.split("/")[2]);
  assert.ok(firstBuild > 0);
});

await step("build page: progress rises to 100 % with stages and log lines arriving live", async () => {
  const page = alicePage;
  page.problems.length = 0;  // the wrong password's 401 before was on purpose
  const samples = [];
  let stagesWhileRunning = 0, logWhileRunning = 0, wentOffline = false;
  await eventually("the build to finish", async () => {
    const s = await page.evaluate(() => ({
      state: document.querySelector("#state .state")?.textContent || "",
      progress: Number(document.querySelector("#progress").value),
      stages: document.querySelectorAll("#stages li:not(.muted)").length,
      log: document.querySelector("#log").textContent.split("\n").filter((l) => l).length,
    }));
    if (samples.length === 0 || samples.at(-1) !== s.progress) samples.push(s.progress);
    if (s.state === "running") {
      stagesWhileRunning = Math.max(stagesWhileRunning, s.stages);
      logWhileRunning = Math.max(logWhileRunning, s.log);
      if (!wentOffline && s.log > 0) {
        // The stream drops (the browser goes offline) and comes back: EventSource reconnects
        // with Last-Event-ID, and the page must neither lose nor repeat a line.
        wentOffline = true;
        await page.context().setOffline(true);
        await page.waitForTimeout(1500);
        await page.context().setOffline(false);
      }
    }
    if (s.state === "failed" || s.state === "canceled") throw new Error("the build " + s.state);
    return s.state === "succeeded";
  }, 20 * 60 * 1000, 250);
  await shot(page, "build-page");
  assert.equal(samples.at(-1), 100, `samples: ${samples}`);
  assert.ok(samples.some((p) => p > 0 && p < 100), `progress was seen between 0 and 100: ${samples}`);
  for (let i = 1; i < samples.length; ++i) assert.ok(samples[i] >= samples[i - 1], `never goes back: ${samples}`);
  assert.ok(stagesWhileRunning >= 1, "stages appeared while it ran");
  assert.ok(logWhileRunning >= 1, "log lines appeared while it ran");
  assert.ok(wentOffline, "the stream was broken off while the build ran");
  const fullLog = await page.evaluate(async (id) => (await fetch(`/api/v1/builds/${id}/log`)).text(), firstBuild);
  // The log file marks each attempt's start ("=== attempt 1 on ... ==="); the rest are the
  // build's log events, as the page shows them.
  const expectLines = fullLog.split("\n").filter((l) => l && !/^=== attempt \d+ /.test(l));
  const pageLines = async () => (await page.textContent("#log")).split("\n").filter((l) => l);
  await eventually("the page's log to hold the whole log", async () =>
    (await pageLines()).length >= expectLines.length, 15000).catch(() => {});
  assert.deepEqual(await pageLines(), expectLines, "after a reconnect: every line once, in order");
  const timeline = await page.textContent("#stages");
  assert.match(timeline, /bootstrap/);
  assert.match(timeline, /(cached|built|cache hit|miss)/i);
  assert.deepEqual(page.problems, []);
});

await step("artifacts: the download's SHA-256 is the one the page and the API show", async () => {
  const page = alicePage;
  const row = await page.waitForSelector("#artifacts tbody tr:has(a[href$='.tar.zst'])");
  const link = await row.$("a");
  const shown = (await row.$eval("td.mono", (td) => td.textContent)).trim();
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  const file = await download.path();
  const sha = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  assert.equal(sha, shown);
  const api = await apiFromPage(page, "GET", "/api/v1/builds/" + firstBuild);
  const name = await link.textContent();
  assert.equal(api.body.artifacts.find((a) => a.name === name).sha256, sha);
  assert.match(await page.textContent("#artifacts"), /SHA256SUMS/);
});

await step("times are shown in the viewer's zone", async () => {
  const page = alicePage;
  const t = await page.$eval("#created time", (el) => [el.getAttribute("datetime"), el.textContent]);
  const expected = new Date(t[0]).toLocaleString("en-US", { timeZone: kTimezone, dateStyle: "medium", timeStyle: "medium" });
  assert.equal(t[1], expected);
});

await step("cancel a running build from its page", async () => {
  const page = alicePage;
  await page.goto(base + "/build");
  await page.fill("#ks-text", kSmall + "%post\nsleep 600\n%end\n");
  await page.selectOption("#f-type", "tar");
  await chooseRelease(page, "bookworm");
  await Promise.all([page.waitForURL(/\/builds\/\d+$/), page.click("#submit")]);
  cancelBuild = Number(new URL(page.url()).pathname.split("/")[2]);
  await eventually("the build to run", async () => {
    const state = await buildState(page);
    if (state === "failed" || state === "canceled") {
      // Say why at once (not a 15-minute wait): the build's error as the API has it.
      const b = (await apiFromPage(page, "GET", "/api/v1/builds/" + cancelBuild)).body;
      throw Object.assign(new Error(`build ${cancelBuild} ${state} before it ran: ${JSON.stringify(b.error)}`), { fatal: true });
    }
    return state === "running";
  }, 15 * 60 * 1000, 500);

  // With the one worker busy, another build waits: its page says where and for what.
  const queued = await page.evaluate(async (ks) => {
    const me = await (await fetch("/api/v1/session")).json();
    const r = await fetch("/api/v1/builds", {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": me.csrf_token },
      body: JSON.stringify({ type: "tar", arch: "x86_64", release: "bookworm", kickstart: ks }),
    });
    return (await r.json()).id;
  }, kSmall + "# waits in the queue\n");
  await page.goto(base + "/builds/" + queued);
  await page.waitForSelector("#queue .alert");
  assert.match(await page.textContent("#queue"), /Place 1 of \d+ in the queue\. Waiting for /);
  // The page refreshes a queued build's wait (the server's view of the workers is a second old).
  await eventually("the wait to name the busy worker", async () =>
    /all 1 workers that can build it are busy/.test(await page.textContent("#queue")), 15000);
  await shot(page, "build-queued");
  await page.click("#cancel");
  await eventually("the queued build to be canceled", async () => (await buildState(page)) === "canceled", 30000);
  assert.equal(await page.textContent("#queue"), "", "a canceled build waits for nothing");

  await page.goto(base + "/builds/" + cancelBuild);
  await page.waitForSelector("#cancel:not([hidden])");
  await page.click("#cancel");
  await eventually("the build to be canceled", async () => (await buildState(page)) === "canceled", 120000, 500);
  await shot(page, "build-canceled");
});

await step("dashboard: my builds with their state", async () => {
  const page = alicePage;
  await page.goto(base + "/");
  await page.waitForSelector(`#builds tr[data-build="${firstBuild}"]`);
  assert.match(await page.textContent(`#builds tr[data-build="${firstBuild}"]`), /succeeded/);
  assert.match(await page.textContent(`#builds tr[data-build="${cancelBuild}"]`), /canceled/);
  await page.selectOption("#f-state", "canceled");
  await page.click("#filters button[type=submit]");
  await eventually("the filter", async () => (await page.$$("#builds tr")).length === 2);
  await page.fill("#f-q", String(cancelBuild));
  await page.click("#filters button[type=submit]");
  await eventually("the text filter", async () => (await page.$$("#builds tr")).length === 1);
  await page.fill("#f-q", "");
  await page.selectOption("#f-state", "");
  await page.click("#filters button[type=submit]");
  await eventually("the whole list", async () => (await page.$$("#builds tr")).length >= 3);
  await shot(page, "dashboard");
});

await step("workers page: the local worker, online", async () => {
  const page = alicePage;
  await page.goto(base + "/workers");
  await page.waitForSelector("#workers tr");
  assert.match(await page.textContent("#workers"), /online/);
  await shot(page, "workers");
});

await step("settings: her own address, an e-mail opt-out and a webhook saved; a link-local webhook refused", async () => {
  const page = alicePage;
  await page.goto(base + "/settings");
  await eventually("the settings to load", async () => (await page.$eval("#s-webhook-limit", (e) => e.textContent)) === "5");
  await page.fill("#s-email", "alice@example.org");
  await page.fill("#s-webhooks", "http://169.254.169.254/hook");
  await page.click("#settings-form button[type=submit]");
  await eventually("the refusal", async () => /169\.254\.169\.254/.test(await page.textContent("#settings-error")));
  assert.equal((await apiFromPage(page, "GET", "/api/v1/settings")).body.email, "", "nothing refused is stored");
  await page.fill("#s-webhooks", "https://hooks.example.org/kiln\n\n");
  await page.check("#s-opt-out");
  await page.click("#settings-form button[type=submit]");
  await eventually("the saved note", async () => /Saved/.test(await page.textContent("#settings-saved")));
  const saved = (await apiFromPage(page, "GET", "/api/v1/settings")).body;
  assert.equal(saved.email, "alice@example.org");
  assert.equal(saved.email_opt_out, true);
  assert.deepEqual(saved.webhooks, ["https://hooks.example.org/kiln"]);
  await page.reload();
  await eventually("the stored address in the form", async () => (await page.inputValue("#s-email")) === "alice@example.org");
  assert.ok(await page.isChecked("#s-opt-out"));
  await page.click("#show-secret");
  await eventually("her signing secret", async () => /^whsec_[0-9a-f]{64}$/.test((await page.textContent("#secret")).trim()));
  await shot(page, "settings");
  // Back as they were: the later steps' builds are alice's too.
  await page.fill("#s-email", "");
  await page.uncheck("#s-opt-out");
  await page.fill("#s-webhooks", "");
  await page.click("#settings-form button[type=submit]");
  await eventually("the reset", async () => (await apiFromPage(page, "GET", "/api/v1/settings")).body.webhooks.length === 0);
});

await step("a form posted without the CSRF token is refused", async () => {
  const r = await alicePage.evaluate(async () => {
    const res = await fetch("/api/v1/builds", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type: "tar", arch: "x86_64", release: "bookworm", kickstart: "lang C\n" }),
    });
    return { status: res.status, body: await res.json() };
  });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, "csrf");
});

await step("a double-clicked submit makes one build", async () => {
  const page = alicePage;
  const before = (await apiFromPage(page, "GET", "/api/v1/builds?limit=500")).body.builds.length;
  await page.goto(base + "/build");
  await page.fill("#ks-text", kSmall + "# double click\n");
  await page.selectOption("#f-type", "tar");
  await chooseRelease(page, "bookworm");
  await page.check("#f-dry-run");
  await Promise.all([page.waitForURL(/\/builds\/\d+$/), page.dblclick("#submit")]);
  await page.waitForTimeout(1000);
  const after = (await apiFromPage(page, "GET", "/api/v1/builds?limit=500")).body.builds.length;
  assert.equal(after, before + 1);
});

await step("the seed's imagebuild.conf fills the form", async () => {
  const page = alicePage;
  await page.goto(base + "/build");
  await page.waitForSelector('#releases input[value="bookworm"]');
  const conf = "[DEFAULT]\ntype=live\narch=x86_64\nrelease=bookworm\nemail=me@example.org\n" +
               "[live]\nlabel=SEED_LIVE\ntitle=Seed Title\nproduct=Fedora\nreleasever=bookworm\n" +
               "nvr=htop;jq\nbid=\nconfig=http://ks.example.org/seed.ks\n";
  await page.setInputFiles("#f-conf", { name: "imagebuild.conf", mimeType: "text/plain", buffer: Buffer.from(conf) });
  await eventually("the form filled", async () => (await page.inputValue("#f-label")) === "SEED_LIVE");
  assert.equal(await page.inputValue("#f-type"), "live");
  assert.equal(await page.inputValue("#f-title"), "Seed Title");
  assert.equal(await page.inputValue("#f-product"), "Fedora");
  assert.equal(await page.inputValue("#f-extra_packages"), "htop\njq");
  assert.equal(await page.inputValue("#f-email"), "me@example.org");
  assert.equal(await page.isChecked("input[name=ks-source][value=url]"), true);
  assert.equal(await page.inputValue("#ks-url"), "http://ks.example.org/seed.ks");
  assert.equal(await page.isVisible("#f-label"), true, "a live field shows for live");
  await shot(page, "build-form-from-conf");
});

await step("a matrix: two architectures × two releases make four builds in one submit", async () => {
  const page = alicePage;
  await page.goto(base + "/build");
  await page.fill("#ks-text", kSmall + "# matrix\n");
  await page.selectOption("#f-type", "tar");
  await page.waitForSelector('#releases input[value="trixie"]');
  await page.check('#arches input[value="i686"]');
  await page.check('#releases input[value="bookworm"]');
  await page.check('#releases input[value="trixie"]');
  assert.match(await page.textContent("#matrix-note"), /4 builds/);
  await page.check("#f-dry-run");
  await page.click("#submit");
  await page.waitForSelector("#batch-result li");
  const made = await page.$$eval("#batch-result li", (items) => items.map((li) => li.textContent));
  assert.equal(made.length, 4, made.join("; "));
  for (const combo of ["x86_64 bookworm", "x86_64 trixie", "i686 bookworm", "i686 trixie"]) {
    assert.ok(made.some((m) => m.endsWith(combo)), `${combo} in ${made}`);
  }
  await shot(page, "build-form-matrix");
});

await step("bad input: each a clear message on the page, nothing stored", async () => {
  const page = alicePage;
  const count = async () => (await apiFromPage(page, "GET", "/api/v1/builds?limit=500")).body.builds.length;
  const before = await count();
  await page.goto(base + "/build");
  await page.check("input[name=ks-source][value=file]");
  await page.setInputFiles("#ks-file", { name: "image.ks", mimeType: "application/octet-stream", buffer: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]) });
  await eventually("the binary-file message", async () => /binary file/.test(await page.textContent("#ks-problems")));
  const large = "lang C\n" + "# padding\n".repeat(150000);
  await page.setInputFiles("#ks-file", { name: "large.ks", mimeType: "text/plain", buffer: Buffer.from(large) });
  await eventually("the too-large message", async () => /larger than|more than/i.test(await page.textContent("#ks-problems")));
  await page.check("input[name=ks-source][value=url]");
  await page.fill("#ks-url", "http://169.254.169.254/latest/ks.cfg");
  await page.press("#ks-url", "Tab");
  await eventually("the URL refused", async () => /169\.254\.169\.254/.test(await page.textContent("#ks-problems")));
  const refused = await page.textContent("#ks-problems");
  await page.fill("#ks-url", `http://127.0.0.1:${silent.address().port}/never-answers.ks`);
  await page.press("#ks-url", "Tab");
  await eventually("the silent URL's time limit", async () =>
    (await page.textContent("#ks-problems")) !== refused &&
    /time|answer/i.test(await page.textContent("#ks-problems")), 20000);
  await page.check("input[name=ks-source][value=paste]");
  await page.fill("#ks-text", kSmall);
  await page.selectOption("#f-type", "tar");
  await chooseRelease(page, "bookworm");
  await page.setInputFiles("#f-debs", { name: "fake.deb", mimeType: "application/vnd.debian.binary-package", buffer: Buffer.from("not a deb") });
  await page.click("#submit");
  await page.waitForSelector("#form-error .alert");
  assert.match(await page.textContent("#form-error"), /deb/i);
  await shot(page, "build-form-bad-input");
  assert.equal(await count(), before, "no build was stored");
});

await step("another user sees none of alice's builds, and a 404 on their pages", async () => {
  const page = await newPage();
  await signIn(page, "bob", "bob-password", "/");
  await page.waitForSelector("#list-status:not(:empty)");
  assert.equal((await page.$$("#builds tr")).length, 0);
  const r = await page.goto(base + "/builds/" + firstBuild);
  assert.equal(r.status(), 404);
  assert.equal((await apiFromPage(page, "GET", "/api/v1/builds/" + firstBuild)).status, 404);
  const artifact = await apiFromPage(page, "GET", `/api/v1/builds/${firstBuild}/log`);
  assert.equal(artifact.status, 404);
  await page.context().close();
});

await step("admin page: add a user, create a token shown once", async () => {
  const page = await newPage();
  await signIn(page, "ada", "ada-password", "/admin");
  await page.waitForSelector("#users tr");
  await page.fill("#u-name", "carol");
  await page.click("#add-user button[type=submit]");
  await eventually("carol in the list", async () => /carol/.test(await page.textContent("#users")));
  await page.selectOption("#t-kind", "worker");
  await page.fill("#t-who", "build-host-2");
  await page.click("#add-token button[type=submit]");
  await page.waitForSelector("#new-token .token");
  assert.match(await page.textContent("#new-token .token"), /^kiln_/);
  assert.match(await page.textContent("#tokens"), /build-host-2/);
  await shot(page, "admin");
  await page.context().close();
});

await step("an expired session sends the page to sign in again", async () => {
  const page = alicePage;
  await page.context().clearCookies();
  await page.goto(base + "/builds/" + firstBuild);
  assert.equal(new URL(page.url()).pathname, "/login");
});

await step("keyboard only: sign in and reach the form without a mouse", async () => {
  const page = await newPage();
  await page.goto(base + "/login");
  await page.keyboard.type("alice");  // the user field has the focus
  await page.keyboard.press("Tab");
  await page.keyboard.type("alice-password");
  await Promise.all([page.waitForURL((u) => u.pathname === "/"), page.keyboard.press("Enter")]);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");
  const seen = [];
  for (let i = 0; i < 8; ++i) {
    await page.keyboard.press("Tab");
    const now = await page.evaluate(() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      return { text: el.textContent.trim(), outline: style.outlineStyle };
    });
    seen.push(now.text);
    assert.notEqual(now.outline, "none", `the focus is visible on ${now.text}`);
    if (now.text === "New build") break;
  }
  assert.ok(seen.includes("New build"), `tab order: ${seen}`);
  await Promise.all([page.waitForURL((u) => u.pathname === "/build"), page.keyboard.press("Enter")]);
  await page.keyboard.press("Tab");
  await page.context().close();
});

await step("phone width: no page scrolls sideways", async () => {
  const page = await newPage({ viewport: { width: 390, height: 844 } });
  await signIn(page, "alice", "alice-password", "/");
  for (const [route, name] of [["/", "dashboard"], ["/build", "build-form"],
                                ["/builds/" + firstBuild, "build-page"], ["/workers", "workers"],
                                ["/settings", "settings"]]) {
    await page.goto(base + route);
    await page.waitForLoadState("networkidle").catch(() => {});
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 392, `${route} is ${wide} px wide`);
    await shot(page, "phone-" + name);
  }
  await page.context().close();
});

await step("accessibility: axe-core finds no serious or critical violation on any page", async () => {
  // axe is injected as a script of the test's own: only this context lets it past the CSP.
  const page = await newPage({ bypassCSP: true });
  const axe = require.resolve("axe-core/axe.min.js");
  const report = [];
  await page.goto(base + "/login");
  const check = async (route) => {
    await page.waitForLoadState("networkidle").catch(() => {});
    await page.addScriptTag({ path: axe });
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
    for (const v of result.violations) {
      if (v.impact === "serious" || v.impact === "critical") {
        report.push(`${route}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
      }
    }
  };
  await check("/login");
  await signIn(page, "ada", "ada-password", "/");
  for (const route of ["/", "/build", "/builds/" + firstBuild, "/workers", "/settings", "/admin"]) {
    await page.goto(base + route);
    await check(route);
  }
  assert.deepEqual(report, []);
  await page.context().close();
});

await browser.close();
server.kill("SIGTERM");
silent.close();
console.log(failures.length === 0 ? "\nall steps passed" : `\n${failures.length} failed: ${failures.join("; ")}`);
// A failed run keeps the server's data directory and log for a look.
if (failures.length === 0) fs.rmSync(work, { recursive: true, force: true });
else console.log(`kept ${work} (the server's data and log)`);
process.exit(failures.length === 0 ? 0 : 1);
