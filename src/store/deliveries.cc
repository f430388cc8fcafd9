// The deliveries outbox (schema 7): what the master sends out for a build. Rows are written
// by TEMP triggers in the same transaction as the build's change, so no path that accepts or
// ends a build (submit, batch, cancel, finish, a lost lease's last attempt) can forget them,
// and a master killed at any moment finds every pending one on restart.
#include "store/sqlite.h"
#include "store/store.h"

namespace kiln::store {

namespace {

constexpr char kColumns[] =
    "id, build_id, kind, target, what, state, attempts, next_ms, last_error, created_ms, done_ms";

Delivery ReadDelivery(const Statement& s) {
  Delivery d;
  d.id = s.Int(0);
  d.build_id = s.Int(1);
  d.kind = s.Text(2);
  d.target = s.Text(3);
  d.what = s.Text(4);
  d.state = s.Text(5);
  d.attempts = static_cast<int>(s.Int(6));
  d.next_ms = s.Int(7);
  d.last_error = s.Text(8);
  d.created_ms = s.Int(9);
  d.done_ms = s.Int(10);
  return d;
}

}  // namespace

void Store::EnableDeliveries(bool mail, bool staging) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  // The request's addresses and targets (checked at submit) are read from the build's small
  // targets_json where the trigger fires (json_each). Two triggers, not one per kind: each
  // trigger that fires costs SQLite a sub-program run per row, whatever its WHEN says, and
  // most builds send nothing (targets_json '{}': the WHEN stops there).
  constexpr char kInsert[] =
      "INSERT OR IGNORE INTO deliveries(build_id, kind, target, what, next_ms, created_ms) ";
  std::string on_accept, on_change;
  if (mail) {
    on_accept += std::string(kInsert) +
                 "SELECT NEW.id, 'email', value, 'accepted', NEW.created_ms, NEW.created_ms "
                 "FROM json_each(NEW.targets_json, '$.email') WHERE type = 'text';";
    // A build retried and ended again tells again: its own row ("ended-2").
    on_change += std::string(kInsert) +
                 "SELECT NEW.id, 'email', value, CASE WHEN NEW.attempt > 1 THEN 'ended-' || "
                 "NEW.attempt ELSE 'ended' END, NEW.finished_ms, NEW.finished_ms "
                 "FROM json_each(NEW.targets_json, '$.email') WHERE type = 'text' AND "
                 "NEW.state IN ('succeeded', 'failed', 'canceled');";
  }
  // Webhooks need no server config: every state change of the build, each once
  // ("state:running:1" — the attempt tells a retried build's changes apart).
  on_accept += std::string(kInsert) +
               "SELECT NEW.id, 'webhook', value, 'state:queued:' || NEW.attempt, NEW.created_ms, "
               "NEW.created_ms FROM json_each(NEW.targets_json, '$.webhook') WHERE type = 'text';";
  on_change += std::string(kInsert) +
               "SELECT NEW.id, 'webhook', value, 'state:' || NEW.state || ':' || NEW.attempt, "
               "max(NEW.queued_ms, NEW.started_ms, NEW.finished_ms), "
               "max(NEW.queued_ms, NEW.started_ms, NEW.finished_ms) "
               "FROM json_each(NEW.targets_json, '$.webhook') WHERE type = 'text';";
  if (staging) {
    on_change += std::string(kInsert) +
                 "SELECT NEW.id, 'staging', value, 'staged', NEW.finished_ms, NEW.finished_ms "
                 "FROM json_each(NEW.targets_json, '$.staging') WHERE type = 'text' AND "
                 "NEW.state = 'succeeded' AND NEW.dry_run = 0;";
  }
  db_->Exec(
      "CREATE TEMP TRIGGER IF NOT EXISTS deliveries_on_accept AFTER INSERT ON main.builds "
      "WHEN NEW.state = 'queued' AND NEW.targets_json <> '{}' BEGIN " +
      on_accept +
      " END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS deliveries_on_change AFTER UPDATE OF state ON "
      "main.builds WHEN OLD.state <> NEW.state AND NEW.targets_json <> '{}' BEGIN " +
      on_change + " END;");
}

int64_t Store::CountEmailsSince(int64_t owner_id, int64_t since_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(
      "SELECT COALESCE(SUM(CASE WHEN d.what = 'accepted' THEN 2 WHEN d.what LIKE 'ended-%' "
      "THEN 1 ELSE 0 END), 0) FROM deliveries d JOIN builds b ON b.id = d.build_id "
      "WHERE d.kind = 'email' AND d.created_ms >= ?2 AND b.owner_id = ?1");
  s.Bind(1, owner_id).Bind(2, since_ms);
  s.Step();
  return s.Int(0);
}

std::vector<Delivery> Store::DueDeliveries(int64_t now_ms, int limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(std::string("SELECT ") + kColumns +
                             " FROM deliveries WHERE state = 'pending' AND next_ms <= ?1 "
                             "ORDER BY next_ms, id LIMIT ?2");
  s.Bind(1, now_ms).Bind(2, limit);
  std::vector<Delivery> out;
  while (s.Step()) out.push_back(ReadDelivery(s));
  return out;
}

void Store::DeliveryDone(int64_t id, int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare(
         "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, done_ms = ?2, "
         "last_error = '' WHERE id = ?1")
      .Bind(1, id)
      .Bind(2, now_ms)
      .Run();
}

void Store::DeliveryFailed(int64_t id, const std::string& error, int64_t retry_at_ms,
                           int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare(
         "UPDATE deliveries SET attempts = attempts + 1, last_error = ?2, "
         "state = CASE WHEN ?3 = 0 THEN 'failed' ELSE 'pending' END, next_ms = ?3, "
         "done_ms = CASE WHEN ?3 = 0 THEN ?4 ELSE 0 END WHERE id = ?1")
      .Bind(1, id)
      .Bind(2, error)
      .Bind(3, retry_at_ms)
      .Bind(4, now_ms)
      .Run();
}

std::vector<Delivery> Store::DeliveriesOf(int64_t build_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare(std::string("SELECT ") + kColumns +
                             " FROM deliveries WHERE build_id = ?1 ORDER BY id");
  s.Bind(1, build_id);
  std::vector<Delivery> out;
  while (s.Step()) out.push_back(ReadDelivery(s));
  return out;
}

int Store::RedoDeliveries(int64_t build_id, int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_->Prepare(
         "UPDATE deliveries SET state = 'pending', next_ms = ?2, done_ms = 0 WHERE build_id = ?1 "
         "AND kind IN ('staging', 'email') AND what <> 'accepted' AND state <> 'pending' AND "
         "EXISTS (SELECT 1 FROM builds WHERE id = ?1 AND state IN ('succeeded', 'failed', "
         "'canceled'))")
      .Bind(1, build_id)
      .Bind(2, now_ms)
      .Run();
  return db_->Changes();
}

int64_t Store::NextDeliveryMs() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare("SELECT min(next_ms) FROM deliveries WHERE state = 'pending'");
  return s.Step() ? s.Int(0) : 0;
}

std::map<std::pair<std::string, std::string>, int64_t> Store::CountDeliveries() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Statement s = db_->Prepare("SELECT kind, state, count(*) FROM deliveries GROUP BY kind, state");
  std::map<std::pair<std::string, std::string>, int64_t> out;
  while (s.Step()) out[{s.Text(0), s.Text(1)}] = s.Int(2);
  return out;
}

}  // namespace kiln::store
