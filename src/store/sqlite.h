// A thin RAII layer over SQLite's C API, private to the store: one connection, prepared
// statements with typed binds and column reads. Errors from SQLite (a full disk, a locked or
// corrupt file, bad SQL) throw StoreError; the store's callers catch it at their edge.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace kiln::store {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Statement {
 public:
  // `in_use` is the cache's busy flag of a cached statement (reset, not finalized, at the
  // end), or nullptr for a statement of its own.
  Statement(sqlite3* db, sqlite3_stmt* stmt, bool* in_use = nullptr)
      : db_(db), stmt_(stmt), in_use_(in_use) {}
  Statement(Statement&& other) noexcept
      : db_(other.db_), stmt_(other.stmt_), in_use_(other.in_use_) {
    other.stmt_ = nullptr;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& Bind(int index, double value);
  Statement& Bind(int index, std::string_view value);
  Statement& Bind(int index, const char* value) { return Bind(index, std::string_view(value)); }
  Statement& Bind(int index, const std::string& value) {
    return Bind(index, std::string_view(value));
  }
  Statement& Bind(int index, const std::optional<std::string>& value);
  // Text SQLite reads where it is instead of copying (a large one): it must stay alive and
  // unchanged until the statement is reset or finalized.
  Statement& BindBorrowed(int index, std::string_view value);
  Statement& BindNull(int index);

  // Advances to the next row: true if there is one, false when the statement is done.
  bool Step();
  // Runs a statement that returns no rows.
  void Run() {
    while (Step()) {
    }
  }

  // Columns are 0-based.
  int64_t Int(int column) const;
  double Real(int column) const;
  std::string Text(int column) const;
  bool IsNull(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
};

class Database {
 public:
  int transaction_depth = 0;  // of nested Transactions (the outermost begins and commits)

  // Opens (creating if needed) the database file in WAL mode with a busy timeout, so that a
  // CLI command and the server can use it at once.
  static std::unique_ptr<Database> Open(const std::filesystem::path& path);
  ~Database();

  void Exec(std::string_view sql);  // statements without parameters or results
  // A prepared statement for `sql`. Statements are compiled once and kept: preparing is most
  // of a small query's cost.
  Statement Prepare(std::string_view sql);
  int64_t LastInsertId() const;
  int Changes() const;  // rows changed by the last statement
  // Frees the page cache's memory that no statement is using (after a large row).
  void ReleaseMemory();

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  sqlite3* db_;
  std::map<std::string, Cached, std::less<>> cache_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK unless Commit() was called.
// BEGIN IMMEDIATE ... COMMIT, rolled back if not committed. Transactions nest: an inner one
// joins the outer (its Commit is the outer's to make), so store calls made inside a
// Store::Batch share one commit.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  void Commit();

 private:
  Database& db_;
  bool outer_ = false;
  bool done_ = false;
};

}  // namespace kiln::store
