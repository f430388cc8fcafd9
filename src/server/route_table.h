// Every HTTP route `kiln serve` answers, in one table: method, path pattern, who may call it,
// where it runs and its handler. Routing, 405 answers with their Allow header, the metrics
// label, the I/O-thread-or-pool decision, the streamed-upload decision and the access check
// are all read from it, so a new route is one line here and one handler.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "server/http_types.h"

namespace kiln::server {

struct RequestContext;  // server/request_context.h: what a handler gets

// Who may call a route.
enum class Access {
  kOpen,      // anyone (health, sign-in)
  kSignedIn,  // a user or an admin, by token or browser session; never a worker token
  kPage,      // a web page for kSignedIn: a signed-out browser is sent to /login (303)
  kAdmin,     // an admin
  kWorker,    // a worker token (its calls are bound to its worker name), or an admin
};

// Where the server runs a route's handler.
enum class Runs {
  kOnIoThread,  // only touches the store: run at once on the I/O thread that read it
  kOnPool,      // may wait (hashing, the network, large bodies): on the worker pool
  // A JSON submit with a token: parsing and one commit, on the I/O thread while the body is
  // small; should its kickstart name a URL it answers kOnSlowPool and runs again on the pool.
  kOnIoThreadIfSmallJson,
};

using RouteHandler = HttpResponse (*)(RequestContext&);

struct Route {
  std::string_view method;   // "GET", "HEAD", "POST", "PUT", "DELETE"
  std::string_view pattern;  // "/api/v1/builds/{id}/artifacts/{name}": {x} is one segment
  Access access;
  Runs runs;
  RouteHandler handler;
  // The body is streamed to a file, checked on the headers first (Api::BeginUpload).
  bool upload = false;
};

// A request's place in the table.
struct RouteMatch {
  const Route* route = nullptr;  // the route for the path and method, if there is one
  // The most specific pattern the path matched (its metrics label), whatever the method;
  // empty if no pattern did.
  std::string_view pattern;
  std::string allowed;  // the methods of that pattern ("GET, DELETE"), for a 405
  // The path's {id} and {name} segments.
  std::string_view id, name;
};

// Literal segments win over {x} ones: /api/v1/builds/batch is not build "batch".
RouteMatch MatchRoute(std::string_view method, std::string_view path);

// The whole table, in order (docs/openapi.yaml documents each pattern).
std::span<const Route> Routes();

}  // namespace kiln::server
