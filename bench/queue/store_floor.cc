// What the master's SQLite store costs per job, without HTTP or a broker, for bench/queue:
//   1. a bare commit: one small row per transaction, on a database opened as kiln opens
//      its store (WAL, synchronous=NORMAL, mmap): the least any durable step can cost here;
//   2. kiln's store work for one dry run: submit (build + outbox + queued event), claim
//      (+ running event) and finish (the plan's log lines, the plan, the result and its
//      event), one commit each, as the master does them.
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

  // 2. kiln's store, one dry run at a time.
  std::unique_ptr<Store> store = Store::Open(dir / "kiln.db");
  store->EnableOutbox();
  int64_t owner = store->AddUser("bench", kiln::Role::kUser, "");
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
  t0 = CpuUs();
  for (int i = 0; i < count; ++i) {
    kiln::store::NewBuild nb;
    nb.owner_id = owner;
    nb.spec_json = spec;
    nb.spec_hash = std::to_string(i);  // every one a new build
    nb.type = "tar";
    nb.arch = "x86_64";
    nb.release = "bookworm";
    nb.name = "floor-" + std::to_string(i);
    int64_t id = 0;
    {
      Store::Batch batch(*store);
      id = store->SubmitBuild(nb, ++now).id;
      store->AppendEvents(id, {{"state", R"({"state":"queued"})"}}, now);
      batch.Commit();
    }
    {
      Store::Batch batch(*store);
      store->Claim(id, caps, 30000, ++now);
      store->AppendEvents(id, {{"state", R"({"state":"running"})"}}, now);
      batch.Commit();
    }
    {
      Store::Batch batch(*store);
      store->AppendEvents(id, plan_events, ++now);
      store->Finish(id, 1, "bench-1", kiln::BuildState::kSucceeded, "", "", "", "", now);
      store->AppendEvents(id, {{"state", R"({"state":"succeeded"})"}}, now);
      batch.Commit();
    }
  }
  double job_us = (CpuUs() - t0) / count;
  std::printf(
      "{\"label\": \"store floor\", \"count\": %d, \"bare_commit_cpu_us\": %.1f, "
      "\"kiln_store_per_dry_run_cpu_us\": %.1f}\n",
      count, bare_us, job_us);
  fs::remove_all(dir);
  return 0;
}
