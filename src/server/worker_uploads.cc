// Artifact uploads of the worker protocol: PUT /api/v1/worker/{id}/artifacts/{name}, streamed
// by the server to a partial file (resumable with Content-Range), checked by size and SHA-256
// before the artifact is stored; or whole in one request's body (in-process callers).
#include <charconv>
#include <fstream>

#include "core/grammar.h"
#include "core/text.h"
#include "server/handlers.h"
#include "server/json_reply.h"
#include "server/worker_api.h"
#include "sys/files.h"

namespace kiln::server {

namespace {

bool ParseU64(std::string_view text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::filesystem::path PartialPath(Coordinator& co, int64_t id, int attempt,
                                  const std::string& name) {
  return co.AttemptDir(id, attempt) / "upload" / (name + ".part");
}

uint64_t FileSizeOr0(const std::filesystem::path& path) {
  std::error_code ec;
  uint64_t n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

}  // namespace

uint64_t ReceivedUploadBytes(Coordinator& co, int64_t id, int attempt, const std::string& name) {
  return FileSizeOr0(PartialPath(co, id, attempt, name));
}

HttpResponse WorkerUpload(RequestContext& ctx) {
  UploadPlan plan;
  if (std::optional<HttpResponse> refused =
          BeginWorkerUpload(ctx.co, ctx.req, ctx.WorkerName(), plan)) {
    return *refused;
  }
  if (ctx.req.body.size() != plan.length) {
    return ErrorReply(400, "bad-upload", "the body is not the Content-Length it announced");
  }
  std::ofstream out(plan.partial, std::ios::binary | std::ios::app);
  out.write(ctx.req.body.data(), static_cast<std::streamsize>(ctx.req.body.size()));
  out.close();
  if (!out) return ErrorReply(507, "upload-failed", "the master cannot store " + plan.name);
  return FinishWorkerUpload(ctx.co, plan, /*body_complete=*/true);
}

std::optional<HttpResponse> BeginWorkerUpload(Coordinator& co, const HttpRequest& head,
                                              const std::string& token_worker, UploadPlan& plan) {
  std::vector<std::string_view> p = SplitPath(head.path);
  // api v1 worker ID artifacts NAME
  uint64_t id = 0;
  if (p.size() != 6 || !ParseU64(p[3], id) || id == 0 || id > INT64_MAX) {
    return ErrorReply(404, "not-found", "no such upload route: " + head.path);
  }
  plan.build_id = static_cast<int64_t>(id);
  plan.name = std::string(p[5]);
  if (!IsPlainFileName(plan.name)) {
    return ErrorReply(
        400, "bad-name",
        "artifact names are letters, digits, '.', '-', '_' and '+' (not " + plan.name + ")");
  }
  std::string claimed = head.Query("worker").value_or("");
  plan.worker = BoundWorkerId(token_worker, claimed);
  uint64_t attempt = 0;
  if (claimed.empty() || !ParseU64(head.Query("attempt").value_or(""), attempt) || attempt == 0) {
    return ErrorReply(400, "bad-upload", "an upload names ?worker=ID&attempt=N");
  }
  plan.attempt = static_cast<int>(attempt);
  plan.sha256 = ToLower(head.Header("x-kiln-sha256"));
  if (plan.sha256.size() != 64 ||
      plan.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return ErrorReply(400, "bad-upload",
                      "X-Kiln-Sha256 must be the file's SHA-256 (64 hex digits)");
  }
  if (!head.Header("transfer-encoding").empty() ||
      !ParseU64(head.Header("content-length"), plan.length)) {
    return ErrorReply(411, "length-required", "an upload is sent with a Content-Length");
  }
  std::string_view range = head.Header("content-range");
  plan.offset = 0;
  plan.total = plan.length;
  if (!range.empty()) {
    // bytes START-END/TOTAL
    uint64_t start = 0, end = 0;
    size_t dash = range.find('-'), slash = range.find('/');
    if (range.substr(0, 6) != "bytes " || dash == std::string_view::npos ||
        slash == std::string_view::npos || slash < dash ||
        !ParseU64(range.substr(6, dash - 6), start) ||
        !ParseU64(range.substr(dash + 1, slash - dash - 1), end) ||
        !ParseU64(range.substr(slash + 1), plan.total) || end < start ||
        end - start + 1 != plan.length || end >= plan.total) {
      return ErrorReply(400, "bad-range",
                        "Content-Range must be 'bytes START-END/TOTAL' matching Content-Length");
    }
    plan.offset = start;
  }
  if (!co.HoldsAttempt(plan.build_id, plan.attempt, plan.worker)) {
    return ErrorReply(409, "attempt-not-current",
                      "attempt " + std::to_string(plan.attempt) + " of build " +
                          std::to_string(plan.build_id) + " is not running on " + plan.worker,
                      "stop working on it; it was canceled, finished or given to another worker");
  }
  plan.partial = PartialPath(co, plan.build_id, plan.attempt, plan.name);
  std::error_code ec;
  std::filesystem::create_directories(plan.partial.parent_path(), ec);
  uint64_t have = FileSizeOr0(plan.partial);
  if (plan.offset == 0 && have > 0) {
    std::filesystem::remove(plan.partial, ec);  // starting over
    have = 0;
  }
  if (plan.offset != have) {
    HttpResponse r = ErrorReply(
        416, "bad-offset",
        "the master has " + std::to_string(have) + " bytes of " + plan.name + "; send from there",
        "ask upload-status and resume from \"received\"");
    return r;
  }
  return std::nullopt;
}

HttpResponse FinishWorkerUpload(Coordinator& co, const UploadPlan& plan, bool body_complete) {
  uint64_t have = FileSizeOr0(plan.partial);
  if (!body_complete || have < plan.total) {
    return JsonReply(202, {{"name", plan.name}, {"received", have}, {"total", plan.total}});
  }
  std::error_code ec;
  std::string sha;
  if (have != plan.total || !sys::Sha256File(plan.partial, sha) || sha != plan.sha256) {
    std::filesystem::remove(plan.partial, ec);
    return ErrorReply(422, "checksum-mismatch",
                      plan.name + " arrived with " + std::to_string(have) + " bytes and SHA-256 " +
                          sha + ", not " + std::to_string(plan.total) + " bytes with " +
                          plan.sha256,
                      "send the whole file again");
  }
  std::filesystem::path final_path = plan.partial.parent_path() / plan.name;
  std::filesystem::rename(plan.partial, final_path, ec);
  Status added = ec ? Status::Error(ec.message())
                    : co.AddArtifact(plan.build_id, plan.attempt, final_path, sha);
  if (!added.ok()) {
    std::filesystem::remove(final_path, ec);
    return ErrorReply(409, "attempt-not-current", added.message());
  }
  return JsonReply(201, {{"name", plan.name}, {"size", have}, {"sha256", sha}});
}

}  // namespace kiln::server
