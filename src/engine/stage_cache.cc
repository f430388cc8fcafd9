#include "engine/stage_cache.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/sha256.h"
#include "sys/files.h"

namespace kiln::engine {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json InputsJson(const StageInputs& inputs) {
  return {{"stage", inputs.stage},
          {"version", inputs.version},
          {"parent", inputs.parent_key},
          {"inputs", inputs.values}};
}

std::optional<json> ReadJson(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// Writes `j` to `path` through a temporary file and a rename, so a crash never leaves half
// a file.
void WriteJson(const fs::path& path, const json& j) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
  }
  fs::rename(tmp, path);
}

}  // namespace

std::string StageInputs::Key() const {
  // A canonical text of the inputs: JSON with sorted keys (std::map) is canonical.
  return Sha256Hex(InputsJson(*this).dump());
}

StageCache::StageCache(fs::path dir, uint64_t max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes) {
  fs::create_directories(dir_ / "stages");
  fs::create_directories(dir_ / "work");
  fs::create_directories(dir_ / "last");
  RemoveOrphanedWork();
}

void StageCache::RemoveOrphanedWork() {
  // Work directories end in the pid of the build that owns them ("KEY.PID",
  // "KEY.evicted.PID"). A build killed outright (SIGKILL, a crash, a power cut) cannot remove
  // its own: whichever build opens the cache next does, once that pid is gone.
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_ / "work", ec)) {
    std::string name = e.path().filename().string();
    size_t dot = name.rfind('.');
    if (dot == std::string::npos || dot + 1 == name.size()) continue;
    std::string digits = name.substr(dot + 1);
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid <= 0 || pid == getpid()) continue;
    if (kill(pid, 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
  }
}

fs::path StageCache::EntryDir(const std::string& key) const { return dir_ / "stages" / key; }

fs::path StageCache::WorkDir(const std::string& key) const {
  return dir_ / "work" / (key + "." + std::to_string(getpid()));
}

int64_t StageCache::NextUse() const {
  // A use counter rather than a clock: LRU order stays exact when uses fall in one second.
  fs::path counter = dir_ / "use-counter";
  int64_t n = 0;
  if (std::optional<json> j = ReadJson(counter); j && j->is_number_integer()) n = j->get<int64_t>();
  WriteJson(counter, n + 1);
  return n + 1;
}

void StageCache::Touch(const std::string& key) const {
  fs::path meta = EntryDir(key) / "meta.json";
  std::optional<json> j = ReadJson(meta);
  if (!j) return;
  (*j)["last_used"] = NextUse();
  (*j)["last_used_time"] = Now();
  WriteJson(meta, *j);
}

void StageCache::RecordLast(const StageInputs& inputs) const {
  WriteJson(dir_ / "last" / (inputs.stage + ".json"), InputsJson(inputs));
}

std::optional<fs::path> StageCache::Lookup(const StageInputs& inputs) {
  std::string key = inputs.Key();
  fs::path entry = EntryDir(key);
  std::error_code ec;
  if (!fs::exists(entry / "meta.json", ec)) return std::nullopt;
  Touch(key);
  RecordLast(inputs);
  return entry / "out";
}

bool StageCache::Contains(const StageInputs& inputs) const {
  std::error_code ec;
  return fs::exists(EntryDir(inputs.Key()) / "meta.json", ec);
}

fs::path StageCache::Prepare(const StageInputs& inputs) {
  fs::path work = WorkDir(inputs.Key());
  std::error_code ec;
  fs::remove_all(work, ec);
  fs::create_directories(work / "out");
  return work / "out";
}

fs::path StageCache::Commit(const StageInputs& inputs) {
  std::string key = inputs.Key();
  fs::path work = WorkDir(key);
  json meta = InputsJson(inputs);
  meta["key"] = key;
  meta["created"] = Now();
  meta["last_used_time"] = Now();
  meta["last_used"] = NextUse();
  meta["bytes"] = sys::TreeAllocatedBytes(work / "out");
  WriteJson(work / "meta.json", meta);
  fs::path entry = EntryDir(key);
  std::error_code ec;
  fs::rename(work, entry, ec);
  if (ec) {
    // Another build committed the same key first: its entry is as good as ours.
    fs::remove_all(work, ec);
  }
  RecordLast(inputs);
  return entry / "out";
}

void StageCache::Abandon(const StageInputs& inputs) {
  std::error_code ec;
  fs::remove_all(WorkDir(inputs.Key()), ec);
}

std::string StageCache::ExplainMiss(const StageInputs& inputs) const {
  std::optional<json> last = ReadJson(dir_ / "last" / (inputs.stage + ".json"));
  if (!last) return "first build of this stage";
  std::vector<std::string> changed;
  if (last->value("version", 0) != inputs.version) changed.push_back("stage version");
  if (last->value("parent", std::string()) != inputs.parent_key) {
    changed.push_back("the stage before it");
  }
  std::map<std::string, std::string> before;
  if (last->contains("inputs") && (*last)["inputs"].is_object()) {
    before = (*last)["inputs"].get<std::map<std::string, std::string>>();
  }
  for (const auto& [name, value] : inputs.values) {
    auto it = before.find(name);
    if (it == before.end() || it->second != value) changed.push_back(name);
  }
  for (const auto& [name, value] : before) {
    if (inputs.values.count(name) == 0) changed.push_back(name);
  }
  if (changed.empty()) return "its last result was evicted from the cache";
  std::string out;
  for (size_t i = 0; i < changed.size(); ++i) {
    if (i > 0) out += i + 1 == changed.size() ? " and " : ", ";
    out += changed[i];
  }
  return out + " changed";
}

std::vector<CacheEntryInfo> StageCache::Entries() const {
  std::vector<CacheEntryInfo> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ / "stages", ec)) {
    std::optional<json> meta = ReadJson(e.path() / "meta.json");
    if (!meta) continue;
    CacheEntryInfo info;
    info.key = e.path().filename().string();
    info.stage = meta->value("stage", std::string());
    info.bytes = meta->value("bytes", uint64_t{0});
    info.last_used = meta->value("last_used", int64_t{0});
    out.push_back(info);
  }
  return out;
}

std::vector<CacheEntryInfo> StageCache::Evict(const std::set<std::string>& keep) {
  std::vector<CacheEntryInfo> removed;
  if (max_bytes_ == 0) return removed;
  std::vector<CacheEntryInfo> entries = Entries();
  uint64_t total = 0;
  for (const CacheEntryInfo& e : entries) total += e.bytes;
  std::sort(entries.begin(), entries.end(), [](const CacheEntryInfo& a, const CacheEntryInfo& b) {
    return a.last_used != b.last_used ? a.last_used < b.last_used : a.key < b.key;
  });
  for (const CacheEntryInfo& e : entries) {
    if (total <= max_bytes_) break;
    if (keep.count(e.key) != 0) continue;
    // Move out of the store first (atomic), then delete at leisure.
    fs::path doomed = dir_ / "work" / (e.key + ".evicted." + std::to_string(getpid()));
    std::error_code ec;
    fs::rename(EntryDir(e.key), doomed, ec);
    if (ec) continue;
    fs::remove_all(doomed, ec);
    total -= e.bytes;
    removed.push_back(e);
  }
  return removed;
}

}  // namespace kiln::engine
