// What the master's SQLite store costs per job, without HTTP or a broker, for bench/queue:
//   1. a bare commit: one small row per transaction, on a database opened as kiln opens
//      its store (WAL, synchronous=NORMAL, mmap): the least any durable step can cost here;
//   2. kiln's store work for one dry run: submit (build + outbox + queued event), claim
//      (+ running event) and finish (the plan's log lines, the plan, the result and its
//      event), one commit each, as the master does them — with the deliveries' triggers off,
//      on (the master's way) with nothing to send, and on with two addresses and a webhook.
//
//   kiln_store_floor --dir /var/tmp/kiln-store-floor --count 5000
//
// Prints one JSON object with the CPU microseconds (user + system) of each per commit/job.
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "store/sqlite.h"
#include "store/store.h"

namespace {
namespace fs = std::filesystem;
using kiln::store::Store;

double CpuUs() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = "/var/tmp/kiln-store-floor";
  int count = 5000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--dir") {
      dir = argv[i + 1];
    } else if (k == "--count") {
      count = std::stoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: kiln_store_floor [--dir DIR] [--count N]\n");
      return 2;
    }
  }
  fs::remove_all(dir);
  fs::create_directories(dir);

  // 1. Bare commits.
  auto db = kiln::store::Database::Open(dir / "bare.db");
  db->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  const std::string body(200, 'x');
  double t0 = CpuUs();
  for (int i = 0; i < count; ++i) {
    db->Exec("BEGIN IMMEDIATE");
    db->Prepare("INSERT INTO t(body) VALUES(?1)").Bind(1, body).Run();
    db->Exec("COMMIT");
  }
  double bare_us = (CpuUs() - t0) / count;

  // 2. kiln's store, one dry run at a time, three ways, in interleaved rounds (this machine
  //    is shared and noisy: each way sees the same moments): the deliveries' triggers off;
  //    on, as the master runs them, for a build that names nothing to send; on, for a build
  //    with two addresses and a webhook (7 outbox rows: accepted x2, ended x2, a call per
  //    state change).
  struct Way {
    const char* name;
    bool triggers;
    std::string targets;
    std::unique_ptr<Store> store;
    int64_t owner = 0;
    double cpu_us = 0;
  };
  Way ways[] = {
      {"no_delivery_triggers", false, "{}", nullptr},
      {"delivery_triggers_nothing_to_send", true, "{}", nullptr},
      {"delivery_triggers_two_addresses_and_a_webhook", true,
       R"({"email":["a@example.org","b@example.org"],"webhook":["https://hooks.example.org/k"],)"
       R"("staging":[]})",
       nullptr},
  };
  for (Way& w : ways) {
    fs::create_directories(dir / w.name);
    w.store = Store::Open(dir / w.name / "kiln.db");
    w.store->EnableOutbox();
    if (w.triggers) w.store->EnableDeliveries(/*mail=*/true, /*staging=*/true);
    w.owner = w.store->AddUser("bench", kiln::Role::kUser, "");
  }
  const std::string spec =
      R"({"type":"tar","arch":"x86_64","release":"bookworm","dry_run":true,"kickstart":")" +
      std::string(300, 'k') + R"("})";
  const kiln::store::WorkerCaps caps{"bench-1", "x86_64", "bookworm", ""};
  std::vector<Store::NewEvent> plan_events;
  for (int i = 0; i < 8; ++i) {
    plan_events.push_back({"log", R"({"line":"plan: [1/5] bootstrap: would build, ..."})"});
  }
  plan_events.push_back({"plan", R"({"stages":[],"image":"x.tar","cached":0,"notes":[]})"});
  int64_t now = 1'800'000'000'000;
  constexpr int kRound = 250;
  for (int done = 0; done < count; done += kRound) {
    for (Way& w : ways) {
      Store& store = *w.store;
      t0 = CpuUs();
      for (int i = done; i < done + kRound && i < count; ++i) {
        kiln::store::NewBuild nb;
        nb.owner_id = w.owner;
        nb.spec_json = spec;
        nb.spec_hash = std::to_string(i);  // every one a new build
        nb.type = "tar";
        nb.arch = "x86_64";
        nb.release = "bookworm";
        nb.name = "floor-" + std::to_string(i);
        nb.dry_run = true;
        nb.targets_json = w.targets;
        int64_t id = 0;
        {
          Store::Batch batch(store);
          id = store.SubmitBuild(nb, ++now).id;
          store.AppendEvents(id, {{"state", R"({"state":"queued"})"}}, now);
          batch.Commit();
        }
        {
          Store::Batch batch(store);
          store.Claim(id, caps, 30000, ++now);
          store.AppendEvents(id, {{"state", R"({"state":"running"})"}}, now);
          batch.Commit();
        }
        {
          Store::Batch batch(store);
          store.AppendEvents(id, plan_events, ++now);
          store.Finish(id, 1, "bench-1", kiln::BuildState::kSucceeded, "", "", "", "", now);
          store.AppendEvents(id, {{"state", R"({"state":"succeeded"})"}}, now);
          batch.Commit();
        }
      }
      w.cpu_us += CpuUs() - t0;
    }
  }
  for (Way& w : ways) w.cpu_us /= count;
  // The main figure is what the master does: its triggers are always on (webhooks need no
  // server config).
  std::printf(
      "{\"label\": \"store floor\", \"count\": %d, \"bare_commit_cpu_us\": %.1f, "
      "\"kiln_store_per_dry_run_cpu_us\": %.1f, \"%s_cpu_us\": %.1f, \"%s_cpu_us\": %.1f, "
      "\"triggers_on_vs_off\": %.3f, \"three_targets_vs_off\": %.3f}\n",
      count, bare_us, ways[1].cpu_us, ways[0].name, ways[0].cpu_us, ways[2].name, ways[2].cpu_us,
      ways[1].cpu_us / ways[0].cpu_us, ways[2].cpu_us / ways[0].cpu_us);
  fs::remove_all(dir);
  return 0;
}
