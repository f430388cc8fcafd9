// Requests and responses as the API handlers see them: plain structs, no Beast, so that the
// handlers are tested without sockets and the HTTP library stays in http_server.cc.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln::server {

struct HttpRequest {
  std::string method;                                        // "GET", "POST", ...
  std::string target;                                        // as sent: path and query
  std::string path;                                          // decoded path without the query
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  std::string remote;  // peer address
  // False while the handler runs on an I/O thread: it must not wait on the network, and
  // answers kOnSlowPool if it would (the server runs it again where it may).
  bool may_block = true;

  // The first header of that (lower-case) name, or "".
  std::string_view Header(std::string_view name) const;
  std::optional<std::string> Query(std::string_view name) const;
};

// A file to send (sendfile), the whole file or one byte range of it.
struct FileReply {
  std::filesystem::path path;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// A Server-Sent Events stream of a build's events after `after_seq`.
struct EventStreamReply {
  int64_t build_id = 0;
  int64_t after_seq = 0;
};

// A request body streamed to a file instead of memory (a worker's artifact upload): where
// it goes and which bytes of the whole file it carries.
struct UploadPlan {
  std::filesystem::path partial;  // appended to; kept across dropped connections (resume)
  uint64_t offset = 0;            // where this request's bytes start in the whole file
  uint64_t length = 0;            // this request's bytes (its Content-Length)
  uint64_t total = 0;             // the whole file's size
  std::string sha256;             // the whole file's, as the sender computed it
  int64_t build_id = 0;
  int attempt = 0;
  std::string worker, name;
};

// The status of an answer that says "run me again on the slow pool" (never sent).
inline constexpr int kOnSlowPool = -1;

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<FileReply> file;           // instead of body
  std::optional<EventStreamReply> events;  // instead of body: a long-lived stream
  bool head_only = false;                  // a HEAD request: headers, no body

  void Set(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

// This host's loopback: the peer address of the TLS proxy in front of kiln (docs/tls.md),
// whose X-Forwarded-For is believed and whose connections are not rate-limited per address.
bool IsLocalProxyAddress(std::string_view address);

// "a%20b" -> "a b"; false if an escape is malformed.
bool PercentDecode(std::string_view in, std::string& out, bool plus_is_space);
// "/builds/7?x=a b" -> "/builds/7%3Fx%3Da%20b": safe in a query's value ('/' kept).
std::string PercentEncode(std::string_view in);
// "/api/v1/builds/7" -> {"api", "v1", "builds", "7"} (empty segments dropped).
std::vector<std::string_view> SplitPath(std::string_view path);
// Splits "a=1&b=2" into decoded pairs; false if malformed.
bool ParseQuery(std::string_view query, std::vector<std::pair<std::string, std::string>>& out);

}  // namespace kiln::server
