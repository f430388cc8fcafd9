#include "server/coordinator.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sys/files.h"

namespace kiln::server {
namespace fs = std::filesystem;

uint64_t EventHub::Subscribe(int64_t build_id, Listener listener) {
  MutexLock lock(mu_);
  uint64_t handle = next_++;
  listeners_[build_id][handle] = std::move(listener);
  return handle;
}

void EventHub::Unsubscribe(int64_t build_id, uint64_t handle) {
  MutexLock lock(mu_);
  auto it = listeners_.find(build_id);
  if (it == listeners_.end()) return;
  it->second.erase(handle);
  if (it->second.empty()) listeners_.erase(it);
}

void EventHub::Notify(int64_t build_id) {
  MutexLock lock(mu_);
  auto it = listeners_.find(build_id);
  if (it == listeners_.end()) return;
  for (auto& [handle, listener] : it->second) listener();
}

size_t EventHub::Watchers() const {
  MutexLock lock(mu_);
  size_t n = 0;
  for (const auto& [id, m] : listeners_) n += m.size();
  return n;
}

LogFiles::~LogFiles() {
  for (auto& [id, f] : open_) close(f.fd);
}

bool LogFiles::Append(int64_t build_id, const fs::path& file, std::string_view text) {
  MutexLock lock(mu_);
  auto it = open_.find(build_id);
  if (it == open_.end()) {
    if (open_.size() >= max_open_) {
      auto oldest = open_.begin();
      for (auto o = open_.begin(); o != open_.end(); ++o) {
        if (o->second.last_use < oldest->second.last_use) oldest = o;
      }
      close(oldest->second.fd);
      open_.erase(oldest);
    }
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    it = open_.emplace(build_id, Open{fd, 0}).first;
  }
  it->second.last_use = ++uses_;
  while (!text.empty()) {
    ssize_t n = write(it->second.fd, text.data(), text.size());
    if (n <= 0) return false;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void LogFiles::Close(int64_t build_id) {
  MutexLock lock(mu_);
  auto it = open_.find(build_id);
  if (it == open_.end()) return;
  close(it->second.fd);
  open_.erase(it);
}

Coordinator::Coordinator(store::Store& store, fs::path data_dir, const Clock& clock)
    : store_(store), data_dir_(std::move(data_dir)), clock_(clock) {}

fs::path Coordinator::BuildDir(int64_t id) const {
  return data_dir_ / "builds" / std::to_string(id);
}
fs::path Coordinator::LogPath(int64_t id) const { return BuildDir(id) / "build.log"; }
fs::path Coordinator::ArtifactDir(int64_t id) const { return BuildDir(id) / "artifacts"; }
fs::path Coordinator::UploadDir() const { return data_dir_ / "uploads"; }
fs::path Coordinator::AttemptDir(int64_t id, int attempt) const {
  return BuildDir(id) / ("attempt-" + std::to_string(attempt));
}

void Coordinator::StateEvent(int64_t id, BuildState state, const std::string& detail) {
  Bump();
  nlohmann::json data = {{"state", ToString(state)}, {"at_us", NowUs()}};
  if (!detail.empty()) data["detail"] = detail;
  store_.AppendEvents(id, {{"state", data.dump()}}, NowMs());
  hub_.Notify(id);
}

store::SubmitResult Coordinator::Submit(const store::NewBuild& build) {
  return SubmitMany({&build, 1}).front();  // not copied: its spec can hold a 1 MiB kickstart
}

std::vector<store::SubmitResult> Coordinator::SubmitMany(std::span<const store::NewBuild> builds) {
  std::vector<store::SubmitResult> results;
  results.reserve(builds.size());
  bool created = false;
  {
    store::Store::Batch batch(store_);  // the builds and their first events: one commit
    for (const store::NewBuild& build : builds) {
      store::SubmitResult r = store_.SubmitBuild(build, NowMs());
      if (r.outcome == store::SubmitOutcome::kCreated) {
        StateEvent(r.id, BuildState::kQueued, "");  // its directory comes with its first log line
        created = true;
      }
      results.push_back(r);
    }
    batch.Commit();
  }
  // A large spec (a kickstart near the server's limit) stays in SQLite's page cache, a copy
  // the server does not need: given back.
  size_t spec_bytes = 0;
  for (const store::NewBuild& build : builds) spec_bytes += build.spec_json.size();
  if (spec_bytes > (256u << 10)) store_.ReleaseCacheMemory();
  if (created) Queued();
  return results;
}

bool Coordinator::Cancel(int64_t id) {
  if (!store_.RequestCancel(id, NowMs())) return false;
  std::optional<store::Build> b = store_.GetBuild(id);
  if (b && b->state == BuildState::kCanceled) {
    StateEvent(id, BuildState::kCanceled, "canceled before it started");
  } else {
    store_.AppendEvents(id, {{"cancel", R"({"requested":true})"}}, NowMs());
    Bump();
    hub_.Notify(id);
  }
  return true;
}

bool Coordinator::Retry(int64_t id) {
  if (!store_.Retry(id, NowMs())) return false;
  StateEvent(id, BuildState::kQueued, "retry");
  Queued();
  return true;
}

bool Coordinator::Delete(int64_t id) {
  if (!store_.DeleteBuild(id)) return false;
  logs_.Close(id);
  std::error_code ec;
  fs::remove_all(BuildDir(id), ec);
  Bump();
  hub_.Notify(id);
  return true;
}

void Coordinator::RegisterWorker(const protocol::WorkerInfo& info) {
  int64_t now = NowMs();
  store::Worker worker;
  static_cast<protocol::WorkerInfo&>(worker) = info;
  worker.registered_ms = now;
  worker.last_seen_ms = now;
  store_.UpsertWorker(worker);
}

void Coordinator::WorkerAlive(const std::string& worker) { store_.TouchWorker(worker, NowMs()); }

std::optional<JobTicket> Coordinator::ClaimNext(const store::WorkerCaps& caps, int64_t lease_ms) {
  store::Store::Batch batch(store_);  // the claim and its event: one commit
  std::optional<JobTicket> t = Claimed(store_.ClaimNext(caps, lease_ms, NowMs()), caps);
  batch.Commit();
  return t;
}

std::optional<JobTicket> Coordinator::Claim(int64_t id, const store::WorkerCaps& caps,
                                            int64_t lease_ms) {
  store::Store::Batch batch(store_);
  std::optional<JobTicket> t = Claimed(store_.Claim(id, caps, lease_ms, NowMs()), caps);
  batch.Commit();
  return t;
}

std::vector<std::optional<JobTicket>> Coordinator::ClaimMany(const std::vector<int64_t>& ids,
                                                             const store::WorkerCaps& caps,
                                                             int64_t lease_ms) {
  std::vector<std::optional<JobTicket>> tickets;
  tickets.reserve(ids.size());
  store::Store::Batch batch(store_);  // nested Batches join this transaction: one commit
  for (int64_t id : ids) tickets.push_back(Claim(id, caps, lease_ms));
  batch.Commit();
  return tickets;
}

std::optional<JobTicket> Coordinator::Claimed(const std::optional<store::Build>& b,
                                              const store::WorkerCaps& caps) {
  if (!b) return std::nullopt;
  std::string header =
      "=== attempt " + std::to_string(b->attempt) + " on " + caps.worker + " ===\n";
  bool dry_run = b->dry_run;
  // A dry run keeps no files: its few log lines are events (the log route reads them).
  if (!dry_run) logs_.Append(b->id, LogPath(b->id), header);
  if (b->attempt > 1) {
    std::error_code ec;
    fs::remove_all(ArtifactDir(b->id), ec);  // an earlier attempt's files (the store forgot them)
  }
  nlohmann::json data = {
      {"state", "running"}, {"attempt", b->attempt}, {"worker", caps.worker}, {"at_us", NowUs()}};
  store_.AppendEvents(b->id, {{"state", data.dump()}}, NowMs());
  Bump();
  hub_.Notify(b->id);
  return JobTicket{b->id, b->attempt, b->spec_json, dry_run};
}

store::LeaseStatus Coordinator::Heartbeat(int64_t id, int attempt, const std::string& worker,
                                          int64_t lease_ms) {
  return store_.Heartbeat(id, attempt, worker, lease_ms, NowMs());
}

bool Coordinator::IsCurrentAttempt(int64_t id, int attempt) {
  std::optional<store::Store::RunningAttempt> a = store_.RunningAttemptOf(id);
  return a && a->attempt == attempt;
}

bool Coordinator::Report(int64_t id, int attempt, const std::vector<store::Store::NewEvent>& events,
                         const std::optional<Progress>& latest, const std::string& worker) {
  store::Store::Batch batch(store_);  // the check, the progress and the events: one commit
  std::optional<store::Store::RunningAttempt> running = store_.RunningAttemptOf(id);
  if (!running || running->attempt != attempt) return false;
  if (!worker.empty() && running->worker != worker) return false;
  Record(id, *running, events, latest);
  batch.Commit();
  return true;
}

void Coordinator::Record(int64_t id, const store::Store::RunningAttempt& running,
                         const std::vector<store::Store::NewEvent>& events,
                         const std::optional<Progress>& latest) {
  std::string lines;
  for (const store::Store::NewEvent& e : events) {
    if (e.kind != "log" || running.dry_run) continue;  // a dry run keeps no log file
    nlohmann::json data = nlohmann::json::parse(e.data, nullptr, false);
    if (data.is_object() && data.contains("line") && data["line"].is_string()) {
      lines += data["line"].get<std::string>();
      lines += '\n';
    }
  }
  if (!lines.empty()) logs_.Append(id, LogPath(id), lines);
  if (latest) store_.SetProgress(id, running.attempt, latest->stage, latest->fraction);
  Bump();
  if (!events.empty()) store_.AppendEvents(id, events, NowMs());
  hub_.Notify(id);
}

bool Coordinator::HoldsAttempt(int64_t id, int attempt, const std::string& worker) {
  std::optional<store::Store::RunningAttempt> a = store_.RunningAttemptOf(id);
  return a && a->attempt == attempt && a->worker == worker;
}

Status Coordinator::AddArtifact(int64_t id, int attempt, const fs::path& file,
                                const std::string& known_sha256) {
  if (!IsCurrentAttempt(id, attempt)) {
    return Status::Error("attempt " + std::to_string(attempt) + " of build " + std::to_string(id) +
                         " is not running");
  }
  std::string name = file.filename().string();
  std::string sha = known_sha256;
  if (sha.empty() && !sys::Sha256File(file, sha)) {
    return Status::Error("cannot read " + file.string());
  }
  std::error_code ec;
  fs::create_directories(ArtifactDir(id), ec);
  fs::path target = ArtifactDir(id) / name;
  fs::rename(file, target, ec);
  if (ec) {
    return Status::Error("cannot move " + file.string() + " to " + target.string() + ": " +
                         ec.message());
  }
  int64_t size = static_cast<int64_t>(fs::file_size(target, ec));
  store_.AddArtifact({id, name, size, sha});
  Bump();
  return Status::Ok();
}

bool Coordinator::Finish(int64_t id, int attempt, const std::string& worker,
                         const JobResult& result,
                         const std::vector<store::Store::NewEvent>& last_events) {
  store::Store::Batch batch(store_);  // the last events, the result, its event: one commit
  // Checked before anything is written: inside FinishMany's transaction a refused result
  // must leave nothing behind (a nested Batch that is not committed rolls nothing back).
  std::optional<store::Store::RunningAttempt> running = store_.RunningAttemptOf(id);
  if (!running || running->attempt != attempt || running->worker != worker) return false;
  if (!last_events.empty()) Record(id, *running, last_events, std::nullopt);
  if (!store_.Finish(id, attempt, worker, result.state, result.error_code, result.error_class,
                     result.error_message, result.error_hint, NowMs())) {
    return false;
  }
  StateEvent(id, result.state, result.error_message);
  batch.Commit();
  logs_.Close(id);
  return true;
}

std::vector<bool> Coordinator::FinishMany(const std::string& worker,
                                          const std::vector<AttemptResult>& results) {
  std::vector<bool> recorded;
  recorded.reserve(results.size());
  store::Store::Batch batch(store_);
  for (const AttemptResult& r : results) {
    recorded.push_back(Finish(r.id, r.attempt, worker, r.result, r.last_events));
  }
  batch.Commit();
  return recorded;
}

bool Coordinator::HandBack(int64_t id, int attempt, const std::string& worker) {
  if (!store_.HandBack(id, attempt, worker, NowMs())) return false;
  StateEvent(id, BuildState::kQueued, "its worker stopped; it will run again");
  Queued();
  return true;
}

void Coordinator::AddEvent(int64_t id, const std::string& kind, const std::string& data_json) {
  store_.AppendEvents(id, {{kind, data_json}}, NowMs());
  Bump();
  hub_.Notify(id);
}

int Coordinator::ApplyRetention(int64_t max_age_ms, int64_t max_bytes) {
  if (max_age_ms <= 0 && max_bytes <= 0) return 0;
  std::vector<store::Store::StoredArtifacts> builds = store_.BuildsWithArtifacts();
  int64_t total = 0;
  for (const auto& b : builds) total += b.bytes;
  int64_t now = NowMs();
  int removed = 0;
  for (const auto& b : builds) {  // oldest first
    bool too_old = max_age_ms > 0 && now - b.finished_ms > max_age_ms;
    bool over_budget = max_bytes > 0 && total > max_bytes;
    if (!too_old && !over_budget) break;
    std::error_code ec;
    fs::remove_all(ArtifactDir(b.build_id), ec);
    store_.MarkArtifactsRemoved(b.build_id, now);
    Bump();
    nlohmann::json data = {{"reason", too_old ? "age" : "disk budget"}, {"bytes", b.bytes}};
    store_.AppendEvents(b.build_id, {{"artifacts_removed", data.dump()}}, now);
    hub_.Notify(b.build_id);
    total -= b.bytes;
    ++removed;
  }
  return removed;
}

int Coordinator::RequeueExpired(int max_attempts) {
  store::Store::Expired expired = store_.RequeueExpired(NowMs(), max_attempts);
  for (int64_t id : expired.requeued) {
    StateEvent(id, BuildState::kQueued, "its worker stopped responding");
  }
  for (int64_t id : expired.failed) {
    StateEvent(id, BuildState::kFailed, "its worker stopped responding, too many times");
  }
  if (!expired.requeued.empty()) Queued();
  return static_cast<int>(expired.requeued.size() + expired.failed.size());
}

bool Coordinator::FailUnfinished(int64_t id, const JobResult& why) {
  if (!store_.FailUnfinished(id, why.error_code, why.error_class, why.error_message, why.error_hint,
                             NowMs())) {
    return false;
  }
  StateEvent(id, BuildState::kFailed, why.error_message);
  return true;
}

void Coordinator::SetQueuedListener(std::function<void()> listener) {
  on_queued_ = std::move(listener);
}

void Coordinator::Queued() {
  if (on_queued_) on_queued_();
}

int Coordinator::RequeueLocalWorkers(const std::string& worker_prefix) {
  std::vector<int64_t> ids = store_.RequeueWorkerPrefix(worker_prefix, NowMs());
  for (int64_t id : ids) StateEvent(id, BuildState::kQueued, "the server restarted");
  if (!ids.empty()) Queued();
  return static_cast<int>(ids.size());
}

}  // namespace kiln::server
