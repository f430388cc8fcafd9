#include "worker/job_runner.h"

#include <signal.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "core/build_spec_json.h"
#include "core/mutex.h"
#include "core/untrusted_json.h"
#include "engine/reporter.h"
#include "protocol/job_lines.h"
#include "stages/build.h"
#include "sys/files.h"
#include "sys/process.h"
#include "sys/process_runner.h"

namespace kiln::worker {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

// Turns the job's JSON lines into events and the latest overall progress, and keeps the
// result line. Log lines are batched: the coordinator writes a batch in one transaction.
class JobEventReader {
 public:
  void Line(std::string_view text, std::vector<protocol::Event>& out) {
    using Kind = protocol::JobLine::Kind;
    protocol::JobLine line = protocol::DecodeJobLine(text);
    switch (line.kind) {
      case Kind::kForeign:  // a tool wrote to stdout directly: keep it as a log line
      case Kind::kLog:
        out.push_back({"log", json({{"line", line.text}}).dump()});
        break;
      case Kind::kStage:
        index_ = line.index;
        count_ = std::max(1, line.count);
        Update(line.stage, 0);
        out.push_back({"stage", json({{"stage", stage_},
                                      {"index", index_},
                                      {"count", count_},
                                      {"why", line.why},
                                      {"progress", overall_}})
                                    .dump()});
        break;
      case Kind::kProgress:
        Update(line.stage.empty() ? stage_ : line.stage, line.fraction);
        out.push_back({"progress", json({{"stage", stage_},
                                         {"progress", overall_},
                                         {"stage_progress", std::clamp(line.fraction, 0.0, 1.0)},
                                         {"message", line.message}})
                                       .dump()});
        break;
      case Kind::kStageDone:
        Update(line.stage.empty() ? stage_ : line.stage, 1.0);
        out.push_back({"stage_done", json({{"stage", stage_},
                                           {"outcome", line.outcome},
                                           {"ms", line.ms},
                                           {"progress", overall_}})
                                         .dump()});
        break;
      case Kind::kResult:
        result_ = std::move(line);
        break;
    }
  }
  std::optional<protocol::Progress> TakeProgress() {
    if (!progress_changed_) return std::nullopt;
    progress_changed_ = false;
    return protocol::Progress{stage_, overall_};
  }
  // The result line, if the job wrote one.
  const std::optional<protocol::JobLine>& result() const { return result_; }

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
  std::optional<protocol::JobLine> result_;
};

// A dry run's log lines, collected for one event batch.
class CollectingReporter : public engine::Reporter {
 public:
  explicit CollectingReporter(std::vector<protocol::Event>& out) : out_(out) {}
  void StageStarted(int, int, std::string_view, std::string_view) override {}
  void StageProgress(std::string_view, double, std::string_view) override {}
  void StageFinished(std::string_view, engine::StageOutcome, std::chrono::milliseconds) override {}
  void Log(std::string_view line) override {
    out_.push_back({"log", json({{"line", line}}).dump()});
  }

 private:
  std::vector<protocol::Event>& out_;
};

protocol::JobResult Failed(std::string code, std::string cls, std::string message,
                           std::string hint) {
  protocol::JobResult r;
  r.state = BuildState::kFailed;
  r.error_code = std::move(code);
  r.error_class = std::move(cls);
  r.error_message = std::move(message);
  r.error_hint = std::move(hint);
  return r;
}

// The plan of a dry run, as events: log lines, one "plan" event, and the outcome.
protocol::JobResult PlanJob(const std::string& spec_json, const RunnerOptions& options,
                            std::vector<protocol::Event>& events) {
  BuildSpec spec;
  Diagnostics diags;
  json j = json::parse(spec_json, nullptr, false);
  if (!BuildSpecFromJson(j, spec, {"spec", 0}, diags)) {
    std::string first = diags.items().empty() ? "" : FormatDiagnostic(diags.items().front());
    return Failed("job-spec-invalid", "internal", "the build's spec is not valid: " + first, "");
  }
  stages::BuildOptions bo;
  bo.cache_dir = options.cache_dir;
  CollectingReporter reporter(events);
  stages::BuildPlan plan = stages::PlanImage(spec, bo, reporter);
  if (!plan.ok) {
    return Failed(plan.failure.code, std::string(engine::ToString(plan.failure.cls)),
                  plan.failure.message, plan.failure.hint);
  }
  json stages = json::array();
  int index = 0, count = static_cast<int>(plan.stages.size()), cached = 0;
  for (const stages::PlannedStage& s : plan.stages) {
    stages.push_back({{"stage", s.name}, {"key", s.key}, {"cached", s.cached}, {"why", s.why}});
    reporter.Log("plan: [" + std::to_string(++index) + "/" + std::to_string(count) + "] " + s.name +
                 ": " + (s.cached ? "from the cache" : "would build, " + s.why));
    cached += s.cached ? 1 : 0;
  }
  for (const std::string& note : plan.notes) reporter.Log("plan: note: " + note);
  reporter.Log("plan: " + std::to_string(cached) + " of " + std::to_string(count) +
               " stages from the cache; image " + plan.image_name + " (dry run: nothing built)");
  events.push_back({"plan", json({{"stages", stages},
                                  {"image", plan.image_name},
                                  {"cached", cached},
                                  {"notes", plan.notes}})
                                .dump()});
  protocol::JobResult ok;
  ok.state = BuildState::kSucceeded;
  return ok;
}

}  // namespace

Heartbeats::Heartbeats() : thread_([this] { Loop(); }) {}

Heartbeats::~Heartbeats() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  thread_.join();
}

std::unique_ptr<Heartbeats::Beat> Heartbeats::Add(std::function<void()> beat) {
  MutexLock lock(mu_);
  uint64_t id = next_id_++;
  beats_.emplace(id, std::move(beat));
  return std::make_unique<Beat>(*this, id);
}

void Heartbeats::Remove(uint64_t id) {
  MutexLock lock(mu_);
  cv_.Wait(mu_, [&]() KILN_REQUIRES(mu_) { return running_ != id; });
  beats_.erase(id);
}

void Heartbeats::Loop() {
  mu_.Lock();
  while (!stop_) {
    // Each beat in turn, without the lock held while it runs (it may wait for the master).
    for (uint64_t after = 0;;) {
      auto it = beats_.upper_bound(after);
      if (it == beats_.end() || stop_) break;
      after = it->first;
      running_ = it->first;
      std::function<void()>& beat = it->second;  // stays: Remove waits for running_
      mu_.Unlock();
      try {
        beat();
      } catch (const std::exception&) {
        // The beat's attempt sees a silent master through its own lease check; the other
        // attempts' beats must go on.
      }
      mu_.Lock();
      running_ = 0;
      cv_.NotifyAll();
    }
    cv_.WaitFor(mu_, std::chrono::milliseconds(50), [this]() KILN_REQUIRES(mu_) { return stop_; });
  }
  mu_.Unlock();
}

namespace {

// One attempt, from its claim to its end. Three threads share it: the job's output arrives on
// the calling thread (OnLine, inside the process runner), the heartbeat runs on the
// Heartbeats thread (Beat), and delivery runs on the calling thread after the job ends.
class AttemptRunner {
 public:
  AttemptRunner(protocol::WorkerLink& link, const RunnerOptions& options,
                const protocol::JobTicket& ticket, const std::atomic<bool>& stop)
      : link_(link),
        options_(options),
        ticket_(ticket),
        stop_(stop),
        processes_(options.processes != nullptr ? *options.processes : sys::SystemProcessRunner()) {
  }

  AttemptEnd Run();

 private:
  // Sends the batched events and the latest progress; a master that cannot take them does not
  // stop the build (the build's own log file has them).
  void Flush() KILN_REQUIRES(batch_mu_);
  // One line of the job's output: an event in the batch, sent every 100 lines or 200 ms.
  void OnLine(std::string_view line) KILN_EXCLUDES(batch_mu_);
  // Keeps the lease and carries a cancel request back; flushes what a quiet build left in
  // the batch, and stops the job when the worker stops. A master that has not answered for a
  // whole lease has given the build to someone else: stop.
  void Beat() KILN_EXCLUDES(batch_mu_);
  // Delivers one thing to the master, retrying what fails on the way (the master restarting,
  // a dropped connection) while the attempt is still ours. nullopt = lost meanwhile. Gives
  // up after options.deliver_for (a master that answers heartbeats but keeps failing an
  // upload, a full disk say): false, with failure_, then.
  std::optional<bool> Deliver(const std::function<bool()>& call);
  AttemptEnd Finish(const protocol::JobResult& outcome,
                    const std::vector<protocol::Event>& last_events = {});
  // Runs `kiln job` on the ticket's spec in `dir` (spec.json in, out/ for the image).
  sys::RunResult RunJob(const fs::path& dir);
  // How the job ended, as the result to report: its own result line, a cancel, or a crash.
  protocol::JobResult Outcome(const sys::RunResult& r);
  // The image's files to the master, in name order; nullopt if the attempt was lost meanwhile,
  // else `outcome` (a failure if one could not be stored).
  std::optional<protocol::JobResult> StoreArtifacts(const fs::path& out,
                                                    protocol::JobResult outcome);

  protocol::WorkerLink& link_;
  const RunnerOptions& options_;
  const protocol::JobTicket& ticket_;
  const std::atomic<bool>& stop_;
  sys::ProcessRunner& processes_;
  std::atomic<bool> cancel_{false};            // stop the job
  std::atomic<bool> lost_{false};              // the attempt is no longer ours
  std::atomic<bool> canceled_by_user_{false};  // the master said cancel

  Mutex batch_mu_;
  std::vector<protocol::Event> batch_ KILN_GUARDED_BY(batch_mu_);
  JobEventReader reader_ KILN_GUARDED_BY(batch_mu_);
  Clock::time_point last_flush_ KILN_GUARDED_BY(batch_mu_) = Clock::now();

  // The heartbeat thread's own.
  Clock::time_point next_beat_ = Clock::now() + options_.heartbeat;
  Clock::time_point last_ok_ = Clock::now();
  // Why the last delivery try failed (the calling thread's).
  std::string failure_;
};

void AttemptRunner::Flush() {
  std::optional<protocol::Progress> progress = reader_.TakeProgress();
  if (batch_.empty() && !progress) return;
  try {
    if (!link_.Report(ticket_.build_id, ticket_.attempt, batch_, progress)) lost_ = true;
  } catch (const std::exception&) {
    // Keep building: these events are lost, the build's own log file has them.
  }
  batch_.clear();
  last_flush_ = Clock::now();
}

void AttemptRunner::OnLine(std::string_view line) {
  MutexLock lock(batch_mu_);
  reader_.Line(line, batch_);
  if (batch_.size() >= 100 || Clock::now() - last_flush_ > std::chrono::milliseconds(200)) {
    Flush();
  }
}

void AttemptRunner::Beat() {
  if (stop_) cancel_ = true;
  if (Clock::now() < next_beat_) return;
  next_beat_ = Clock::now() + options_.heartbeat;
  {
    MutexLock lock(batch_mu_);
    Flush();
  }
  try {
    protocol::LeaseStatus s = link_.Heartbeat(ticket_.build_id, ticket_.attempt, options_.worker_id,
                                              options_.lease.count());
    last_ok_ = Clock::now();
    if (s == protocol::LeaseStatus::kCancelRequested) {
      canceled_by_user_ = true;
      cancel_ = true;
    } else if (s == protocol::LeaseStatus::kLost) {
      lost_ = true;
      cancel_ = true;
    }
  } catch (const std::exception&) {
    if (Clock::now() - last_ok_ > options_.lease) {
      lost_ = true;
      cancel_ = true;
    }
  }
}

std::optional<bool> AttemptRunner::Deliver(const std::function<bool()>& call) {
  std::chrono::milliseconds backoff(250);
  Clock::time_point give_up = Clock::now() + options_.deliver_for;
  while (!lost_) {
    try {
      return call();
    } catch (const std::exception& e) {
      failure_ = e.what();
      if (Clock::now() >= give_up) return false;
      if (options_.log) {
        options_.log("build " + std::to_string(ticket_.build_id) + " attempt " +
                     std::to_string(ticket_.attempt) + ": " + failure_ + "; trying again in " +
                     std::to_string(backoff.count()) + " ms");
      }
      for (auto slept = std::chrono::milliseconds(0); slept < backoff && !lost_;
           slept += std::chrono::milliseconds(50)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }
  return std::nullopt;
}

AttemptEnd AttemptRunner::Finish(const protocol::JobResult& outcome,
                                 const std::vector<protocol::Event>& last_events) {
  std::optional<bool> recorded = Deliver([&] {
    return link_.Finish(ticket_.build_id, ticket_.attempt, options_.worker_id, outcome,
                        last_events);
  });
  return recorded.value_or(false) ? AttemptEnd::kRecorded : AttemptEnd::kLost;
}

sys::RunResult AttemptRunner::RunJob(const fs::path& dir) {
  sys::WriteFileAtomic(dir / "spec.json", ticket_.spec_json);
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
  for (std::string& flag : stages::LimitFlags(options_.limits)) {
    run.argv.push_back(std::move(flag));
  }
  run.cancel = &cancel_;
  run.kill_grace = options_.kill_grace;
  run.tail_lines = 20;
  run.parent_death_signal = SIGTERM;  // a killed worker still lets the job clean up
  run.on_line = [this](std::string_view line) { OnLine(line); };
  sys::RunResult r = processes_.Run(run);
  MutexLock lock(batch_mu_);
  Flush();
  return r;
}

protocol::JobResult AttemptRunner::Outcome(const sys::RunResult& r) {
  std::optional<protocol::JobLine> result;
  {
    MutexLock lock(batch_mu_);
    result = reader_.result();
  }
  protocol::JobResult outcome;
  if (canceled_by_user_) {
    outcome.state = BuildState::kCanceled;
    outcome.error_code = "canceled";
    outcome.error_class = "canceled";
    outcome.error_message = "canceled by request";
  } else if (r.ok() && result && result->ok) {
    outcome.state = BuildState::kSucceeded;
  } else if (result && !result->code.empty()) {
    outcome = Failed(result->code, result->error_class, result->message, result->hint);
  } else {
    outcome = Failed("job-crashed", "internal",
                     "the build process ended without a result: " + r.Describe() +
                         (r.tail.empty() ? "" : " (last output: " + r.tail.back() + ")"),
                     "see the build log; retry the build");
  }
  return outcome;
}

std::optional<protocol::JobResult> AttemptRunner::StoreArtifacts(const fs::path& out,
                                                                 protocol::JobResult outcome) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(out, ec)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::string error;
    failure_.clear();
    std::optional<bool> stored = Deliver([&] {
      Status added = link_.AddArtifact(ticket_.build_id, ticket_.attempt, file);
      error = added.message();
      return added.ok();
    });
    if (!stored) return std::nullopt;
    if (!*stored) {
      return Failed(
          "artifact-failed", "internal",
          "storing " + file.filename().string() + " failed: " + (error.empty() ? failure_ : error),
          "retry the build (the master's log and free space may say why)");
    }
  }
  return outcome;
}

AttemptEnd AttemptRunner::Run() {
  std::optional<Heartbeats> own_heartbeats;  // a worker without a shared heartbeat thread
  Heartbeats& heartbeats =
      options_.heartbeats != nullptr ? *options_.heartbeats : own_heartbeats.emplace();
  std::unique_ptr<Heartbeats::Beat> beating = heartbeats.Add([this] { Beat(); });

  if (ticket_.dry_run) {
    std::vector<protocol::Event> events;
    protocol::JobResult outcome = PlanJob(ticket_.spec_json, options_, events);
    return Finish(outcome, events);  // the plan and the result in one call
  }

  fs::path dir = link_.AttemptDir(ticket_.build_id, ticket_.attempt);
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir / "out", ec);
  struct RemoveDir {
    fs::path dir;
    ~RemoveDir() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } remove_dir{dir};

  sys::RunResult r = RunJob(dir);
  if (lost_) return AttemptEnd::kLost;  // someone else owns the build now
  if (stop_ && !canceled_by_user_ && r.kind == sys::ExitKind::kCanceled) {
    std::optional<bool> back = Deliver(
        [&] { return link_.HandBack(ticket_.build_id, ticket_.attempt, options_.worker_id); });
    return back.value_or(false) ? AttemptEnd::kHandedBack : AttemptEnd::kLost;
  }
  protocol::JobResult outcome = Outcome(r);
  if (outcome.state == BuildState::kSucceeded) {
    // The image exists: from here on only delivery is retried, never the build.
    std::optional<protocol::JobResult> stored = StoreArtifacts(dir / "out", outcome);
    if (!stored) return AttemptEnd::kLost;
    outcome = *stored;
  }
  return Finish(outcome);
}

}  // namespace

AttemptEnd RunAttempt(protocol::WorkerLink& link, const RunnerOptions& options,
                      const protocol::JobTicket& ticket, const std::atomic<bool>& stop) {
  AttemptRunner runner(link, options, ticket, stop);
  return runner.Run();
}

}  // namespace kiln::worker
