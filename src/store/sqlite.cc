#include "store/sqlite.h"

#include <sqlite3.h>

namespace kiln::store {

namespace {

[[noreturn]] void Throw(sqlite3* db, std::string_view what) {
  throw StoreError(std::string(what) + ": " + (db != nullptr ? sqlite3_errmsg(db) : "no database"));
}

}  // namespace

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  if (in_use_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  } else {
    sqlite3_finalize(stmt_);
  }
}

Statement& Statement::Bind(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) Throw(db_, "bind");
  return *this;
}

Statement& Statement::Bind(int index, double value) {
  if (sqlite3_bind_double(stmt_, index, value) != SQLITE_OK) Throw(db_, "bind");
  return *this;
}

Statement& Statement::Bind(int index, std::string_view value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK) {
    Throw(db_, "bind");
  }
  return *this;
}

Statement& Statement::BindBorrowed(int index, std::string_view value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                        SQLITE_STATIC) != SQLITE_OK) {
    Throw(db_, "bind");
  }
  return *this;
}

Statement& Statement::Bind(int index, const std::optional<std::string>& value) {
  return value ? Bind(index, std::string_view(*value)) : BindNull(index);
}

Statement& Statement::BindNull(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) Throw(db_, "bind");
  return *this;
}

bool Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Throw(db_, "query");
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::Real(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::unique_ptr<Database> Database::Open(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw StoreError("cannot open " + path.string() + ": " + message);
  }
  std::unique_ptr<Database> out(new Database(db));
  sqlite3_busy_timeout(db, 5000);
  out->Exec("PRAGMA journal_mode=WAL");
  // WAL with synchronous=NORMAL is durable against a process crash (kill -9); only a power
  // loss can lose the last transactions.
  out->Exec("PRAGMA synchronous=NORMAL");
  out->Exec("PRAGMA foreign_keys=ON");
  // Pages read through a memory map and a 64 MiB page cache instead of a pread(2) copy per
  // page: a busy master reads the same few pages (queue index, recent builds) all the time.
  out->Exec("PRAGMA mmap_size=268435456");
  out->Exec("PRAGMA cache_size=-65536");
  // Checkpoint every ~32 MiB of WAL instead of 4: the hot pages (the queue's indexes, the
  // newest rows) change in most transactions, and each checkpoint writes a page once however
  // often it changed since the last.
  out->Exec("PRAGMA wal_autocheckpoint=8192");
  out->Exec("PRAGMA journal_size_limit=67108864");
  return out;
}

Database::~Database() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  sqlite3_close(db_);
}

void Database::Exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string error = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    throw StoreError("sql: " + error);
  }
}

Statement Database::Prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) it = cache_.emplace(std::string(sql), Cached{}).first;
  Cached& cached = it->second;
  if (!cached.in_use) {
    if (cached.stmt == nullptr &&
        sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &cached.stmt, nullptr) != SQLITE_OK) {
      Throw(db_, "prepare");
    }
    cached.in_use = true;
    return Statement(db_, cached.stmt, &cached.in_use);
  }
  // The same statement is already running further up the stack: a one-off copy.
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    Throw(db_, "prepare");
  }
  return Statement(db_, stmt);
}

int64_t Database::LastInsertId() const { return sqlite3_last_insert_rowid(db_); }

int Database::Changes() const { return sqlite3_changes(db_); }

void Database::ReleaseMemory() { sqlite3_db_release_memory(db_); }

Transaction::Transaction(Database& db) : db_(db), outer_(db.transaction_depth == 0) {
  if (outer_) db_.Prepare("BEGIN IMMEDIATE").Run();
  ++db_.transaction_depth;
}

Transaction::~Transaction() {
  --db_.transaction_depth;
  if (!done_ && outer_) {
    try {
      db_.Exec("ROLLBACK");
    } catch (const StoreError&) {
      // The transaction is gone already (SQLite rolls back on some errors by itself).
    }
  }
}

void Transaction::Commit() {
  if (outer_) db_.Prepare("COMMIT").Run();
  done_ = true;
}

}  // namespace kiln::store
