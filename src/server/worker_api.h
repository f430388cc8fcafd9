// The worker protocol (DESIGN §5) over HTTP, for build hosts that are not the master:
// /api/v1/worker/... — register, claim (the next build it can do, or a named one), heartbeat
// (which carries cancel requests back), event batches, result, hand-back. Callers are worker
// or admin tokens. Artifact upload comes with remote workers (issue 5).
#pragma once

#include <optional>

#include "server/coordinator.h"
#include "server/http_types.h"

namespace kiln::server {

// Answers a request under /api/v1/worker/ from an authenticated worker or admin, or nullopt if
// the path is not one of these routes.
std::optional<HttpResponse> RouteWorkerApi(Coordinator& coordinator, const HttpRequest& request);

}  // namespace kiln::server
