// The master's side of a build's life, independent of HTTP: submitting, cancelling and
// retrying for users; the worker protocol of DESIGN §5 (register, claim with a lease,
// heartbeat, events and log lines, artifacts, result) for local workers in-process and, through
// the API, for remote ones; and an event hub that wakes whoever watches a build.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/mutex.h"
#include "core/status.h"
#include "store/store.h"

namespace kiln::server {

// Wakes watchers of a build when it gets new events. Listeners run on the notifying thread
// and must only hand the news on (post to an executor), never block.
class EventHub {
 public:
  using Listener = std::function<void()>;
  uint64_t Subscribe(int64_t build_id, Listener listener);
  void Unsubscribe(int64_t build_id, uint64_t handle);
  void Notify(int64_t build_id);
  size_t Watchers() const;

 private:
  mutable Mutex mu_;
  uint64_t next_ KILN_GUARDED_BY(mu_) = 1;
  std::map<int64_t, std::map<uint64_t, Listener>> listeners_ KILN_GUARDED_BY(mu_);
};

// The builds' log files, kept open while their builds run: a batch of log lines is one
// write(2), not an open, a write and a close. At most `max_open` stay open (least recently
// used closed first); a build's file is closed when the build ends.
class LogFiles {
 public:
  explicit LogFiles(size_t max_open = 256) : max_open_(max_open) {}
  ~LogFiles();
  // Appends `text` to `file` (creating it and its directory); false if it cannot.
  bool Append(int64_t build_id, const std::filesystem::path& file, std::string_view text);
  void Close(int64_t build_id);

 private:
  struct Open {
    int fd = -1;
    uint64_t last_use = 0;
  };
  Mutex mu_;
  const size_t max_open_;
  uint64_t uses_ KILN_GUARDED_BY(mu_) = 0;
  std::map<int64_t, Open> open_ KILN_GUARDED_BY(mu_);
};

// The worker protocol's values (src/protocol/worker_messages.h).
using JobTicket = protocol::JobTicket;
using JobResult = protocol::JobResult;

class Coordinator {
 public:
  // Time is read from `clock` (a test passes a fake one).
  Coordinator(store::Store& store, std::filesystem::path data_dir,
              const Clock& clock = SystemClock());

  store::Store& store() { return store_; }
  EventHub& hub() { return hub_; }
  std::filesystem::path BuildDir(int64_t id) const;
  std::filesystem::path LogPath(int64_t id) const;                  // the build's log, all attempts
  std::filesystem::path ArtifactDir(int64_t id) const;              // its downloadable files
  std::filesystem::path AttemptDir(int64_t id, int attempt) const;  // a local attempt's output
  std::filesystem::path UploadDir() const;  // uploaded .deb files, by content hash

  // Users' side. Each state change is also an event.
  store::SubmitResult Submit(const store::NewBuild& build);
  // Several builds in one transaction (all or none stored), results in the same order.
  std::vector<store::SubmitResult> SubmitMany(std::span<const store::NewBuild> builds);
  bool Cancel(int64_t id);
  bool Retry(int64_t id);
  bool Delete(int64_t id);  // final builds only; removes their files too

  // The worker protocol.
  void RegisterWorker(const protocol::WorkerInfo& worker);
  void WorkerAlive(const std::string& worker);  // an idle worker's heartbeat
  std::optional<JobTicket> ClaimNext(const store::WorkerCaps& caps, int64_t lease_ms);
  // Claims one named build (a queue message named it); nullopt if it is not queued — another
  // worker holds it, or it finished or was canceled — so a redelivery never runs it twice.
  std::optional<JobTicket> Claim(int64_t id, const store::WorkerCaps& caps, int64_t lease_ms);
  // Several named builds for one worker in one transaction; each answer as Claim's, in order.
  std::vector<std::optional<JobTicket>> ClaimMany(const std::vector<int64_t>& ids,
                                                  const store::WorkerCaps& caps, int64_t lease_ms);
  store::LeaseStatus Heartbeat(int64_t id, int attempt, const std::string& worker,
                               int64_t lease_ms);
  using Progress = protocol::Progress;
  // A batch of events from the running attempt: "log" events (data {"line": ...}) are also
  // appended to the log file; `latest` updates the build's stage and progress. Events of an
  // attempt that is no longer current, or (with `worker`) not that worker's, are dropped
  // (false).
  bool Report(int64_t id, int attempt, const std::vector<store::Store::NewEvent>& events,
              const std::optional<Progress>& latest, const std::string& worker = "");
  // Moves a finished file of the attempt into the build's artifacts, with its size and
  // SHA-256. Fails if the file is unreadable or the attempt is not current.
  // `known_sha256` skips reading the file again when the caller just checked it.
  Status AddArtifact(int64_t id, int attempt, const std::filesystem::path& file,
                     const std::string& known_sha256 = "");
  // True if the build is running its `attempt` on `worker`.
  bool HoldsAttempt(int64_t id, int attempt, const std::string& worker);
  // The result, after the attempt's `last_events` (a dry run sends its plan with it).
  bool Finish(int64_t id, int attempt, const std::string& worker, const JobResult& result,
              const std::vector<store::Store::NewEvent>& last_events = {});
  // Several attempts' results from one worker in one transaction; each answer as Finish's.
  using AttemptResult = protocol::AttemptResult;
  std::vector<bool> FinishMany(const std::string& worker,
                               const std::vector<AttemptResult>& results);
  // The worker is stopping: the attempt goes back to the queue unfinished.
  bool HandBack(int64_t id, int attempt, const std::string& worker);

  // Sends builds whose lease ran out back to the queue, or fails those that had
  // `max_attempts` already (0 = no limit); returns how many changed.
  int RequeueExpired(int max_attempts = 0);
  // Fails a queued or running build for a reason no worker reported (its queue message was
  // dead-lettered). False if it is already final.
  bool FailUnfinished(int64_t id, const JobResult& why);
  // Called (on the changing thread) whenever a build becomes queued: submitted, retried,
  // handed back or requeued. Set before serving.
  void SetQueuedListener(std::function<void()> listener);
  // After a restart: builds of this master's previous local workers go back to the queue.
  int RequeueLocalWorkers(const std::string& worker_prefix);

  // An event of the master's own for the build's stream (a delivery's progress: kind
  // "delivery"), with `data_json` as its data; listeners told.
  void AddEvent(int64_t id, const std::string& kind, const std::string& data_json);

  // Retention: removes the artifacts of finished builds older than `max_age_ms` (0 = no age
  // limit), then more, oldest first, until all kept artifacts fit in `max_bytes` (0 = no
  // budget). Each build records when its artifacts went. Returns how many builds lost theirs.
  int ApplyRetention(int64_t max_age_ms, int64_t max_bytes);

  int64_t NowMs() const { return clock_.NowMs(); }
  int64_t NowUs() const {
    return clock_.NowUs();
  }  // state events carry it ("at_us"): latencies below a millisecond

  // A counter that moves whenever any build changes through this coordinator (submit,
  // claim, report, finish, cancel, ...): what was rendered at one version is still true
  // while it stays.
  uint64_t Version() const { return version_.load(); }

 private:
  void Bump() { ++version_; }
  void Queued();
  std::function<void()> on_queued_;
  std::atomic<uint64_t> version_{1};
  void StateEvent(int64_t id, BuildState state, const std::string& detail);
  // The log header, event and wake-up of a claim that succeeded.
  std::optional<JobTicket> Claimed(const std::optional<store::Build>& build,
                                   const store::WorkerCaps& caps);
  bool IsCurrentAttempt(int64_t id, int attempt);
  // An attempt's events (and progress) once it is known to be `running`'s: log lines to the
  // log file (not for dry runs), events to the store, listeners told.
  void Record(int64_t id, const store::Store::RunningAttempt& running,
              const std::vector<store::Store::NewEvent>& events,
              const std::optional<Progress>& latest);

  store::Store& store_;
  std::filesystem::path data_dir_;
  const Clock& clock_;
  EventHub hub_;
  LogFiles logs_;
};

}  // namespace kiln::server
