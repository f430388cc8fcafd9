#include "worker/local_worker.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "sys/files.h"
#include "sys/process.h"

namespace kiln::worker {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Turns the job's JSON lines into events and the latest overall progress, and keeps the
// result line. Log lines are batched: the coordinator writes a batch in one transaction.
class JobEventReader {
 public:
  void Line(std::string_view text, std::vector<store::Store::NewEvent>& out) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("event")) {
      // Not ours (a tool wrote to stdout directly): keep it as a log line.
      out.push_back({"log", nlohmann::json({{"line", text}}).dump()});
      return;
    }
    std::string event = j.value("event", "");
    if (event == "log") {
      out.push_back({"log", nlohmann::json({{"line", j.value("line", "")}}).dump()});
    } else if (event == "stage") {
      index_ = j.value("index", 0);
      count_ = std::max(1, j.value("count", 1));
      Update(j.value("stage", ""), 0);
      out.push_back({"stage", nlohmann::json({{"stage", stage_},
                                              {"index", index_},
                                              {"count", count_},
                                              {"why", j.value("why", "")},
                                              {"progress", overall_}})
                                  .dump()});
    } else if (event == "progress") {
      Update(j.value("stage", stage_), j.value("fraction", 0.0));
      out.push_back({"progress", nlohmann::json({{"stage", stage_},
                                                 {"progress", overall_},
                                                 {"message", j.value("message", "")}})
                                     .dump()});
    } else if (event == "stage_done") {
      Update(j.value("stage", stage_), 1.0);
      out.push_back({"stage_done", nlohmann::json({{"stage", stage_},
                                                   {"outcome", j.value("outcome", "")},
                                                   {"ms", j.value("ms", 0)},
                                                   {"progress", overall_}})
                                       .dump()});
    } else if (event == "result") {
      result_ = j;
    }
  }
  std::optional<server::Coordinator::Progress> TakeProgress() {
    if (!progress_changed_) return std::nullopt;
    progress_changed_ = false;
    return server::Coordinator::Progress{stage_, overall_};
  }
  const nlohmann::json& result() const { return result_; }

 private:
  void Update(const std::string& stage, double fraction) {
    stage_ = stage;
    overall_ = std::min(1.0, (index_ + std::clamp(fraction, 0.0, 1.0)) / count_);
    progress_changed_ = true;
  }
  int index_ = 0, count_ = 1;
  std::string stage_;
  double overall_ = 0;
  bool progress_changed_ = false;
  nlohmann::json result_;
};

}  // namespace

LocalWorker::LocalWorker(WorkerLink& link, LocalWorkerOptions options)
    : link_(link), options_(std::move(options)) {}

LocalWorker::~LocalWorker() { Stop(); }

void LocalWorker::Start() {
  store::Worker w;
  w.id = options_.id;
  w.arches = options_.arches;
  w.releases = options_.releases;
  w.types = options_.types;
  w.version = KILN_VERSION;
  w.capacity = 1;
  link_.Register(w);
  thread_ = std::thread([this] { Loop(); });
}

void LocalWorker::Stop() {
  stop_ = true;
  Wake();
  if (thread_.joinable()) thread_.join();
}

void LocalWorker::Wake() {
  std::lock_guard<std::mutex> lock(mu_);
  woken_ = true;
  wake_.notify_all();
}

void LocalWorker::Loop() {
  store::WorkerCaps caps{options_.id, options_.arches, options_.releases, options_.types};
  Clock::time_point next_alive = Clock::now();
  while (!stop_) {
    std::optional<server::JobTicket> ticket;
    try {
      if (Clock::now() >= next_alive) {
        link_.Alive(options_.id);
        next_alive = Clock::now() + std::chrono::seconds(10);
      }
      ticket = link_.ClaimNext(caps, options_.lease.count());
    } catch (const std::exception&) {
      // The store failed (disk full, locked): try again after the idle pause.
    }
    if (ticket) {
      RunJob(*ticket);
      continue;
    }
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait_for(lock, options_.idle_poll, [this] { return woken_ || stop_.load(); });
    woken_ = false;
  }
}

void LocalWorker::RunJob(const server::JobTicket& ticket) {
  const int64_t id = ticket.build_id;
  const int attempt = ticket.attempt;
  fs::path dir = link_.AttemptDir(id, attempt);
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir / "out", ec);
  sys::WriteFileAtomic(dir / "spec.json", ticket.spec_json);

  std::atomic<bool> cancel{false};
  std::atomic<bool> lost{false};
  std::atomic<bool> canceled_by_user{false};
  std::mutex batch_mu;
  std::vector<store::Store::NewEvent> batch;
  JobEventReader reader;
  Clock::time_point last_flush = Clock::now();
  auto flush = [&] {  // batch_mu held
    std::optional<server::Coordinator::Progress> progress = reader.TakeProgress();
    if (batch.empty() && !progress) return;
    try {
      if (!link_.Report(id, attempt, batch, progress)) lost = true;
    } catch (const std::exception&) {
      // Keep building; the events of this batch are lost, the log file has what it has.
    }
    batch.clear();
    last_flush = Clock::now();
  };

  // The heartbeat keeps the lease and carries a cancel request back; it also flushes events
  // that a quiet build left in the batch, and stops the job when the server stops.
  std::atomic<bool> finished{false};
  std::thread heartbeat([&] {
    Clock::time_point next = Clock::now() + options_.heartbeat;
    while (!finished) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (stop_) cancel = true;
      if (Clock::now() < next) continue;
      next = Clock::now() + options_.heartbeat;
      {
        std::lock_guard<std::mutex> b(batch_mu);
        flush();
      }
      try {
        store::LeaseStatus s = link_.Heartbeat(id, attempt, options_.id, options_.lease.count());
        if (s == store::LeaseStatus::kCancelRequested) {
          canceled_by_user = true;
          cancel = true;
        } else if (s == store::LeaseStatus::kLost) {
          lost = true;
          cancel = true;
        }
      } catch (const std::exception&) {
        // The store failed this once; the lease has room for the next try.
      }
    }
  });

  sys::RunOptions run;
  run.argv = {options_.kiln_binary.string(),
              "job",
              "--spec",
              (dir / "spec.json").string(),
              "--output",
              (dir / "out").string(),
              "--cache-dir",
              options_.cache_dir.string(),
              "--cache-max-gib",
              std::to_string(options_.cache_max_gib)};
  run.cancel = &cancel;
  run.kill_grace = options_.kill_grace;
  run.tail_lines = 20;
  run.parent_death_signal = SIGTERM;  // a killed server still lets the job clean up
  run.on_line = [&](std::string_view line) {
    std::lock_guard<std::mutex> b(batch_mu);
    reader.Line(line, batch);
    if (batch.size() >= 100 || Clock::now() - last_flush > std::chrono::milliseconds(200)) {
      flush();
    }
  };
  sys::RunResult r = sys::RunProcess(run);
  finished = true;
  heartbeat.join();
  {
    std::lock_guard<std::mutex> b(batch_mu);
    flush();
  }
  if (lost) return;  // someone else owns the build now

  try {
    if (stop_ && !canceled_by_user && r.kind == sys::ExitKind::kCanceled) {
      link_.HandBack(id, attempt, options_.id);
      return;
    }
    const nlohmann::json& result = reader.result();
    server::JobResult outcome;
    if (canceled_by_user) {
      outcome.state = BuildState::kCanceled;
      outcome.error_code = "canceled";
      outcome.error_class = "canceled";
      outcome.error_message = "canceled by request";
    } else if (r.ok() && result.is_object() && result.value("ok", false)) {
      outcome.state = BuildState::kSucceeded;
      std::string error;
      for (const fs::directory_entry& e : fs::directory_iterator(dir / "out")) {
        if (!e.is_regular_file()) continue;
        if (!link_.AddArtifact(id, attempt, e.path(), error)) {
          outcome.state = BuildState::kFailed;
          outcome.error_code = "artifact-failed";
          outcome.error_class = "internal";
          outcome.error_message = "storing the artifacts failed: " + error;
          break;
        }
      }
    } else if (result.is_object() && result.contains("code")) {
      outcome.state = BuildState::kFailed;
      outcome.error_code = result.value("code", "");
      outcome.error_class = result.value("class", "");
      outcome.error_message = result.value("message", "");
      outcome.error_hint = result.value("hint", "");
    } else {
      outcome.state = BuildState::kFailed;
      outcome.error_code = "job-crashed";
      outcome.error_class = "internal";
      outcome.error_message = "the build process ended without a result: " + r.Describe() +
                              (r.tail.empty() ? "" : " (last output: " + r.tail.back() + ")");
      outcome.error_hint = "see the build log; retry the build";
    }
    link_.Finish(id, attempt, options_.id, outcome);
  } catch (const std::exception&) {
    // The store failed; the lease runs out and the build is queued again.
  }
  fs::remove_all(dir, ec);
}

}  // namespace kiln::worker
