#include "stages/debian_mirror.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/sha256.h"
#include "core/text.h"
#include "spec/kickstart_loader.h"
#include "sys/files.h"

namespace kiln::stages {
namespace fs = std::filesystem;

namespace {

bool IsDebianArchive(std::string_view uri) {
  return (StartsWith(uri, "http://") || StartsWith(uri, "https://")) &&
         uri.find("security") == std::string_view::npos;
}

}  // namespace

std::string MirrorFromDeb822(std::string_view text) {
  // Stanzas are separated by blank lines; we want Types: deb with a non-security URI.
  std::istringstream in{std::string(text)};
  std::string line;
  std::string types, uris;
  auto flush = [&]() -> std::string {
    std::string found;
    for (const std::string& t : SplitNonEmpty(types, ' ')) {
      if (t != "deb" || !found.empty()) continue;
      for (const std::string& u : SplitNonEmpty(uris, ' ')) {
        if (IsDebianArchive(u)) {
          found = u;
          break;
        }
      }
    }
    types.clear();
    uris.clear();
    return found;
  };
  while (std::getline(in, line)) {
    std::string_view t = Trim(line);
    if (t.empty()) {
      if (std::string u = flush(); !u.empty()) return u;
      continue;
    }
    if (t[0] == '#') continue;
    if (StartsWith(t, "Types:")) types = std::string(Trim(t.substr(6)));
    if (StartsWith(t, "URIs:")) uris = std::string(Trim(t.substr(5)));
  }
  return flush();
}

std::string MirrorFromSourcesList(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> words = SplitNonEmpty(Trim(line), ' ');
    if (words.size() < 3 || words[0] != "deb") continue;
    size_t i = 1;
    if (StartsWith(words[1], "[")) {  // deb [signed-by=...] URI suite
      while (i < words.size() && !EndsWith(words[i], "]")) ++i;
      ++i;
    }
    if (i < words.size() && IsDebianArchive(words[i])) return words[i];
  }
  return {};
}

std::string DefaultDebianMirror(const std::string& root) {
  fs::path base(root);
  std::error_code ec;
  std::vector<fs::path> sources;
  for (const auto& e : fs::directory_iterator(base / "etc/apt/sources.list.d", ec)) {
    if (e.path().extension() == ".sources") sources.push_back(e.path());
  }
  std::sort(sources.begin(), sources.end());
  for (const fs::path& p : sources) {
    if (std::string m = MirrorFromDeb822(sys::ReadFileText(p)); !m.empty()) return m;
  }
  if (std::string m = MirrorFromSourcesList(sys::ReadFileText(base / "etc/apt/sources.list"));
      !m.empty()) {
    return m;
  }
  return "http://deb.debian.org/debian";
}

std::string ExtraRepository::SourcesLine() const {
  std::string line = "deb " + std::string(trusted ? "[trusted=yes] " : "") + uri + " " + suite;
  for (const std::string& c : components) line += " " + c;
  return line;
}

Result<ExtraRepository> ParseRepository(const std::string& name, const std::string& baseurl,
                                        const std::string& default_suite) {
  std::vector<std::string> words = SplitNonEmpty(baseurl, ' ');
  if (words.empty() || !(StartsWith(words[0], "http://") || StartsWith(words[0], "https://") ||
                         StartsWith(words[0], "file:/"))) {
    return Status::Error(
        "repo " + name +
        ": --baseurl must start with an http, https or file URI, then "
        "optionally a suite and components (\"http://deb.example.org/debian bookworm main\")");
  }
  ExtraRepository out;
  out.name = name;
  out.uri = words[0];
  out.suite = words.size() > 1 ? words[1] : default_suite;
  out.components.assign(words.size() > 2 ? words.begin() + 2 : words.end(), words.end());
  if (out.components.empty()) out.components = {"main"};
  return out;
}

long long ReleaseDate(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (!StartsWith(line, "Date:")) continue;
    std::tm tm{};
    std::string value(Trim(std::string_view(line).substr(5)));
    if (strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S", &tm) == nullptr) return 0;
    return static_cast<long long>(timegm(&tm));
  }
  return 0;
}

Result<MirrorState> FetchMirrorState(const std::string& mirror, const std::string& suite) {
  std::string url = mirror;
  if (!url.empty() && url.back() == '/') url.pop_back();
  url += "/dists/" + suite + "/InRelease";
  spec::FetchOptions options;
  options.total_timeout_s = 30;
  std::string error;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(2 << attempt));
    Result<std::string> body = spec::FetchUrl(url, options);
    if (body.ok()) {
      MirrorState state;
      state.hash = Sha256Hex(*body);
      state.date = ReleaseDate(*body);
      return state;
    }
    error = body.message();
  }
  return Status::Error(url + ": " + error);
}

namespace {

// Answers a process read in the last minute: plans are asked for often and cheaply, and what
// they read (the apt sources, a mirror's release file) changes far less often than that.
template <typename Key, typename Value>
class MinuteMemo {
 public:
  template <typename Load>  // Result<Value>()
  Result<Value> Get(const Key& key, Load&& load) {
    auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = entries_.find(key);
      if (it != entries_.end() && now - it->second.second < std::chrono::minutes(1)) {
        return it->second.first;
      }
    }
    Result<Value> loaded = load();
    if (!loaded.ok()) return loaded;
    std::lock_guard<std::mutex> lock(mu_);
    entries_[key] = {*loaded, now};
    return loaded;
  }

 private:
  std::mutex mu_;
  std::map<Key, std::pair<Value, std::chrono::steady_clock::time_point>> entries_;
};

}  // namespace

Result<MirrorState> FetchMirrorStateCached(const std::string& mirror, const std::string& suite) {
  static MinuteMemo<std::pair<std::string, std::string>, MirrorState> memo;
  return memo.Get({mirror, suite}, [&] { return FetchMirrorState(mirror, suite); });
}

std::string DefaultDebianMirrorCached(const std::string& root) {
  static MinuteMemo<std::string, std::string> memo;
  return *memo.Get(root, [&] { return Result<std::string>(DefaultDebianMirror(root)); });
}

}  // namespace kiln::stages
