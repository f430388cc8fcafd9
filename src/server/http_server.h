// The HTTP/1.1 server of `kiln serve` (Boost.Beast on Asio, C++20 coroutines; Beast stays in
// http_server.cc). It reads requests with limits (header size, body size, a deadline for the
// whole request against slow clients), hands them to the Api, and writes the answers: plain
// bodies, files by sendfile with ranges, and Server-Sent Event streams fed by the event hub.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "server/api.h"

namespace kiln::server {

struct HttpServerOptions {
  std::string address = "0.0.0.0";
  uint16_t port = 5000;  // 0 = any free port (tests)
  int threads = 2;       // I/O threads
  size_t header_limit = 16u << 10;
  size_t body_limit = 64u << 20;
  std::chrono::milliseconds request_deadline{15000};  // the whole request must arrive in this
  std::chrono::milliseconds idle_timeout{60000};      // a keep-alive connection's quiet time
  std::chrono::milliseconds write_timeout{60000};     // a client that reads nothing this long
  std::chrono::milliseconds event_keepalive{15000};   // comment lines on quiet event streams
  int max_connections = 20000;
  // Per client address (except 127.0.0.1 and ::1, where a TLS proxy in front of kiln connects
  // from and enforces its own limits): open connections, and requests a second (a bucket of
  // 4 seconds' worth, refilled at this rate); 0 = no limit.
  int max_connections_per_address = 256;
  int requests_per_address_per_s = 100;
  // A request body larger than this is read only after the headers' credentials are checked.
  size_t unauthenticated_body_limit = 4096;
};

class HttpServer {
 public:
  HttpServer(Api& api, HttpServerOptions options);
  ~HttpServer();

  // Binds and listens; false with `error` if the address cannot be used.
  Status Listen();
  uint16_t port() const;  // the bound port (after Listen)
  // Serves until Stop(); blocks.
  void Run();
  // Thread-safe; Run() returns soon after.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One raw HTTP/1.1 request through the server's request path without a socket: parsed with
// the same limits, converted, routed and answered by `api`. Returns the status it answered
// (400/413/431 when parsing fails). For the fuzzer.
int HandleRawRequest(Api& api, std::string_view raw, const HttpServerOptions& options);

}  // namespace kiln::server
