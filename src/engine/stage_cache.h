// The content-addressed store of finished build stages (DESIGN §4, osbuild's model).
//
// A stage's key hashes its name, its version, its parent's key and its named inputs (package
// list, %post bodies, the mirror's InRelease hash, ...). A finished stage is committed under
// its key; a later build with the same key reuses it. When a stage misses, ExplainMiss says
// which inputs differ from the stage's last build. The store is bounded: least recently used
// entries are evicted first.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kiln::engine {

// What a stage's result depends on. A stage that changes meaning bumps `version`.
struct StageInputs {
  std::string stage;  // "bootstrap", "configure", ...
  int version = 1;
  std::string parent_key;  // the key of the stage it builds on ("" for the first)
  std::map<std::string, std::string> values;  // named inputs, e.g. {"packages", "..."}

  // The hex SHA-256 that identifies this stage's result.
  std::string Key() const;
};

struct CacheEntryInfo {
  std::string key;
  std::string stage;
  uint64_t bytes = 0;
  int64_t last_used = 0;  // the store's use counter at the last use (higher = more recent)
};

class StageCache {
 public:
  // `dir` is created if missing. `max_bytes` bounds the store (0 = unbounded). Work
  // directories left by builds that died without cleaning up are removed.
  StageCache(std::filesystem::path dir, uint64_t max_bytes);

  // The output directory of a finished stage with these inputs, or nullopt. A hit counts as
  // a use for the LRU order.
  std::optional<std::filesystem::path> Lookup(const StageInputs& inputs);

  // Whether a finished stage with these inputs is stored, without counting a use (plans).
  bool Contains(const StageInputs& inputs) const;

  // An empty directory for building the stage's output; Commit publishes it.
  std::filesystem::path Prepare(const StageInputs& inputs);

  // Moves the prepared output into the store under the inputs' key, atomically: readers see
  // the whole entry or none. Returns the entry's output directory.
  std::filesystem::path Commit(const StageInputs& inputs);

  // Drops a prepared, uncommitted output (after a failure).
  void Abandon(const StageInputs& inputs);

  // Why `inputs` is not in the store, in words: "first build of this stage", or the names of
  // the inputs that differ from the stage's last build ("%post scripts changed").
  std::string ExplainMiss(const StageInputs& inputs) const;

  // Removes least recently used entries until the store fits its bound; entries whose keys are
  // in `keep` (the build in progress) stay. Returns what was removed.
  std::vector<CacheEntryInfo> Evict(const std::set<std::string>& keep = {});

  std::vector<CacheEntryInfo> Entries() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path EntryDir(const std::string& key) const;
  std::filesystem::path WorkDir(const std::string& key) const;
  void RemoveOrphanedWork();
  void RecordLast(const StageInputs& inputs) const;
  void Touch(const std::string& key) const;
  int64_t NextUse() const;

  std::filesystem::path dir_;
  uint64_t max_bytes_;
};

}  // namespace kiln::engine
