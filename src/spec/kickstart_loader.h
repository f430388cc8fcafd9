// Where kickstart text comes from: files, URLs (%include, %ksappend, config=) or memory.
//
// The parser asks a Resolver for every file it reads, so tests and the fuzzer use an
// in-memory one and nothing in the parser touches the file system or the network.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/status.h"
#include "spec/fetch_policy.h"

namespace kiln::spec {

struct LoadedText {
  std::string text;
  std::string name;  // for messages: the path or URL as resolved
  std::string id;    // identity for cycle detection: canonical path or URL
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  // Reads `ref` (a path or URL) as referenced from the already loaded `from` (null for the
  // top-level file) into `out`; fails with why it cannot be read. `out.name` may be set even
  // then: the messages name the file tried.
  virtual Status Read(std::string_view ref, const LoadedText* from, LoadedText& out) = 0;
  // The largest kickstart text it takes, the request's own included (a server's limit); 0 =
  // no limit.
  virtual size_t MaxTextBytes() const { return 0; }
};

// Options for fetching URLs.
struct FetchOptions {
  long connect_timeout_s = 10;
  long total_timeout_s = 60;
  size_t max_bytes = 64u << 20;  // a kickstart larger than this is refused
  // For fetches made for someone else (the server's): the addresses it may connect to, no
  // file:// and no proxy from the environment. nullptr = the CLI's own fetches.
  const AddressPolicy* policy = nullptr;
};

// Reads local files and http/https/ftp/file URLs (through libcurl). A relative path is
// looked up next to the including file first, then in the working directory (pykickstart
// looks in the working directory first; next to the including file is what users mean).
class FileResolver : public Resolver {
 public:
  explicit FileResolver(FetchOptions options = {}) : options_(options) {}
  Status Read(std::string_view ref, const LoadedText* from, LoadedText& out) override;

 private:
  FetchOptions options_;
};

// Serves files from a map of name -> text; relative names resolve against the including
// file's directory, like paths. For tests and the fuzzer.
class MemoryResolver : public Resolver {
 public:
  void Add(std::string name, std::string text) { files_[std::move(name)] = std::move(text); }
  Status Read(std::string_view ref, const LoadedText* from, LoadedText& out) override;

 private:
  std::map<std::string, std::string, std::less<>> files_;
};

// True for http://, https://, ftp:// and file:// references.
bool IsUrl(std::string_view ref);

// Fetches a URL with libcurl: its body, or why not (HTTP status >= 400, timeout, too large).
Result<std::string> FetchUrl(const std::string& url, const FetchOptions& options);

// Resolves `ref` against the location of `base` (a path or URL): "b.ks" next to
// "dir/a.ks" is "dir/b.ks"; next to "http://h/x/a.ks" it is "http://h/x/b.ks".
std::string ResolveRelative(std::string_view base, std::string_view ref);

}  // namespace kiln::spec
