#include "server/http_server.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/text.h"

namespace kiln::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kNoThrow = asio::as_tuple(use_awaitable);
constexpr size_t kLargeBody = 256 << 10;  // a body past this is trimmed after (malloc_trim)

namespace {

// Closes a file descriptor on every exit path.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

std::string ErrorBody(const std::string& code, const std::string& message) {
  return nlohmann::json({{"error", {{"code", code}, {"message", message}}}}).dump();
}

// One watcher of a build's events: the hub's listener posts to the connection's strand,
// which sets `pending` and cancels the wait, so no notification is lost between a read of
// the store and the wait that follows it.
struct Watch {
  explicit Watch(asio::any_io_executor ex) : timer(ex) {}
  asio::steady_timer timer;
  bool pending = false;
};

// The API's view of a parsed request; false if the target is not an absolute path with
// valid escapes.
bool ToApiRequest(http::request<http::string_body>& breq, const std::string& remote,
                  HttpRequest& req) {
  req.method = std::string(breq.method_string());
  req.target = std::string(breq.target());
  req.remote = remote;
  std::string_view target = breq.target();
  size_t q = target.find('?');
  if (target.empty() || target[0] != '/' || !PercentDecode(target.substr(0, q), req.path, false) ||
      (q != std::string_view::npos && !ParseQuery(target.substr(q + 1), req.query))) {
    return false;
  }
  for (const auto& field : breq) {
    req.headers.emplace_back(ToLower(field.name_string()), std::string(field.value()));
  }
  req.body = std::move(breq.body());
  return true;
}

// The method and path of a request whose header was read, enough to pick how to read its body;
// with `remote`, also its headers, to check its credentials before the body (only then: this
// runs for every request).
HttpRequest HeadOf(const http::request<http::string_body>& breq,
                   const std::string* remote = nullptr) {
  HttpRequest head;
  head.method = std::string(breq.method_string());
  std::string_view target = breq.target();
  PercentDecode(target.substr(0, target.find('?')), head.path, false);
  if (remote != nullptr) {
    head.remote = *remote;
    for (const auto& field : breq) {
      head.headers.emplace_back(ToLower(field.name_string()), std::string(field.value()));
    }
  }
  return head;
}

// Connections and request rates per client address, bounded in size.
class AddressLimits {
 public:
  explicit AddressLimits(const HttpServerOptions& o) : options_(o) {}
  // False if `address` has its connections already.
  bool OpenConnection(const std::string& address) {
    if (options_.max_connections_per_address <= 0 || IsLocalProxyAddress(address)) return true;
    std::lock_guard<std::mutex> lock(mu_);
    int& n = connections_[address];
    if (n >= options_.max_connections_per_address) {
      if (n == 0) connections_.erase(address);
      return false;
    }
    ++n;
    return true;
  }
  void CloseConnection(const std::string& address) {
    if (options_.max_connections_per_address <= 0 || IsLocalProxyAddress(address)) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = connections_.find(address);
    if (it != connections_.end() && --it->second <= 0) connections_.erase(it);
  }
  // False if `address` is over its request rate now.
  bool TakeRequest(const std::string& address) {
    int rate = options_.requests_per_address_per_s;
    if (rate <= 0 || IsLocalProxyAddress(address)) return true;
    auto now = std::chrono::steady_clock::now();
    double burst = 4.0 * rate;
    std::lock_guard<std::mutex> lock(mu_);
    if (buckets_.size() > 100000) buckets_.clear();  // a bound, not an LRU: rare
    auto [it, added] = buckets_.try_emplace(address, Bucket{burst, now});
    Bucket& b = it->second;
    b.tokens = std::min(burst, b.tokens + rate * std::chrono::duration<double>(now - b.at).count());
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  const HttpServerOptions& options_;
  std::mutex mu_;
  std::unordered_map<std::string, int> connections_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace

int HandleRawRequest(Api& api, std::string_view raw, const HttpServerOptions& options) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
  parser.body_limit(options.body_limit);
  parser.eager(true);
  beast::error_code ec;
  std::string_view rest = raw;
  while (!parser.is_done()) {
    size_t used = parser.put(asio::buffer(rest.data(), rest.size()), ec);
    rest.remove_prefix(used);
    if (ec == http::error::need_more) {
      ec = {};
      if (rest.empty() || used == 0) break;
      continue;
    }
    if (ec || used == 0) break;
  }
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::header_limit) return 431;
  if (ec) return 400;
  if (!parser.is_done()) {
    if (!parser.got_some()) return 400;  // an empty connection
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return 400;
  }
  http::request<http::string_body> breq = parser.release();
  HttpRequest req;
  if (!ToApiRequest(breq, "fuzz", req)) return 400;
  HttpResponse res = api.Handle(req);
  api.CountRequest(Api::RouteLabel(req), res.status);
  return res.status;
}

struct HttpServer::Impl {
  Impl(Api& a, HttpServerOptions o)
      : api(a),
        options(std::move(o)),
        limits(options),
        io(options.threads),
        acceptor(io),
        slow(4) {}

  Api& api;
  HttpServerOptions options;
  AddressLimits limits;
  // Before io: the io_context's destructor destroys the sessions, which count themselves out.
  std::atomic<int> connections{0};
  asio::io_context io;
  tcp::acceptor acceptor;
  asio::thread_pool slow;  // handlers that may take long (password hashing, URL fetches)

  awaitable<void> Accept();
  // A connection: admitted within the connection limits, then its requests one by one.
  awaitable<void> Session(tcp::socket socket);
  // One request read, handled and answered; false when the connection must close.
  awaitable<bool> ServeRequest(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                               const std::string& remote, bool first);
  // The answer to a request that could not be read (none to a client that went away).
  awaitable<void> RejectReadError(beast::tcp_stream& stream, beast::error_code ec);
  // The API's answer, on this I/O thread or, for handlers that may block, on the slow pool.
  awaitable<HttpResponse> Handle(HttpRequest& req);
  awaitable<bool> WriteSimple(beast::tcp_stream& stream, unsigned version, bool keep_alive,
                              HttpResponse& res);
  awaitable<bool> WriteFile(beast::tcp_stream& stream, unsigned version, bool keep_alive,
                            HttpResponse& res);
  awaitable<void> StreamEvents(beast::tcp_stream& stream, const EventStreamReply& reply);
  awaitable<bool> WriteRaw(beast::tcp_stream& stream, std::string text);
  // After an answer sent before the body was read: the client may still be sending it, and a
  // close now would reset the connection before it reads the answer. A little of what it
  // sends is read and dropped (at most 1 MiB, for at most a second), never kept.
  awaitable<void> Linger(beast::tcp_stream& stream);
  awaitable<void> Reject(beast::tcp_stream& stream, http::status status, std::string code,
                         std::string message, std::string retry_after = "");
  // A streamed upload after its header: false when the connection must close.
  awaitable<bool> ReceiveUpload(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                http::request_parser<http::string_body>& header,
                                const std::string& remote);
};

awaitable<void> HttpServer::Impl::Accept() {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), kNoThrow);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors and the like: pause rather than spin.
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    auto ex = socket.get_executor();
    asio::co_spawn(ex, Session(std::move(socket)), asio::detached);
  }
}

awaitable<bool> HttpServer::Impl::WriteRaw(beast::tcp_stream& stream, std::string text) {
  stream.expires_after(options.write_timeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(text), kNoThrow);
  co_return !ec;
}

awaitable<void> HttpServer::Impl::Linger(beast::tcp_stream& stream) {
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(std::chrono::seconds(1));
  char sink[16384];
  size_t dropped = 0;
  while (dropped < (1u << 20)) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kNoThrow);
    if (ec) break;
    dropped += n;
  }
}

awaitable<void> HttpServer::Impl::Reject(beast::tcp_stream& stream, http::status status,
                                         std::string code, std::string message,
                                         std::string retry_after) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::content_type, "application/json");
  if (!retry_after.empty()) res.set(http::field::retry_after, retry_after);
  res.set(http::field::connection, "close");
  res.body() = ErrorBody(code, message);
  res.prepare_payload();
  stream.expires_after(std::chrono::seconds(5));
  co_await http::async_write(stream, res, kNoThrow);
  api.CountRequest("malformed", static_cast<int>(status));
}

awaitable<bool> HttpServer::Impl::WriteSimple(beast::tcp_stream& stream, unsigned version,
                                              bool keep_alive, HttpResponse& res) {
  http::response<http::string_body> out{static_cast<http::status>(res.status), version};
  out.set(http::field::server, "kiln/" KILN_VERSION);
  for (auto& [k, v] : res.headers) out.insert(k, v);
  out.body() = std::move(res.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  stream.expires_after(options.write_timeout);
  if (res.head_only) {
    http::response_serializer<http::string_body> sr{out};
    auto [ec, n] = co_await http::async_write_header(stream, sr, kNoThrow);
    co_return !ec;
  }
  auto [ec, n] = co_await http::async_write(stream, out, kNoThrow);
  co_return !ec;
}

awaitable<bool> HttpServer::Impl::WriteFile(beast::tcp_stream& stream, unsigned version,
                                            bool keep_alive, HttpResponse& res) {
  using namespace asio::experimental::awaitable_operators;
  const FileReply& f = *res.file;
  Fd file{::open(f.path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) {
    HttpResponse gone;
    gone.status = 404;
    gone.Set("Content-Type", "application/json");
    gone.body = ErrorBody("not-found", "the artifact disappeared");
    co_return co_await WriteSimple(stream, version, keep_alive, gone);
  }
  http::response<http::empty_body> out{static_cast<http::status>(res.status), version};
  out.set(http::field::server, "kiln/" KILN_VERSION);
  for (auto& [k, v] : res.headers) out.insert(k, v);
  out.content_length(f.length);
  out.keep_alive(keep_alive);
  http::response_serializer<http::empty_body> sr{out};
  stream.expires_after(options.write_timeout);
  auto [ec, n] = co_await http::async_write_header(stream, sr, kNoThrow);
  if (ec) co_return false;
  if (res.head_only) co_return true;
  // The body goes from the page cache to the socket by sendfile(2): no copies through us.
  stream.expires_never();
  tcp::socket& socket = stream.socket();
  socket.non_blocking(true);
  off_t offset = static_cast<off_t>(f.offset);
  uint64_t remaining = f.length;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (remaining > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(remaining, 1u << 30));
    ssize_t sent = ::sendfile(socket.native_handle(), file.fd, &offset, chunk);
    if (sent > 0) {
      remaining -= static_cast<uint64_t>(sent);
      continue;
    }
    if (sent == 0) co_return false;  // the file shrank under us
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) co_return false;
    timer.expires_after(options.write_timeout);
    auto result = co_await (socket.async_wait(tcp::socket::wait_write, kNoThrow) ||
                            timer.async_wait(kNoThrow));
    if (result.index() == 1) co_return false;  // the client stopped reading
    if (std::get<0>(std::get<0>(result))) co_return false;
  }
  co_return true;
}

awaitable<void> HttpServer::Impl::StreamEvents(beast::tcp_stream& stream,
                                               const EventStreamReply& reply) {
  Coordinator& co = api.coordinator();
  auto ex = co_await asio::this_coro::executor;
  auto watch = std::make_shared<Watch>(ex);
  uint64_t handle = co.hub().Subscribe(reply.build_id, [watch, ex] {
    asio::post(ex, [watch] {
      watch->pending = true;
      watch->timer.cancel();
    });
  });
  struct Unsubscribe {
    Coordinator& co;
    int64_t id;
    uint64_t handle;
    ~Unsubscribe() { co.hub().Unsubscribe(id, handle); }
  } unsubscribe{co, reply.build_id, handle};

  std::string head = "HTTP/1.1 200 OK\r\nServer: kiln/" KILN_VERSION
                     "\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                     "X-Accel-Buffering: no\r\nConnection: close\r\n\r\nretry: 2000\n\n";
  if (!co_await WriteRaw(stream, std::move(head))) co_return;
  int64_t after = reply.after_seq;
  for (;;) {
    watch->pending = false;
    std::vector<store::Event> events;
    std::optional<store::Build> build;
    try {
      events = co.store().EventsAfter(reply.build_id, after, 500);
      if (events.empty()) build = co.store().GetBuild(reply.build_id);
    } catch (const std::exception&) {
      co_return;  // the store failed: the client reconnects with Last-Event-ID
    }
    if (!events.empty()) {
      std::string text;
      for (const store::Event& e : events) {
        text +=
            "id: " + std::to_string(e.seq) + "\nevent: " + e.kind + "\ndata: " + e.data + "\n\n";
        after = e.seq;
      }
      if (!co_await WriteRaw(stream, std::move(text))) co_return;
      continue;
    }
    if (!build || IsFinal(build->state)) {
      // Everything is said: an "end" event tells the client not to reconnect.
      std::string state = build ? std::string(ToString(build->state)) : "deleted";
      co_await WriteRaw(stream, "event: end\ndata: {\"state\":\"" + state + "\"}\n\n");
      co_return;
    }
    if (watch->pending) continue;
    watch->timer.expires_after(options.event_keepalive);
    auto [ec] = co_await watch->timer.async_wait(kNoThrow);
    if (!ec && !watch->pending) {
      // Quiet for a while: a comment line keeps proxies from closing the stream and finds
      // clients that went away.
      if (!co_await WriteRaw(stream, ": keep-alive\n\n")) co_return;
    }
  }
}

awaitable<bool> HttpServer::Impl::ReceiveUpload(beast::tcp_stream& stream,
                                                beast::flat_buffer& buffer,
                                                http::request_parser<http::string_body>& header,
                                                const std::string& remote) {
  http::request<http::string_body>& breq = header.get();
  unsigned version = breq.version();
  HttpRequest head;
  if (!ToApiRequest(breq, remote, head)) {
    co_await Reject(stream, http::status::bad_request, "bad-target",
                    "the request target must be an absolute path with valid % escapes");
    co_return false;
  }
  UploadPlan plan;
  std::optional<HttpResponse> refused = co_await asio::co_spawn(
      slow,
      [this, &head, &plan]() -> awaitable<std::optional<HttpResponse>> {
        co_return api.BeginUpload(head, plan);
      },
      use_awaitable);
  if (refused) {
    // The body was not read: the connection cannot carry another request.
    api.CountRequest(Api::RouteLabel(head), refused->status);
    co_await WriteSimple(stream, version, false, *refused);
    co_return false;
  }
  if (ToLower(head.Header("expect")) == "100-continue") {
    if (!co_await WriteRaw(stream, "HTTP/1.1 100 Continue\r\n\r\n")) co_return false;
  }
  http::request_parser<http::file_body> body(std::move(header));
  body.body_limit(plan.length);
  beast::error_code ec;
  body.get().body().open(plan.partial.c_str(), beast::file_mode::append, ec);
  if (ec) {
    HttpResponse r;
    r.status = 507;
    r.body = ErrorBody("upload-failed", "cannot write " + plan.name + ": " + ec.message());
    r.Set("Content-Type", "application/json");
    co_await WriteSimple(stream, version, false, r);
    co_return false;
  }
  // Any pace is fine while bytes keep coming; a sender quiet for the idle timeout is gone.
  while (!body.is_done()) {
    stream.expires_after(options.idle_timeout);
    auto [rec, n] = co_await http::async_read_some(stream, buffer, body, kNoThrow);
    if (rec) {
      ec = rec;
      break;
    }
  }
  body.get().body().close();
  if (ec == boost::system::errc::no_space_on_device || ec == boost::system::errc::io_error) {
    // The master's disk, not the connection: say so (what arrived is kept for a resume).
    HttpResponse full;
    full.status = 507;
    full.body =
        ErrorBody("upload-failed", "the master cannot store " + plan.name + ": " + ec.message());
    full.Set("Content-Type", "application/json");
    api.CountRequest(Api::RouteLabel(head), full.status);
    co_await WriteSimple(stream, version, false, full);
    co_return false;
  }
  bool complete = !ec && body.is_done();
  HttpResponse res = co_await asio::co_spawn(
      slow,
      [this, &plan, complete]() -> awaitable<HttpResponse> {
        co_return api.FinishUpload(plan, complete);
      },
      use_awaitable);
  api.CountRequest(Api::RouteLabel(head), res.status);
  if (!complete) co_return false;  // the sender went away; what arrived is kept for a resume
  bool keep_alive = body.get().keep_alive();
  co_return co_await WriteSimple(stream, version, keep_alive, res) && keep_alive;
}

awaitable<void> HttpServer::Impl::Session(tcp::socket socket) {
  struct Count {
    std::atomic<int>& n;
    ~Count() { --n; }
  } count{connections};
  if (++connections > options.max_connections) {
    beast::tcp_stream stream(std::move(socket));
    co_await Reject(stream, http::status::service_unavailable, "too-many-connections",
                    "the server has too many open connections; retry later");
    co_return;
  }
  beast::error_code peer_ec;
  std::string remote = socket.remote_endpoint(peer_ec).address().to_string();
  if (!limits.OpenConnection(remote)) {
    beast::tcp_stream stream(std::move(socket));
    co_await Reject(stream, http::status::service_unavailable, "too-many-connections",
                    "too many open connections from your address; close some and retry");
    co_return;
  }
  struct Opened {
    AddressLimits& limits;
    const std::string& address;
    ~Opened() { limits.CloseConnection(address); }
  } opened{limits, remote};
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (bool first = true; co_await ServeRequest(stream, buffer, remote, first); first = false) {
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

awaitable<bool> HttpServer::Impl::ServeRequest(beast::tcp_stream& stream,
                                               beast::flat_buffer& buffer,
                                               const std::string& remote, bool first) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
  parser.body_limit(options.body_limit);
  // Slow clients (slow-loris) get a deadline for the whole request, not per byte; an idle
  // keep-alive connection gets the idle timeout for its next request.
  stream.expires_after(first ? options.request_deadline : options.idle_timeout);
  auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
  if (!ec && !limits.TakeRequest(remote)) {
    co_await Reject(stream, http::status::too_many_requests, "too-many-requests",
                    "too many requests from your address; slow down", "1");
    co_return false;
  }
  if (!ec && !parser.is_done()) {
    // Strangers' bodies cost nothing: past a few KiB, the credentials come first.
    auto length = parser.content_length();  // boost::optional
    if (!length || *length > options.unauthenticated_body_limit) {
      std::optional<HttpResponse> refused =
          api.RefuseUnauthenticated(HeadOf(parser.get(), &remote));
      if (refused) {
        api.CountRequest(Api::RouteLabel(HeadOf(parser.get())), refused->status);
        co_await WriteSimple(stream, parser.get().version(), false, *refused);
        co_await Linger(stream);
        co_return false;
      }
    }
  }
  if (!ec && Api::IsUpload(HeadOf(parser.get()))) {
    // A worker's artifact: streamed to a file, never held in memory or held to the
    // request deadline.
    co_return co_await ReceiveUpload(stream, buffer, parser, remote);
  }
  if (!ec && !parser.is_done()) {
    std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, kNoThrow);
  }
  if (ec) {
    co_await RejectReadError(stream, ec);
    co_return false;
  }
  http::request<http::string_body> breq = parser.release();
  bool keep_alive = breq.keep_alive();
  unsigned version = breq.version();
  HttpRequest req;
  if (!ToApiRequest(breq, remote, req)) {
    co_await Reject(stream, http::status::bad_request, "bad-target",
                    "the request target must be an absolute path with valid % escapes");
    co_return false;
  }
  HttpResponse res = co_await Handle(req);
  if (res.events) {
    co_await StreamEvents(stream, *res.events);
    co_return false;
  }
  bool ok = res.file ? co_await WriteFile(stream, version, keep_alive, res)
                     : co_await WriteSimple(stream, version, keep_alive, res);
  co_return ok&& keep_alive;
}

awaitable<void> HttpServer::Impl::RejectReadError(beast::tcp_stream& stream, beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::connection_reset || ec == asio::error::eof) {
    co_return;  // the client went away or went quiet: nobody to answer
  }
  if (ec == http::error::body_limit) {
    co_await Reject(
        stream, http::status::payload_too_large, "body-too-large",
        "the body is larger than the limit of " + std::to_string(options.body_limit) + " bytes");
  } else if (ec == http::error::header_limit) {
    co_await Reject(stream, http::status::request_header_fields_too_large, "headers-too-large",
                    "the request headers are too large");
  } else {
    co_await Reject(stream, http::status::bad_request, "bad-request",
                    "malformed HTTP request: " + ec.message());
  }
}

awaitable<HttpResponse> HttpServer::Impl::Handle(HttpRequest& req) {
  // Quick handlers (store reads, the worker protocol, JSON submits) run here; others (password
  // hashing, kickstart URL fetches) run on the slow pool so that they never hold up an I/O
  // thread.
  HttpResponse res;
  size_t body_bytes = req.body.size();  // a handler may take the body
  bool quick = Api::IsQuick(req);
  if (quick) {
    req.may_block = false;
    res = api.Handle(req);
    quick = res.status != kOnSlowPool;  // it needs the network after all
    req.may_block = true;
  }
  if (!quick) {
    // co_spawn runs the handler on the pool; this coroutine resumes on its own strand.
    res = co_await asio::co_spawn(
        slow, [this, &req]() -> awaitable<HttpResponse> { co_return api.Handle(req); },
        use_awaitable);
  }
  api.CountRequest(Api::RouteLabel(req), res.status);
  // A large body's request leaves its small blocks (a parsed kickstart's lines and
  // commands) free in the arenas of the threads that handled it: given back to the system,
  // so that the next large request does not stack on top of them.
  if (body_bytes > kLargeBody) malloc_trim(0);
  co_return res;
}

HttpServer::HttpServer(Api& api, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(api, std::move(options))) {}

HttpServer::~HttpServer() {
  Stop();
  impl_->slow.join();
}

Status HttpServer::Listen() {
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->options.address, ec);
  if (ec) {
    return Status::Error("'" + impl_->options.address + "' is not an IP address");
  }
  tcp::endpoint endpoint(address, impl_->options.port);
  tcp::acceptor& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Error("cannot listen on " + impl_->options.address + ":" +
                         std::to_string(impl_->options.port) + ": " + ec.message());
  }
  return Status::Ok();
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void HttpServer::Run() {
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  std::vector<std::thread> threads;
  for (int i = 1; i < impl_->options.threads; ++i) {
    threads.emplace_back([this] { impl_->io.run(); });
  }
  impl_->io.run();
  for (std::thread& t : threads) t.join();
}

void HttpServer::Stop() { impl_->io.stop(); }

}  // namespace kiln::server
