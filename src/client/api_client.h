// The CLI's side of the HTTP API: which server and token to use (KILN_SERVER / KILN_TOKEN,
// else the client config), one keep-alive libcurl handle for requests, Server-Sent Events,
// resumable downloads, and error messages a person can act on. No JSON types here: callers
// parse bodies themselves, so this header stays light.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "client/sse.h"
#include "core/form_part.h"
#include "core/status.h"

struct curl_slist;

namespace kiln::client {

// The server and token the CLI talks to, and where each came from (for error messages).
struct Connection {
  std::string url;           // "http://127.0.0.1:5000", no trailing slash
  std::string token;         // may be empty
  std::string url_source;    // "KILN_SERVER", the config file's path, or "" (not set)
  std::string token_source;  // "KILN_TOKEN", the config file's path, or ""
};

// KILN_SERVER and KILN_TOKEN override the client config file. Fails when the file exists but
// cannot be read; a missing server URL is left for the caller to report.
Result<Connection> ResolveConnection();
// The same with a config file that cannot be read passed over (KILN_SERVER and KILN_TOKEN
// only): for commands that may be given the server otherwise and report what is missing.
Connection ResolveConnectionIgnoringBadConfig();

struct Reply {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-case; the last value wins
  std::string Header(const std::string& lower_name) const;
};

// No HTTP answer at all (refused, DNS, timeout, TLS). what() says which URL and which
// setting names it.
class Unreachable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ApiClient {
 public:
  explicit ApiClient(Connection connection);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  const Connection& connection() const { return connection_; }
  // The full URL of an API path ("/api/v1/builds/3").
  std::string Url(std::string_view path) const;

  Reply Get(std::string_view path);
  // POST/DELETE/... with a body (JSON unless said otherwise); `headers` are "Name: value".
  Reply Send(std::string_view method, std::string_view path, std::string_view body = {},
             const std::vector<std::string>& headers = {});
  Reply PostForm(std::string_view path, const std::vector<FormPart>& parts,
                 const std::vector<std::string>& headers = {});

  // Reads a Server-Sent Events stream: `on_event` for each event until it returns false or
  // the server ends the stream. Returns the HTTP status (0 if the connection broke after it
  // was answered: the caller reconnects). Throws Unreachable when no answer came.
  long Stream(std::string_view path, const std::vector<std::string>& headers,
              const std::function<bool(const SseEvent&)>& on_event);

  // GETs `path` appending to `file` from byte `offset` (a Range request with If-Range:
  // `etag`, so a changed file starts over). `progress(bytes in file)` is called as data
  // arrives. Returns the reply without its body (the file has it); status 200 means the
  // server sent the whole file (the file was truncated first), 206 the rest.
  Reply Download(std::string_view path, const std::filesystem::path& file, uint64_t offset,
                 const std::string& etag, const std::function<void(uint64_t)>& progress);

 private:
  // Resets the handle for a request to `path` (URL, token, `headers`, time limits); the
  // caller frees the returned header list after the transfer.
  curl_slist* Begin(std::string_view path, const std::vector<std::string>& headers);
  Reply Perform(std::string_view method, std::string_view path, const std::string* body,
                const std::vector<std::string>& headers, void* mime);
  [[noreturn]] void ThrowUnreachable(const std::string& curl_error) const;

  Connection connection_;
  void* curl_;  // CURL*: one handle, so requests reuse the connection
};

// A 4xx/5xx reply as lines a person can act on: the server's message, its details (each
// "FILE:LINE: message" with a hint), and what to do about 401/403.
std::string DescribeError(const Reply& reply, const Connection& connection);

}  // namespace kiln::client
