// The worker protocol (DESIGN §5) over HTTP, for build hosts that are not the master:
// /api/v1/worker/... — register, claim (the next build it can do, or a named one), heartbeat
// (which carries cancel requests back), event batches, streamed artifact uploads (resumable,
// SHA-256 checked), result, hand-back. Callers are worker or admin tokens. The handlers of
// its routes are in server/handlers.h; these are what the server's upload streaming uses.
#pragma once

#include <optional>

#include "server/coordinator.h"
#include "server/http_types.h"

namespace kiln::server {

// The worker id a call acts as: a worker token's calls are bound to its worker name (an id
// the call gives that is not NAME or NAME/... becomes "NAME/ID", so one build host's token
// cannot act as another host's workers); an admin's (`token_worker` "") are taken as given.
std::string BoundWorkerId(const std::string& token_worker, const std::string& claimed);

// PUT /api/v1/worker/{id}/artifacts/{name}?worker=W&attempt=N, headers Content-Length,
// X-Kiln-Sha256 (of the whole file) and, to resume, Content-Range: bytes START-END/TOTAL.
// Checked on the headers: the attempt must be the worker's, START must be what the master
// has. Then the body is streamed to plan.partial and FinishWorkerUpload stores the artifact
// once the whole file is there and its SHA-256 matches.
std::optional<HttpResponse> BeginWorkerUpload(Coordinator& coordinator, const HttpRequest& head,
                                              const std::string& token_worker, UploadPlan& plan);
HttpResponse FinishWorkerUpload(Coordinator& coordinator, const UploadPlan& plan,
                                bool body_complete);
// The bytes of an artifact the master has so far (where a dropped upload resumes from).
uint64_t ReceivedUploadBytes(Coordinator& coordinator, int64_t id, int attempt,
                             const std::string& name);

}  // namespace kiln::server
