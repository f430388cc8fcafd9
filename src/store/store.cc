#include "store/store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/text.h"
#include "store/sqlite.h"

namespace kiln::store {

namespace {

// Each entry moves the schema one version up; applied in order, once, in a transaction.
// Never edit an entry that has shipped: add a new one.
constexpr const char* kMigrations[] = {
    // 1: users, tokens, sessions, builds (the embedded queue), events, artifacts, workers.
    R"sql(
CREATE TABLE users(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL);
CREATE TABLE tokens(
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL,
  last_used_ms INTEGER NOT NULL DEFAULT 0,
  revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE sessions(
  hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf TEXT NOT NULL,
  expires_ms INTEGER NOT NULL);
CREATE TABLE builds(
  id INTEGER PRIMARY KEY,
  owner_id INTEGER NOT NULL REFERENCES users(id),
  state TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  type TEXT NOT NULL, arch TEXT NOT NULL, release TEXT NOT NULL, name TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  idempotency_key TEXT,
  attempt INTEGER NOT NULL DEFAULT 0,
  worker TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  queued_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL DEFAULT 0,
  finished_ms INTEGER NOT NULL DEFAULT 0,
  lease_until_ms INTEGER NOT NULL DEFAULT 0,
  stage TEXT NOT NULL DEFAULT '',
  progress REAL NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  error_code TEXT NOT NULL DEFAULT '',
  error_class TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  error_hint TEXT NOT NULL DEFAULT '',
  artifacts_removed_ms INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX builds_idempotency ON builds(owner_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX builds_by_state ON builds(state, priority DESC, queued_ms);
CREATE INDEX builds_by_spec ON builds(spec_hash, owner_id, state);
CREATE INDEX builds_by_owner ON builds(owner_id, id);
CREATE TABLE events(
  build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY(build_id, seq)) WITHOUT ROWID;
CREATE TABLE artifacts(
  build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY(build_id, name));
CREATE TABLE workers(
  id TEXT PRIMARY KEY,
  arches TEXT NOT NULL, releases TEXT NOT NULL, types TEXT NOT NULL,
  version TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  registered_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  current_build INTEGER NOT NULL DEFAULT 0);
)sql",
    // 2: the outbox of distributed mode: one row each time a build became queued, until the
    // broker confirmed its message (see EnableOutbox).
    R"sql(
CREATE TABLE outbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  build_id INTEGER NOT NULL);
)sql",
    // 3: finished builds by finish time, with what /metrics reads (a covering index: the
    // duration histogram reads no build rows).
    R"sql(
CREATE INDEX builds_by_finish ON builds(finished_ms, state, type, started_ms)
  WHERE finished_ms > 0;
)sql",
    // 4: the in-flight check (an identical request attaches to a queued or running build)
    // reads an index of the builds in flight only. Its entries sit on a few hot pages, where
    // the old index of every build ever made put each state change on a page of its own
    // (the spec hash is random), one more page written per build at every commit.
    R"sql(
DROP INDEX builds_by_spec;
CREATE INDEX builds_in_flight ON builds(spec_hash, owner_id)
  WHERE state IN ('queued', 'running');
)sql",
    // 5: whether a build is a dry run, a column (it was read from the spec's text, where the
    // server's writer put "dry_run":true).
    R"sql(
ALTER TABLE builds ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
UPDATE builds SET dry_run = 1 WHERE instr(spec_json, '"dry_run":true') > 0;
)sql",
    // 6: an admin may disable a user (the web UI's admin page): no sign-in, token or
    // session works while disabled_ms is set; their builds stay.
    R"sql(
ALTER TABLE users ADD COLUMN disabled_ms INTEGER NOT NULL DEFAULT 0;
)sql",
    // 7: what the master sends out for a build (e-mails, webhooks, staged copies): an outbox
    // written in the transaction that changed the build (store/deliveries.cc), worked off by
    // the delivery thread and kept as the record of each try.
    R"sql(
CREATE TABLE deliveries(
  id INTEGER PRIMARY KEY,
  build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  what TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  done_ms INTEGER NOT NULL DEFAULT 0,
  UNIQUE(build_id, kind, target, what));
CREATE INDEX deliveries_due ON deliveries(next_ms) WHERE state = 'pending';
)sql",
    // 8: a build's delivery targets apart from its spec: the deliveries' triggers read this
    // small JSON, not the spec (whose kickstart may be a MiB: SQLite would parse it whole at
    // every state change).
    R"sql(
ALTER TABLE builds ADD COLUMN targets_json TEXT NOT NULL DEFAULT '{}';
)sql",
    // 9: a user's notification settings (NotifySettings): an address of their own, an
    // opt-out of all e-mail, webhooks for every build (one URL per line; URLs hold no
    // line breaks).
    R"sql(
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email_opt_out INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN webhooks TEXT NOT NULL DEFAULT '';
)sql",
    // 10: the e-mails of the last day, found without reading every delivery (a user's
    // daily limit is checked at each submit that e-mails).
    R"sql(
CREATE INDEX deliveries_by_kind_and_time ON deliveries(kind, created_ms);
)sql",
};

// The columns ReadBuild reads. The spec (which holds the whole kickstart, up to the server's
// limit) only when it is asked for: lists, polls and most routes need none of it.
// (Made once: every build read, on the hottest routes, names them.)
const std::string& BuildColumns(bool with_spec) {
  static const std::string kRest =
      ", b.spec_hash, b.type, b.arch, b.release, b.name, b.priority, b.attempt, b.worker, "
      "b.created_ms, b.queued_ms, b.started_ms, b.finished_ms, b.lease_until_ms, b.stage, "
      "b.progress, b.cancel_requested, b.error_code, b.error_class, b.error_message, "
      "b.error_hint, b.artifacts_removed_ms, b.dry_run";
  static const std::string kWithSpec = "b.id, b.owner_id, u.name, b.state, b.spec_json" + kRest;
  static const std::string kWithoutSpec = "b.id, b.owner_id, u.name, b.state, ''" + kRest;
  return with_spec ? kWithSpec : kWithoutSpec;
}

Build ReadBuild(const Statement& s) {
  Build b;
  b.id = s.Int(0);
  b.owner_id = s.Int(1);
  b.owner = s.Text(2);
  b.state = ParseBuildState(s.Text(3)).value_or(BuildState::kFailed);
  b.spec_json = s.Text(4);
  b.spec_hash = s.Text(5);
  b.type = s.Text(6);
  b.arch = s.Text(7);
  b.release = s.Text(8);
  b.name = s.Text(9);
  b.priority = static_cast<int>(s.Int(10));
  b.attempt = static_cast<int>(s.Int(11));
  b.worker = s.Text(12);
  b.created_ms = s.Int(13);
  b.queued_ms = s.Int(14);
  b.started_ms = s.Int(15);
  b.finished_ms = s.Int(16);
  b.lease_until_ms = s.Int(17);
  b.stage = s.Text(18);
  b.progress = s.Real(19);
  b.cancel_requested = s.Int(20) != 0;
  b.error_code = s.Text(21);
  b.error_class = s.Text(22);
  b.error_message = s.Text(23);
  b.error_hint = s.Text(24);
  b.artifacts_removed_ms = s.Int(25);
  b.dry_run = s.Int(26) != 0;
  return b;
}

User ReadUser(const Statement& s) {
  User u;
  u.id = s.Int(0);
  u.name = s.Text(1);
  u.role = ParseRole(s.Text(2)).value_or(Role::kUser);
  u.password_hash = s.Text(3);
  u.created_ms = s.Int(4);
  u.disabled_ms = s.Int(5);
  u.notify.email = s.Text(6);
  u.notify.email_opt_out = s.Int(7) != 0;
  u.notify.webhooks = SplitNonEmpty(s.Text(8), '\n');
  return u;
}

constexpr char kUserColumns[] =
    "u.id, u.name, u.role, u.password_hash, u.created_ms, u.disabled_ms, u.email, "
    "u.email_opt_out, u.webhooks";
constexpr int kUserColumnCount = 9;

// "" matches anything; otherwise `value` must be one of the comma-separated `list`.
constexpr char kInList[] = "(?%d = '' OR instr(',' || ?%d || ',', ',' || %s || ',') > 0)";

std::string InList(int param, const char* column) {
  char buf[160];
  std::snprintf(buf, sizeof buf, kInList, param, param, column);
  return buf;
}

}  // namespace

Store::Store(std::unique_ptr<Database> db, const Clock& clock)
    : db_(std::move(db)), clock_(clock) {}

Store::Batch::Batch(Store& store)
    : lock_(store.mu_), tx_(std::make_unique<Transaction>(*store.db_)) {}
Store::Batch::~Batch() = default;
void Store::Batch::Commit() { tx_->Commit(); }
Store::~Store() = default;

int Store::SchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

std::unique_ptr<Store> Store::Open(const std::filesystem::path& path, const Clock& clock) {
  std::unique_ptr<Store> store(new Store(Database::Open(path), clock));
  store->Migrate();
  return store;
}

void Store::Migrate() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(*db_);
  int current = 0;
  {
    // Reset before the migrations run: a statement still stepping keeps its tables locked
    // against DROP.
    Statement version = db_->Prepare("PRAGMA user_version");
    version.Step();
    current = static_cast<int>(version.Int(0));
  }
  if (current > SchemaVersion()) {
    throw StoreError("the database is at schema version " + std::to_string(current) +
                     ", newer than this kiln knows (" + std::to_string(SchemaVersion()) +
                     "): use a newer kiln");
  }
  for (int v = current; v < SchemaVersion(); ++v) db_->Exec(kMigrations[v]);
  db_->Exec("PRAGMA user_version=" + std::to_string(SchemaVersion()));
  tx.Commit();
}

// ---- users, tokens, sessions

int64_t Store::AddUser(const std::string& name, Role role, const std::string& password_hash) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare(
         "INSERT INTO users(name, role, password_hash, created_ms) VALUES(?1, ?2, ?3, "
         "?4)")
      .Bind(1, name)
      .Bind(2, ToString(role))
      .Bind(3, password_hash)
      .Bind(4, clock_.NowMs())
      .Run();
  return db_->LastInsertId();
}

std::optional<User> Store::FindUser(const std::string& name) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(std::string("SELECT ") + kUserColumns + " FROM users u WHERE name=?1");
  s.Bind(1, name);
  if (!s.Step()) return std::nullopt;
  return ReadUser(s);
}

std::optional<User> Store::FindUserById(int64_t id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(std::string("SELECT ") + kUserColumns + " FROM users u WHERE id=?1");
  s.Bind(1, id);
  if (!s.Step()) return std::nullopt;
  return ReadUser(s);
}

std::vector<User> Store::ListUsers() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(std::string("SELECT ") + kUserColumns + " FROM users u ORDER BY id");
  std::vector<User> out;
  while (s.Step()) out.push_back(ReadUser(s));
  return out;
}

Store::DeleteUserResult Store::DeleteUser(const std::string& name, bool with_builds) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(*db_);
  Statement find = db_->Prepare("SELECT id FROM users WHERE name=?1");
  find.Bind(1, name);
  if (!find.Step()) return DeleteUserResult::kNotFound;
  int64_t id = find.Int(0);
  Statement count = db_->Prepare("SELECT COUNT(*) FROM builds WHERE owner_id=?1");
  count.Bind(1, id);
  count.Step();
  if (count.Int(0) > 0) {
    if (!with_builds) return DeleteUserResult::kHasBuilds;
    db_->Prepare("DELETE FROM builds WHERE owner_id=?1").Bind(1, id).Run();
  }
  db_->Prepare("DELETE FROM users WHERE id=?1").Bind(1, id).Run();
  tx.Commit();
  return DeleteUserResult::kDeleted;
}

bool Store::SetUserDisabled(const std::string& name, bool disabled) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(*db_);
  db_->Prepare("UPDATE users SET disabled_ms=?2 WHERE name=?1")
      .Bind(1, name)
      .Bind(2, disabled ? clock_.NowMs() : int64_t{0})
      .Run();
  if (db_->Changes() == 0) return false;
  // Signed-in browsers of a disabled user are signed out for good, not just refused.
  if (disabled) {
    db_->Prepare("DELETE FROM sessions WHERE user_id=(SELECT id FROM users WHERE name=?1)")
        .Bind(1, name)
        .Run();
  }
  tx.Commit();
  return true;
}

void Store::SetPassword(int64_t user_id, const std::string& password_hash) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare("UPDATE users SET password_hash=?2 WHERE id=?1")
      .Bind(1, user_id)
      .Bind(2, password_hash)
      .Run();
}

int64_t Store::AddToken(int64_t user_id, const std::string& name, const std::string& token_hash) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare(
         "INSERT INTO tokens(user_id, name, hash, created_ms) VALUES(?1, ?2, ?3, "
         "?4)")
      .Bind(1, user_id)
      .Bind(2, name)
      .Bind(3, token_hash)
      .Bind(4, clock_.NowMs())
      .Run();
  return db_->LastInsertId();
}

bool Store::SetNotifySettings(int64_t user_id, const NotifySettings& settings) {
  std::string webhooks;
  for (const std::string& hook : settings.webhooks) webhooks += hook + "\n";
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare("UPDATE users SET email=?2, email_opt_out=?3, webhooks=?4 WHERE id=?1")
      .Bind(1, user_id)
      .Bind(2, settings.email)
      .Bind(3, int64_t{settings.email_opt_out ? 1 : 0})
      .Bind(4, webhooks)
      .Run();
  return db_->Changes() > 0;
}

std::optional<User> Store::UserForToken(const std::string& token_hash, int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(std::string("SELECT ") + kUserColumns +
                             ", t.id, t.last_used_ms FROM tokens t JOIN users u ON u.id = "
                             "t.user_id WHERE t.hash=?1 AND t.revoked=0 AND u.disabled_ms=0");
  s.Bind(1, token_hash);
  if (!s.Step()) return std::nullopt;
  User u = ReadUser(s);
  // Recording every use would be a write per request; once a minute is enough to see
  // which tokens are alive.
  if (now_ms - s.Int(kUserColumnCount + 1) > 60'000) {
    int64_t token_id = s.Int(kUserColumnCount);
    db_->Prepare("UPDATE tokens SET last_used_ms=?2 WHERE id=?1")
        .Bind(1, token_id)
        .Bind(2, now_ms)
        .Run();
  }
  return u;
}

std::vector<Token> Store::ListTokens(std::optional<int64_t> user_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(
      "SELECT id, user_id, name, created_ms, last_used_ms FROM tokens "
      "WHERE revoked=0 AND (?1 IS NULL OR user_id=?1) ORDER BY id");
  if (user_id) {
    s.Bind(1, *user_id);
  } else {
    s.BindNull(1);
  }
  std::vector<Token> out;
  while (s.Step()) out.push_back({s.Int(0), s.Int(1), s.Text(2), s.Int(3), s.Int(4)});
  return out;
}

bool Store::RevokeToken(int64_t token_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare("UPDATE tokens SET revoked=1 WHERE id=?1 AND revoked=0").Bind(1, token_id).Run();
  return db_->Changes() > 0;
}

void Store::AddSession(const std::string& session_hash, int64_t user_id, const std::string& csrf,
                       int64_t expires_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare("INSERT INTO sessions(hash, user_id, csrf, expires_ms) VALUES(?1, ?2, ?3, ?4)")
      .Bind(1, session_hash)
      .Bind(2, user_id)
      .Bind(3, csrf)
      .Bind(4, expires_ms)
      .Run();
}

std::optional<Store::SessionUser> Store::UserForSession(const std::string& session_hash,
                                                        int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(std::string("SELECT ") + kUserColumns +
                             ", s.csrf FROM sessions s JOIN users u ON u.id = s.user_id "
                             "WHERE s.hash=?1 AND s.expires_ms > ?2 AND u.disabled_ms=0");
  s.Bind(1, session_hash).Bind(2, now_ms);
  if (!s.Step()) return std::nullopt;
  return SessionUser{ReadUser(s), s.Text(kUserColumnCount)};
}

void Store::DeleteSession(const std::string& session_hash) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare("DELETE FROM sessions WHERE hash=?1").Bind(1, session_hash).Run();
}

// ---- builds

SubmitResult Store::SubmitBuild(const NewBuild& build, int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(*db_);
  if (!build.idempotency_key.empty()) {
    Statement same = db_->Prepare("SELECT id FROM builds WHERE owner_id=?1 AND idempotency_key=?2");
    same.Bind(1, build.owner_id).Bind(2, build.idempotency_key);
    if (same.Step()) return {same.Int(0), SubmitOutcome::kSameIdempotencyKey};
  }
  // The same spec from the same owner while one is queued or running: one build serves both.
  // (INDEXED BY: for the ORDER BY the planner would rather walk all of the owner's builds.)
  Statement in_flight = db_->Prepare(
      "SELECT id FROM builds INDEXED BY builds_in_flight WHERE spec_hash=?1 AND owner_id=?2 AND "
      "state IN ('queued', 'running') ORDER BY id LIMIT 1");
  in_flight.Bind(1, build.spec_hash).Bind(2, build.owner_id);
  if (in_flight.Step()) return {in_flight.Int(0), SubmitOutcome::kAttachedToInFlight};
  Statement insert = db_->Prepare(
      "INSERT INTO builds(owner_id, state, spec_json, spec_hash, type, arch, release, name, "
      "priority, idempotency_key, created_ms, queued_ms, dry_run, targets_json) "
      "VALUES(?1, 'queued', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12)");
  insert.Bind(1, build.owner_id)
      .BindBorrowed(2, build.spec_json)  // `build` outlives `insert`; a kickstart can be 1 MiB
      .Bind(3, build.spec_hash)
      .Bind(4, build.type)
      .Bind(5, build.arch)
      .Bind(6, build.release)
      .Bind(7, build.name)
      .Bind(8, build.priority)
      .Bind(10, now_ms)
      .Bind(11, build.dry_run ? 1 : 0)
      .Bind(12, build.targets_json);
  if (build.idempotency_key.empty()) {
    insert.BindNull(9);
  } else {
    insert.Bind(9, build.idempotency_key);
  }
  insert.Run();
  int64_t id = db_->LastInsertId();
  tx.Commit();
  return {id, SubmitOutcome::kCreated};
}

void Store::ReleaseCacheMemory() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->ReleaseMemory();
}

std::optional<Build> Store::GetBuildLocked(int64_t id, bool with_spec) {
  Statement s = db_->Prepare("SELECT " + BuildColumns(with_spec) +
                             " FROM builds b JOIN users u ON u.id = b.owner_id WHERE b.id=?1");
  s.Bind(1, id);
  if (!s.Step()) return std::nullopt;
  return ReadBuild(s);
}

std::optional<Build> Store::GetBuild(int64_t id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return GetBuildLocked(id, /*with_spec=*/false);
}

std::optional<Build> Store::GetBuildWithSpec(int64_t id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return GetBuildLocked(id, /*with_spec=*/true);
}

std::optional<Store::RunningAttempt> Store::RunningAttemptOf(int64_t id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s =
      db_->Prepare("SELECT attempt, worker, dry_run FROM builds WHERE id=?1 AND state='running'");
  s.Bind(1, id);
  if (!s.Step()) return std::nullopt;
  return RunningAttempt{static_cast<int>(s.Int(0)), s.Text(1), s.Int(2) != 0};
}

std::vector<Build> Store::ListBuilds(const BuildFilter& f) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(
      "SELECT " + BuildColumns(/*with_spec=*/false) +
      " FROM builds b JOIN users u ON u.id = b.owner_id WHERE (?1 IS NULL OR b.state=?1) AND "
      "(?2 IS NULL OR b.owner_id=?2) AND (?3 IS NULL OR b.type=?3) AND (?4 IS NULL OR "
      "b.arch=?4) AND (?5 IS NULL OR b.release=?5) AND (?6 = 0 OR b.id < ?6) AND (?8 IS NULL OR "
      "instr(lower(b.name), lower(?8)) > 0 OR instr(lower(u.name), lower(?8)) > 0 OR "
      "CAST(b.id AS TEXT) = ?8) ORDER BY b.id DESC LIMIT ?7");
  if (f.state) {
    s.Bind(1, ToString(*f.state));
  } else {
    s.BindNull(1);
  }
  if (f.owner_id) {
    s.Bind(2, *f.owner_id);
  } else {
    s.BindNull(2);
  }
  s.Bind(3, f.type).Bind(4, f.arch).Bind(5, f.release).Bind(6, f.before_id).Bind(7, f.limit);
  s.Bind(8, f.text);
  std::vector<Build> out;
  while (s.Step()) out.push_back(ReadBuild(s));
  return out;
}

bool Store::RequestCancel(int64_t id, int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare(
         "UPDATE builds SET state='canceled', finished_ms=?2, error_code='canceled', "
         "error_class='canceled', error_message='canceled before it started' "
         "WHERE id=?1 AND state='queued'")
      .Bind(1, id)
      .Bind(2, now_ms)
      .Run();
  if (db_->Changes() > 0) return true;
  db_->Prepare("UPDATE builds SET cancel_requested=1 WHERE id=?1 AND state='running'")
      .Bind(1, id)
      .Run();
  return db_->Changes() > 0;
}

bool Store::Retry(int64_t id, int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare(
         "UPDATE builds SET state='queued', queued_ms=?2, started_ms=0, finished_ms=0, "
         "lease_until_ms=0, stage='', progress=0, cancel_requested=0, error_code='', "
         "error_class='', error_message='', error_hint='' "
         "WHERE id=?1 AND state IN ('failed', 'canceled')")
      .Bind(1, id)
      .Bind(2, now_ms)
      .Run();
  return db_->Changes() > 0;
}

bool Store::DeleteBuild(int64_t id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare("DELETE FROM builds WHERE id=?1 AND state IN ('succeeded', 'failed', 'canceled')")
      .Bind(1, id)
      .Run();
  return db_->Changes() > 0;
}

std::map<std::string, int64_t> Store::CountByState(std::optional<int64_t> owner_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::map<std::string, int64_t> out;
  for (BuildState s : {BuildState::kQueued, BuildState::kRunning, BuildState::kSucceeded,
                       BuildState::kFailed, BuildState::kCanceled}) {
    out[std::string(ToString(s))] = 0;
  }
  Statement s = db_->Prepare(
      "SELECT state, COUNT(*) FROM builds WHERE ?1 IS NULL OR owner_id=?1 GROUP BY state");
  if (owner_id) {
    s.Bind(1, *owner_id);
  } else {
    s.BindNull(1);
  }
  while (s.Step()) out[s.Text(0)] = s.Int(1);
  return out;
}

std::vector<Store::FinishedRun> Store::RecentRunTimes(int limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(
      "SELECT type, state, finished_ms - started_ms FROM builds WHERE finished_ms > 0 AND "
      "state IN ('succeeded', 'failed', 'canceled') AND started_ms > 0 AND "
      "finished_ms >= started_ms ORDER BY finished_ms DESC LIMIT ?1");
  s.Bind(1, limit);
  std::vector<FinishedRun> out;
  while (s.Step()) out.push_back({s.Text(0), s.Text(1), static_cast<double>(s.Int(2)) / 1000.0});
  return out;
}

QueuePlace Store::PlaceInQueue(int64_t id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return PlaceInQueueLocked(id);
}

Store::BuildExtras Store::ExtrasOf(const Build& build, bool place) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  bool own = db_->transaction_depth == 0;  // inside a Batch the batch's transaction serves
  if (own) db_->Prepare("BEGIN").Run();    // one read transaction for the three reads
  BuildExtras out;
  try {
    out.artifacts = ArtifactsLocked(build.id);
    if (build.state == BuildState::kQueued && place) {
      out.place = PlaceInQueueLocked(build.id);
      out.typical_duration_s = TypicalDurationLocked(build.type, build.arch, build.release);
    }
  } catch (...) {
    if (own) db_->Exec("ROLLBACK");
    throw;
  }
  if (own) db_->Prepare("COMMIT").Run();
  return out;
}

QueuePlace Store::PlaceInQueueLocked(int64_t id) {
  Statement s = db_->Prepare(
      "SELECT (SELECT COUNT(*) FROM builds o WHERE o.state='queued' AND (o.priority > b.priority "
      "OR (o.priority = b.priority AND (o.queued_ms < b.queued_ms OR (o.queued_ms = b.queued_ms "
      "AND o.id < b.id))))), (SELECT COUNT(*) FROM builds WHERE state='queued') "
      "FROM builds b WHERE b.id=?1 AND b.state='queued'");
  s.Bind(1, id);
  if (!s.Step()) return {};
  return {static_cast<int>(s.Int(0)) + 1, static_cast<int>(s.Int(1))};
}

std::optional<double> Store::TypicalDurationSeconds(const std::string& type,
                                                    const std::string& arch,
                                                    const std::string& release) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return TypicalDurationLocked(type, arch, release);
}

std::optional<double> Store::TypicalDurationLocked(const std::string& type, const std::string& arch,
                                                   const std::string& release) {
  Statement s = db_->Prepare(
      "SELECT finished_ms - started_ms FROM builds WHERE state='succeeded' AND type=?1 AND "
      "arch=?2 AND release=?3 AND started_ms > 0 ORDER BY id DESC LIMIT 20");
  s.Bind(1, type).Bind(2, arch).Bind(3, release);
  std::vector<int64_t> ms;
  while (s.Step()) ms.push_back(s.Int(0));
  if (ms.empty()) return std::nullopt;
  std::nth_element(ms.begin(), ms.begin() + static_cast<long>(ms.size() / 2), ms.end());
  return static_cast<double>(ms[ms.size() / 2]) / 1000.0;
}

// ---- the embedded queue

std::optional<Build> Store::ClaimLocked(int64_t id, const WorkerCaps& caps, int64_t lease_ms,
                                        int64_t now_ms) {
  db_->Prepare(
         "UPDATE builds SET state='running', attempt=attempt+1, worker=?2, lease_until_ms=?3, "
         "started_ms=?4, stage='', progress=0 WHERE id=?1 AND state='queued'")
      .Bind(1, id)
      .Bind(2, caps.worker)
      .Bind(3, now_ms + lease_ms)
      .Bind(4, now_ms)
      .Run();
  if (db_->Changes() == 0) return std::nullopt;
  // A new attempt makes the build's one set of artifacts: whatever an earlier attempt stored
  // before it died goes.
  db_->Prepare("DELETE FROM artifacts WHERE build_id=?1").Bind(1, id).Run();
  db_->Prepare("UPDATE workers SET last_seen_ms=?2 WHERE id=?1")
      .Bind(1, caps.worker)
      .Bind(2, now_ms)
      .Run();
  return GetBuildLocked(id, /*with_spec=*/true);  // the worker builds the spec
}

std::optional<Build> Store::ClaimNext(const WorkerCaps& caps, int64_t lease_ms, int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(*db_);
  // Highest priority first; among equals the owner with the fewest running builds, so one
  // user's hundred queued builds do not starve another's one; then the oldest.
  Statement pick = db_->Prepare(
      "SELECT b.id FROM builds b WHERE b.state='queued' AND " + InList(1, "b.arch") + " AND " +
      InList(2, "b.release") + " AND " + InList(3, "b.type") +
      " ORDER BY b.priority DESC, (SELECT COUNT(*) FROM builds r WHERE r.owner_id = b.owner_id "
      "AND r.state='running') ASC, b.queued_ms ASC, b.id ASC LIMIT 1");
  pick.Bind(1, caps.arches).Bind(2, caps.releases).Bind(3, caps.types);
  if (!pick.Step()) return std::nullopt;
  int64_t id = pick.Int(0);
  std::optional<Build> claimed = ClaimLocked(id, caps, lease_ms, now_ms);
  tx.Commit();
  return claimed;
}

std::optional<Build> Store::Claim(int64_t id, const WorkerCaps& caps, int64_t lease_ms,
                                  int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(*db_);
  std::optional<Build> claimed = ClaimLocked(id, caps, lease_ms, now_ms);
  tx.Commit();
  return claimed;
}

LeaseStatus Store::Heartbeat(int64_t id, int attempt, const std::string& worker, int64_t lease_ms,
                             int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(*db_);
  db_->Prepare(
         "UPDATE builds SET lease_until_ms=?4 WHERE id=?1 AND attempt=?2 AND worker=?3 AND "
         "state='running'")
      .Bind(1, id)
      .Bind(2, attempt)
      .Bind(3, worker)
      .Bind(4, now_ms + lease_ms)
      .Run();
  if (db_->Changes() == 0) return LeaseStatus::kLost;
  db_->Prepare("UPDATE workers SET last_seen_ms=?2 WHERE id=?1")
      .Bind(1, worker)
      .Bind(2, now_ms)
      .Run();
  Statement cancel = db_->Prepare("SELECT cancel_requested FROM builds WHERE id=?1");
  cancel.Bind(1, id);
  cancel.Step();
  bool canceled = cancel.Int(0) != 0;
  tx.Commit();
  return canceled ? LeaseStatus::kCancelRequested : LeaseStatus::kHeld;
}

void Store::SetProgress(int64_t id, int attempt, const std::string& stage, double progress) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare(
         "UPDATE builds SET stage=?3, progress=?4 WHERE id=?1 AND attempt=?2 AND "
         "state='running'")
      .Bind(1, id)
      .Bind(2, attempt)
      .Bind(3, stage)
      .Bind(4, progress)
      .Run();
}

bool Store::Finish(int64_t id, int attempt, const std::string& worker, BuildState state,
                   const std::string& error_code, const std::string& error_class,
                   const std::string& error_message, const std::string& error_hint,
                   int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(*db_);
  db_->Prepare(
         "UPDATE builds SET state=?4, finished_ms=?5, lease_until_ms=0, error_code=?6, "
         "error_class=?7, error_message=?8, error_hint=?9, progress=CASE WHEN ?4='succeeded' "
         "THEN 1 ELSE progress END WHERE id=?1 AND attempt=?2 AND worker=?3 AND "
         "state='running'")
      .Bind(1, id)
      .Bind(2, attempt)
      .Bind(3, worker)
      .Bind(4, ToString(state))
      .Bind(5, now_ms)
      .Bind(6, error_code)
      .Bind(7, error_class)
      .Bind(8, error_message)
      .Bind(9, error_hint)
      .Run();
  bool done = db_->Changes() > 0;
  db_->Prepare("UPDATE workers SET last_seen_ms=?2 WHERE id=?1")
      .Bind(1, worker)
      .Bind(2, now_ms)
      .Run();
  tx.Commit();
  return done;
}

bool Store::HandBack(int64_t id, int attempt, const std::string& worker, int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare(
         "UPDATE builds SET state='queued', queued_ms=?4, lease_until_ms=0, stage='', "
         "progress=0 WHERE id=?1 AND attempt=?2 AND worker=?3 AND state='running'")
      .Bind(1, id)
      .Bind(2, attempt)
      .Bind(3, worker)
      .Bind(4, now_ms)
      .Run();
  return db_->Changes() > 0;
}

Store::Expired Store::RequeueExpired(int64_t now_ms, int max_attempts) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(*db_);
  Expired out;
  if (max_attempts > 0) {
    Statement fail = db_->Prepare(
        "UPDATE builds SET state='failed', finished_ms=?1, lease_until_ms=0, "
        "error_code='worker-lost', error_class='internal', error_message='the build lost its "
        "worker ' || attempt || ' times (killed, crashed or cut off from the master); kiln "
        "gave up on it', error_hint='see the build log for what ran last; retry the build "
        "once the workers are healthy' WHERE state='running' AND lease_until_ms < ?1 AND "
        "attempt >= ?2 RETURNING id");
    fail.Bind(1, now_ms).Bind(2, max_attempts);
    while (fail.Step()) out.failed.push_back(fail.Int(0));
  }
  Statement s = db_->Prepare(
      "UPDATE builds SET state='queued', queued_ms=?1, lease_until_ms=0, stage='', progress=0 "
      "WHERE state='running' AND lease_until_ms < ?1 RETURNING id");
  s.Bind(1, now_ms);
  while (s.Step()) out.requeued.push_back(s.Int(0));
  tx.Commit();
  return out;
}

std::vector<int64_t> Store::RequeueWorkerPrefix(const std::string& prefix, int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(*db_);
  Statement s = db_->Prepare(
      "UPDATE builds SET state='queued', queued_ms=?2, lease_until_ms=0, stage='', progress=0 "
      "WHERE state='running' AND substr(worker, 1, length(?1)) = ?1 RETURNING id");
  s.Bind(1, prefix).Bind(2, now_ms);
  std::vector<int64_t> ids;
  while (s.Step()) ids.push_back(s.Int(0));
  tx.Commit();
  return ids;
}

// ---- events, artifacts, workers

std::vector<Event> Store::AppendEvents(int64_t build_id, const std::vector<NewEvent>& events,
                                       int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(*db_);
  int64_t seq = 0;
  {
    // Reset before the commit: a statement still stepping keeps the connection reading, and
    // the checkpoint after the commit would be refused.
    Statement last = db_->Prepare("SELECT COALESCE(MAX(seq), 0) FROM events WHERE build_id=?1");
    last.Bind(1, build_id);
    last.Step();
    seq = last.Int(0);
  }
  std::vector<Event> out;
  out.reserve(events.size());
  for (const NewEvent& e : events) {
    ++seq;
    db_->Prepare(
           "INSERT INTO events(build_id, seq, time_ms, kind, data) VALUES(?1, ?2, ?3, ?4, ?5)")
        .Bind(1, build_id)
        .Bind(2, seq)
        .Bind(3, now_ms)
        .Bind(4, e.kind)
        .Bind(5, e.data)
        .Run();
    out.push_back({build_id, seq, now_ms, e.kind, e.data});
  }
  tx.Commit();
  return out;
}

std::vector<Event> Store::EventsAfter(int64_t build_id, int64_t after_seq, int limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(
      "SELECT seq, time_ms, kind, data FROM events WHERE build_id=?1 AND seq > ?2 ORDER BY seq "
      "LIMIT ?3");
  s.Bind(1, build_id).Bind(2, after_seq).Bind(3, limit);
  std::vector<Event> out;
  while (s.Step()) out.push_back({build_id, s.Int(0), s.Int(1), s.Text(2), s.Text(3)});
  return out;
}

void Store::AddArtifact(const Artifact& a) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare(
         "INSERT OR REPLACE INTO artifacts(build_id, name, size, sha256) VALUES(?1, ?2, ?3, ?4)")
      .Bind(1, a.build_id)
      .Bind(2, a.name)
      .Bind(3, a.size)
      .Bind(4, a.sha256)
      .Run();
}

std::vector<Artifact> Store::Artifacts(int64_t build_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return ArtifactsLocked(build_id);
}

std::vector<Artifact> Store::ArtifactsLocked(int64_t build_id) {
  Statement s =
      db_->Prepare("SELECT name, size, sha256 FROM artifacts WHERE build_id=?1 ORDER BY name");
  s.Bind(1, build_id);
  std::vector<Artifact> out;
  while (s.Step()) out.push_back({build_id, s.Text(0), s.Int(1), s.Text(2)});
  return out;
}

void Store::MarkArtifactsRemoved(int64_t build_id, int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare("UPDATE builds SET artifacts_removed_ms=?2 WHERE id=?1")
      .Bind(1, build_id)
      .Bind(2, now_ms)
      .Run();
}

std::vector<Store::StoredArtifacts> Store::BuildsWithArtifacts() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(
      "SELECT b.id, b.finished_ms, SUM(a.size) FROM builds b JOIN artifacts a ON a.build_id = "
      "b.id WHERE b.artifacts_removed_ms = 0 AND b.state IN ('succeeded', 'failed', "
      "'canceled') AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.build_id = b.id AND "
      "d.kind = 'staging' AND d.state = 'pending') GROUP BY b.id ORDER BY b.finished_ms, b.id");
  std::vector<StoredArtifacts> out;
  while (s.Step()) out.push_back({s.Int(0), s.Int(1), s.Int(2)});
  return out;
}

void Store::UpsertWorker(const Worker& w) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare(
         "INSERT INTO workers(id, arches, releases, types, version, capacity, registered_ms, "
         "last_seen_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
         "ON CONFLICT(id) DO UPDATE SET arches=?2, releases=?3, types=?4, version=?5, "
         "capacity=?6, last_seen_ms=?8")
      .Bind(1, w.id)
      .Bind(2, w.arches)
      .Bind(3, w.releases)
      .Bind(4, w.types)
      .Bind(5, w.version)
      .Bind(6, w.capacity)
      .Bind(7, w.registered_ms)
      .Bind(8, w.last_seen_ms)
      .Run();
}

void Store::TouchWorker(const std::string& id, int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare("UPDATE workers SET last_seen_ms=?2 WHERE id=?1").Bind(1, id).Bind(2, now_ms).Run();
}

std::vector<Worker> Store::ListWorkers() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(
      "SELECT id, arches, releases, types, version, capacity, registered_ms, last_seen_ms "
      "FROM workers ORDER BY id");
  std::vector<Worker> out;
  while (s.Step()) {
    Worker w;
    static_cast<protocol::WorkerInfo&>(w) = {s.Text(0), s.Text(1), s.Text(2),
                                             s.Text(3), s.Text(4), static_cast<int>(s.Int(5))};
    w.registered_ms = s.Int(6);
    w.last_seen_ms = s.Int(7);
    out.push_back(std::move(w));
  }
  Statement running =
      db_->Prepare("SELECT worker, id FROM builds WHERE state='running' ORDER BY worker, id");
  while (running.Step()) {
    std::string worker = running.Text(0);
    auto it = std::lower_bound(out.begin(), out.end(), worker,
                               [](const Worker& w, const std::string& id) { return w.id < id; });
    if (it != out.end() && it->id == worker) it->current_builds.push_back(running.Int(1));
  }
  return out;
}

// ---- the outbox (distributed mode)

void Store::EnableOutbox() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  // TEMP triggers live in this connection only: a master without a broker keeps no outbox,
  // and every path that queues a build (submit, retry, requeue, hand-back) is covered
  // without each one knowing about the broker.
  db_->Exec(
      "CREATE TEMP TRIGGER IF NOT EXISTS outbox_on_submit AFTER INSERT ON main.builds "
      "WHEN NEW.state='queued' BEGIN INSERT INTO outbox(build_id) VALUES(NEW.id); END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS outbox_on_requeue AFTER UPDATE OF state, queued_ms "
      "ON main.builds WHEN NEW.state='queued' BEGIN INSERT INTO outbox(build_id) "
      "VALUES(NEW.id); END;");
  // Builds queued while the master ran without a broker (or whose row a crash lost) get a
  // message too; a duplicate message is harmless, the claim decides.
  db_->Exec(
      "INSERT INTO outbox(build_id) SELECT id FROM builds WHERE state='queued' AND id NOT IN "
      "(SELECT build_id FROM outbox) ORDER BY priority DESC, queued_ms, id");
}

std::vector<OutboxEntry> Store::OutboxBatch(int limit, const OutboxArchFilter& filter) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::string where;
  if (filter.only || !filter.arches.empty()) {
    std::string params;
    for (size_t i = 0; i < filter.arches.size(); ++i) {
      params += (i == 0 ? "?" : ", ?") + std::to_string(i + 2);
    }
    where = filter.only
                ? "WHERE COALESCE(b.arch, '') IN ('', " + (params.empty() ? "''" : params) + ") "
                : "WHERE COALESCE(b.arch, '') NOT IN (" + params + ") ";
  }
  Statement s = db_->Prepare(
      "SELECT o.seq, o.build_id, COALESCE(b.state = 'queued', 0), COALESCE(b.arch, ''), "
      "COALESCE(b.release, ''), COALESCE(b.type, ''), COALESCE(b.priority, 0) FROM outbox o "
      "LEFT JOIN builds b ON b.id = o.build_id " +
      where + "ORDER BY o.seq LIMIT ?1");
  s.Bind(1, limit);
  for (size_t i = 0; i < filter.arches.size(); ++i) {
    s.Bind(static_cast<int>(i + 2), filter.arches[i]);
  }
  std::vector<OutboxEntry> out;
  while (s.Step()) {
    out.push_back({s.Int(0), s.Int(1), s.Int(2) != 0, s.Text(3), s.Text(4), s.Text(5),
                   static_cast<int>(s.Int(6))});
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Store::LongQueued(int64_t before_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(
      "SELECT DISTINCT arch, release FROM builds WHERE state='queued' AND queued_ms < ?1 AND "
      "id NOT IN (SELECT build_id FROM outbox)");
  s.Bind(1, before_ms);
  std::vector<std::pair<std::string, std::string>> out;
  while (s.Step()) out.emplace_back(s.Text(0), s.Text(1));
  return out;
}

int Store::Republish(const std::string& arch, const std::string& release, int64_t before_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare(
         "INSERT INTO outbox(build_id) SELECT id FROM builds WHERE state='queued' AND arch=?1 "
         "AND release=?2 AND queued_ms < ?3 AND id NOT IN (SELECT build_id FROM outbox) "
         "ORDER BY priority DESC, queued_ms, id")
      .Bind(1, arch)
      .Bind(2, release)
      .Bind(3, before_ms)
      .Run();
  return db_->Changes();
}

void Store::OutboxDone(const std::vector<int64_t>& seqs) {
  if (seqs.empty()) return;
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(*db_);
  for (int64_t seq : seqs) db_->Prepare("DELETE FROM outbox WHERE seq=?1").Bind(1, seq).Run();
  tx.Commit();
}

int64_t Store::OutboxSize() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare("SELECT COUNT(*) FROM outbox");
  s.Step();
  return s.Int(0);
}

bool Store::FailUnfinished(int64_t id, const std::string& error_code,
                           const std::string& error_class, const std::string& error_message,
                           const std::string& error_hint, int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare(
         "UPDATE builds SET state='failed', finished_ms=?2, lease_until_ms=0, error_code=?3, "
         "error_class=?4, error_message=?5, error_hint=?6 WHERE id=?1 AND state IN "
         "('queued', 'running')")
      .Bind(1, id)
      .Bind(2, now_ms)
      .Bind(3, error_code)
      .Bind(4, error_class)
      .Bind(5, error_message)
      .Bind(6, error_hint)
      .Run();
  return db_->Changes() > 0;
}

}  // namespace kiln::store
