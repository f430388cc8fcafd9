// The master's durable state: users, API tokens, browser sessions, builds (which are also the
// embedded queue's rows), their events, artifacts and the workers seen. SQLite in WAL mode
// with versioned migrations; one connection guarded by a mutex (SQLite calls take
// microseconds). Environment failures (disk full, a corrupt file) throw StoreError.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/build_state.h"
#include "core/clock.h"
#include "protocol/worker_messages.h"

namespace kiln::store {

class Database;
class Transaction;

// What a user has the master send for every build of theirs (their settings page, GET/PATCH
// /api/v1/settings), added to what each request asks for when it is submitted.
struct NotifySettings {
  std::string email;                  // an address of their own, e-mailed for each build; "" = none
  bool email_opt_out = false;         // no e-mail at all for their builds, whatever a request says
  std::vector<std::string> webhooks;  // called at every state change of each build
};

struct User {
  int64_t id = 0;
  std::string name;
  Role role = Role::kUser;
  std::string password_hash;  // Argon2id string, "" = cannot sign in with a password
  int64_t created_ms = 0;
  int64_t disabled_ms = 0;  // when an admin disabled the user; 0 = enabled
  NotifySettings notify;
};

// One thing the master sends out for a build, and how far it got.
struct Delivery {
  int64_t id = 0;
  int64_t build_id = 0;
  std::string kind;    // "email", "webhook", "staging"
  std::string target;  // an address or a URL
  std::string what;    // "accepted", "ended", "staged"
  std::string state;   // "pending", "delivered", "failed" (given up)
  int attempts = 0;
  int64_t next_ms = 0;  // when a pending one is tried (again)
  std::string last_error;
  int64_t created_ms = 0;
  int64_t done_ms = 0;  // delivered or given up
};

struct Token {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string name;
  int64_t created_ms = 0;
  int64_t last_used_ms = 0;
};

struct NewBuild {
  int64_t owner_id = 0;
  std::string spec_json;
  std::string spec_hash;  // SHA-256 of the spec: identical requests attach to one build
  std::string type, arch, release, name;
  int priority = 0;             // higher runs first
  std::string idempotency_key;  // "" = none
  bool dry_run = false;         // the plan only: no log file, no artifacts
  // Where the master sends things for the build: {"email": [...], "webhook": [...],
  // "staging": [...]} (the deliveries' triggers read it).
  std::string targets_json = "{}";
};

struct Build {
  int64_t id = 0;
  int64_t owner_id = 0;
  std::string owner;  // the owner's user name
  BuildState state = BuildState::kQueued;
  std::string spec_json;  // empty unless read with it (Store::GetBuildWithSpec, claims)
  std::string spec_hash;
  std::string type, arch, release, name;
  int priority = 0;
  int attempt = 0;     // 0 until first claimed
  std::string worker;  // the worker of the current (or last) attempt
  int64_t created_ms = 0, queued_ms = 0, started_ms = 0, finished_ms = 0, lease_until_ms = 0;
  std::string stage;
  double progress = 0;
  bool cancel_requested = false;
  std::string error_code, error_class, error_message, error_hint;
  int64_t artifacts_removed_ms = 0;  // retention removed the files (0 = still there)
  bool dry_run = false;              // the plan only: no log file, no artifacts
};

struct Artifact {
  int64_t build_id = 0;
  std::string name;
  int64_t size = 0;
  std::string sha256;
};

struct Event {
  int64_t build_id = 0;
  int64_t seq = 0;  // 1, 2, ... per build; the SSE event id
  int64_t time_ms = 0;
  std::string kind;  // "state", "stage", "progress", "log"
  std::string data;  // JSON object text
};

// A registered worker: what it said of itself (the worker protocol's WorkerInfo) and when.
struct Worker : protocol::WorkerInfo {
  int64_t registered_ms = 0, last_seen_ms = 0;
  std::vector<int64_t> current_builds;  // running on it now (read from the builds)
};

// A build waiting to be published to the broker, with what routes its message.
struct OutboxEntry {
  int64_t seq = 0;
  int64_t build_id = 0;
  bool still_queued = false;  // false: claimed, canceled or deleted since; nothing to send
  std::string arch, release, type;
  int priority = 0;
};

// Which outbox rows a publish round may take, by the arch of their build: all but `arches`,
// or (`only`) just `arches`. Rows whose build is gone (arch "") match unless excluded.
struct OutboxArchFilter {
  std::vector<std::string> arches;
  bool only = false;
};

struct BuildFilter {
  std::optional<BuildState> state;
  std::optional<int64_t> owner_id;
  std::optional<std::string> type, arch, release;
  // Words a user looks for: part of the build's name or its owner's, or its id.
  std::optional<std::string> text;
  int64_t before_id = 0;  // cursor: only builds with a smaller id (0 = from the newest)
  int limit = 50;
};

// What a worker can build, for claiming (the worker protocol's, src/protocol).
using WorkerCaps = protocol::WorkerCaps;

enum class SubmitOutcome { kCreated, kSameIdempotencyKey, kAttachedToInFlight };

struct SubmitResult {
  int64_t id = 0;
  SubmitOutcome outcome = SubmitOutcome::kCreated;
};

using LeaseStatus = protocol::LeaseStatus;

struct QueuePlace {
  int position = 0;  // 1 = next to start
  int queued_total = 0;
};

class Store {
 public:
  // `clock` stamps what the store records on its own (users' and tokens' creation times);
  // every other time is the caller's.
  static std::unique_ptr<Store> Open(const std::filesystem::path& path,
                                     const Clock& clock = SystemClock());
  ~Store();

  static int SchemaVersion();  // the newest migration

  // Several store calls as one transaction, from this thread: one commit (one write to the
  // WAL) instead of one per call. Not committed = rolled back.
  class Batch {
   public:
    explicit Batch(Store& store);
    ~Batch();
    void Commit();

   private:
    std::unique_lock<std::recursive_mutex> lock_;
    std::unique_ptr<Transaction> tx_;
  };

  // Users and tokens.
  int64_t AddUser(const std::string& name, Role role, const std::string& password_hash);
  std::optional<User> FindUser(const std::string& name);
  std::optional<User> FindUserById(int64_t id);
  std::vector<User> ListUsers();
  enum class DeleteUserResult { kDeleted, kNotFound, kHasBuilds };
  // Removes the user with their tokens and sessions. A user who owns builds is kept unless
  // `with_builds` (then the builds, their events and artifact records go too).
  DeleteUserResult DeleteUser(const std::string& name, bool with_builds);
  // Disables a user (no sign-in, token or session works; their sessions end) or enables
  // them again. False if there is no such user.
  bool SetUserDisabled(const std::string& name, bool disabled);
  // Replaces the user's notification settings; false if there is no such user.
  bool SetNotifySettings(int64_t user_id, const NotifySettings& settings);
  void SetPassword(int64_t user_id, const std::string& password_hash);
  int64_t AddToken(int64_t user_id, const std::string& name, const std::string& token_hash);
  // The user whose live token has this hash; marks the token used.
  std::optional<User> UserForToken(const std::string& token_hash, int64_t now_ms);
  std::vector<Token> ListTokens(std::optional<int64_t> user_id);
  bool RevokeToken(int64_t token_id);

  // Browser sessions: the cookie's hash, the CSRF token, an expiry.
  void AddSession(const std::string& session_hash, int64_t user_id, const std::string& csrf,
                  int64_t expires_ms);
  struct SessionUser {
    User user;
    std::string csrf;
  };
  std::optional<SessionUser> UserForSession(const std::string& session_hash, int64_t now_ms);
  void DeleteSession(const std::string& session_hash);

  // Builds.
  SubmitResult SubmitBuild(const NewBuild& build, int64_t now_ms);
  // Gives back the memory SQLite's page cache holds (a large spec just stored sits in it).
  void ReleaseCacheMemory();
  // A build without its spec (spec_json empty): the spec holds the whole kickstart, and only
  // a claim (which gives it to a worker) and a build's own page need it.
  std::optional<Build> GetBuild(int64_t id);
  std::optional<Build> GetBuildWithSpec(int64_t id);
  // The attempt and worker of a running build (the worker protocol's check; no full read).
  struct RunningAttempt {
    int attempt = 0;
    std::string worker;
    bool dry_run = false;  // its spec asks for the plan only (it keeps no log file)
  };
  std::optional<RunningAttempt> RunningAttemptOf(int64_t id);
  std::vector<Build> ListBuilds(const BuildFilter& filter);
  // Queued builds go straight to canceled; running ones get the cancel flag their worker sees
  // at its next heartbeat. False if the build is already final.
  bool RequestCancel(int64_t id, int64_t now_ms);
  // A failed or canceled build goes back to the queue. False if it is not final or succeeded.
  bool Retry(int64_t id, int64_t now_ms);
  bool DeleteBuild(int64_t id);  // final builds only; events and artifacts go with it
  QueuePlace PlaceInQueue(int64_t id);
  // What a build's detail view needs besides the build, read at once (one lock, one read
  // transaction): its artifacts and, while queued, its place and typical duration.
  struct BuildExtras {
    std::vector<Artifact> artifacts;
    QueuePlace place;
    std::optional<double> typical_duration_s;
  };
  BuildExtras ExtrasOf(const Build& build, bool place = true);  // place: queue position too
  // "queued" -> n, ... (every state listed): all builds, or one owner's.
  std::map<std::string, int64_t> CountByState(std::optional<int64_t> owner_id = std::nullopt);
  struct FinishedRun {
    std::string type, state;
    double seconds = 0;
  };
  // How long the last `limit` finished builds ran (started to finished), newest first.
  std::vector<FinishedRun> RecentRunTimes(int limit);
  // Median run time of the last succeeded builds of this kind, if there are any.
  std::optional<double> TypicalDurationSeconds(const std::string& type, const std::string& arch,
                                               const std::string& release);

  // The embedded queue. Claim picks the next queued build this worker can build (highest
  // priority, then the owner with the fewest running builds, then the oldest) and leases it.
  std::optional<Build> ClaimNext(const WorkerCaps& caps, int64_t lease_ms, int64_t now_ms);
  // Claims one given build (a queue message named it); nullopt if it is not queued.
  std::optional<Build> Claim(int64_t id, const WorkerCaps& caps, int64_t lease_ms, int64_t now_ms);
  LeaseStatus Heartbeat(int64_t id, int attempt, const std::string& worker, int64_t lease_ms,
                        int64_t now_ms);
  void SetProgress(int64_t id, int attempt, const std::string& stage, double progress);
  // Ends an attempt; false if it was no longer this worker's.
  bool Finish(int64_t id, int attempt, const std::string& worker, BuildState state,
              const std::string& error_code, const std::string& error_class,
              const std::string& error_message, const std::string& error_hint, int64_t now_ms);
  // The worker gives the attempt back unfinished (it is stopping): the build is queued again.
  bool HandBack(int64_t id, int attempt, const std::string& worker, int64_t now_ms);
  // Builds whose lease ran out (their worker died) go back to the queue, unless they have
  // had `max_attempts` already (0 = no limit): those fail with "worker-lost".
  struct Expired {
    std::vector<int64_t> requeued, failed;
  };
  Expired RequeueExpired(int64_t now_ms, int max_attempts = 0);
  // Fails a queued or running build for a reason outside any worker's result (its queue
  // message was dead-lettered). False if it is already final.
  bool FailUnfinished(int64_t id, const std::string& error_code, const std::string& error_class,
                      const std::string& error_message, const std::string& error_hint,
                      int64_t now_ms);

  // The outbox of distributed mode. Once enabled (by a master with a broker), every time a
  // build becomes queued a row is added in the same transaction; the publisher sends the rows
  // in order and removes them when the broker confirmed. Nothing queued while the broker is
  // away is lost.
  void EnableOutbox();
  // The oldest `limit` rows that `filter` lets through (the publisher leaves out arches
  // whose broker is away, so that their backlog does not hold up the other brokers).
  std::vector<OutboxEntry> OutboxBatch(int limit, const OutboxArchFilter& filter = {});
  // Queues (arch, release) with builds queued before `before_ms` and not in the outbox.
  std::vector<std::pair<std::string, std::string>> LongQueued(int64_t before_ms);
  // Puts those builds of one queue in the outbox again (their message went missing);
  // returns how many.
  int Republish(const std::string& arch, const std::string& release, int64_t before_ms);
  void OutboxDone(const std::vector<int64_t>& seqs);
  int64_t OutboxSize();
  // Builds leased to workers whose id starts with `prefix` go back to the queue (the local
  // workers of a server that stopped).
  std::vector<int64_t> RequeueWorkerPrefix(const std::string& prefix, int64_t now_ms);

  // Events, numbered per build.
  using NewEvent = protocol::Event;
  // Appends in one transaction; returns the events with their numbers.
  std::vector<Event> AppendEvents(int64_t build_id, const std::vector<NewEvent>& events,
                                  int64_t now_ms);
  std::vector<Event> EventsAfter(int64_t build_id, int64_t after_seq, int limit);

  // Artifacts.
  void AddArtifact(const Artifact& artifact);
  std::vector<Artifact> Artifacts(int64_t build_id);
  void MarkArtifactsRemoved(int64_t build_id, int64_t now_ms);
  struct StoredArtifacts {
    int64_t build_id = 0;
    int64_t finished_ms = 0;
    int64_t bytes = 0;
  };
  // Finished builds whose artifacts are still on disk, oldest first — but those a staging
  // delivery still waits to copy (retention must not take the files it is about to send).
  std::vector<StoredArtifacts> BuildsWithArtifacts();

  // Deliveries (store/deliveries.cc): e-mails, webhooks and staged copies of a build, put in
  // the outbox by triggers in the transaction that changed the build.
  // Turns the triggers on for this connection: e-mail on acceptance and end (`mail`), staging
  // after success (`staging`), webhooks at every state change (always: they need no server
  // config). Off, nothing is queued (a master without [smtp] sends no e-mail).
  void EnableDeliveries(bool mail, bool staging);
  // Pending deliveries due at `now_ms`, the earliest first.
  std::vector<Delivery> DueDeliveries(int64_t now_ms, int limit);
  // The outcome of a try: delivered; or failed, tried again at `retry_at_ms` (0 = given up).
  void DeliveryDone(int64_t id, int64_t now_ms);
  void DeliveryFailed(int64_t id, const std::string& error, int64_t retry_at_ms, int64_t now_ms);
  std::vector<Delivery> DeliveriesOf(int64_t build_id);
  // The build's staged copies and e-mails queued again (POST /api/v1/builds/{id}/deliver);
  // returns how many. Only for a finished build.
  int RedoDeliveries(int64_t build_id, int64_t now_ms);
  // When the next pending delivery is due, or 0 if none is.
  int64_t NextDeliveryMs();
  // How many e-mails the builds of `owner_id` accepted since `since_ms` send (a user's daily
  // limit): each accepted message and the ended one that follows it (queued when the build
  // ends), and a retried build's further ended ones.
  int64_t CountEmailsSince(int64_t owner_id, int64_t since_ms);
  // How many deliveries there are, by (kind, state).
  std::map<std::pair<std::string, std::string>, int64_t> CountDeliveries();

  // Workers.
  void UpsertWorker(const Worker& worker);
  void TouchWorker(const std::string& id, int64_t now_ms);  // an idle worker is still there
  std::vector<Worker> ListWorkers();

 private:
  Store(std::unique_ptr<Database> db, const Clock& clock);
  void Migrate();
  std::optional<Build> ClaimLocked(int64_t id, const WorkerCaps& caps, int64_t lease_ms,
                                   int64_t now_ms);
  std::optional<Build> GetBuildLocked(int64_t id, bool with_spec);
  QueuePlace PlaceInQueueLocked(int64_t id);
  std::optional<double> TypicalDurationLocked(const std::string& type, const std::string& arch,
                                              const std::string& release);
  std::vector<Artifact> ArtifactsLocked(int64_t build_id);

  std::recursive_mutex mu_;  // recursive: calls nest inside a Batch
  std::unique_ptr<Database> db_;
  const Clock& clock_;
};

}  // namespace kiln::store
