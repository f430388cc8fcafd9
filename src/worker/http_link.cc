#include "worker/http_link.h"

#include <curl/curl.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "protocol/worker_messages.h"
#include "sys/files.h"

namespace kiln::worker {
namespace fs = std::filesystem;
using nlohmann::json;

class HttpLink::Handle {
 public:
  Handle() : curl_(curl_easy_init()) {
    if (curl_ == nullptr) throw LinkError("cannot create an HTTP client handle");
  }
  ~Handle() { curl_easy_cleanup(curl_); }
  CURL* get() { return curl_; }

 private:
  CURL* curl_;
};

namespace {

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t ReadFile(char* buffer, size_t size, size_t n, void* file) {
  return fread(buffer, size, n, static_cast<FILE*>(file));
}

struct Headers {
  curl_slist* list = nullptr;
  ~Headers() { curl_slist_free_all(list); }
  void Add(const std::string& h) { list = curl_slist_append(list, h.c_str()); }
};

// The error message of a JSON error reply, or the status.
std::string ErrorOf(const HttpLink::Reply& r) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    return j["error"].value("message", "") + " (HTTP " + std::to_string(r.status) + ")";
  }
  return "HTTP " + std::to_string(r.status);
}

// The ticket of a claim's answer (nullopt: nothing to claim, or not claimable).
std::optional<protocol::JobTicket> TicketOf(const HttpLink::Reply& r) {
  if (r.status == 409 || r.status == 204) return std::nullopt;
  if (r.status != 200) throw LinkError("claim: " + ErrorOf(r));
  Result<protocol::JobTicket> ticket = protocol::DecodeTicket(json::parse(r.body, nullptr, false));
  if (!ticket.ok()) throw LinkError("claim: " + ticket.message());
  return *std::move(ticket);
}

}  // namespace

HttpLink::HttpLink(std::string master_url, std::string token, std::string worker_id,
                   fs::path work_dir)
    : master_url_(std::move(master_url)),
      token_(std::move(token)),
      worker_id_(std::move(worker_id)),
      work_dir_(std::move(work_dir)) {
  while (!master_url_.empty() && master_url_.back() == '/') master_url_.pop_back();
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

HttpLink::~HttpLink() = default;

std::unique_ptr<HttpLink::Handle> HttpLink::Take() {
  MutexLock lock(pool_mu_);
  if (pool_.empty()) return std::make_unique<Handle>();
  std::unique_ptr<Handle> h = std::move(pool_.back());
  pool_.pop_back();
  return h;
}

void HttpLink::Give(std::unique_ptr<Handle> handle) {
  MutexLock lock(pool_mu_);
  pool_.push_back(std::move(handle));
}

HttpLink::Reply HttpLink::Post(const std::string& path, const std::string& json_body) {
  std::unique_ptr<Handle> h = Take();
  CURL* c = h->get();
  curl_easy_reset(c);  // keeps the connection cache
  std::string url = master_url_ + path;
  Reply reply;
  Headers headers;
  headers.Add("Authorization: Bearer " + token_);
  headers.Add("Content-Type: application/json");
  headers.Add("Expect:");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json_body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    // A broken connection leaves nothing worth keeping in the handle.
    throw LinkError("cannot reach the master at " + master_url_ + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  Give(std::move(h));
  if (reply.status >= 500) throw LinkError(url + ": " + ErrorOf(reply));
  if (reply.status == 401 || reply.status == 403) {
    throw LinkError(url + ": the master refused the worker token: " + ErrorOf(reply) +
                    "; create one with `kiln token create --worker NAME`");
  }
  return reply;
}

HttpLink::Reply HttpLink::Put(const std::string& path, const fs::path& file, uint64_t offset,
                              uint64_t size, const std::string& sha256) {
  FILE* in = fopen(file.c_str(), "rb");
  if (in == nullptr) throw std::runtime_error("cannot read " + file.string());
  struct Close {
    FILE* f;
    ~Close() { fclose(f); }
  } close_file{in};
  if (fseeko(in, static_cast<off_t>(offset), SEEK_SET) != 0) {
    throw std::runtime_error("cannot seek in " + file.string());
  }
  std::unique_ptr<Handle> h = Take();
  CURL* c = h->get();
  curl_easy_reset(c);
  std::string url = master_url_ + path;
  Reply reply;
  Headers headers;
  headers.Add("Authorization: Bearer " + token_);
  headers.Add("Content-Type: application/octet-stream");
  headers.Add("X-Kiln-Sha256: " + sha256);
  headers.Add("Expect:");
  if (size > 0) {
    headers.Add("Content-Range: bytes " + std::to_string(offset) + "-" + std::to_string(size - 1) +
                "/" + std::to_string(size));
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadFile);
  curl_easy_setopt(c, CURLOPT_READDATA, in);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size - offset));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  // Any size at any pace, as long as it moves: 15 s without a byte is a dead connection (a
  // dropped NAT entry, a peer gone without a reset). Giving up early costs little, since the
  // next try resumes where the master's copy ends.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 15L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    throw LinkError("uploading " + file.filename().string() + " to " + master_url_ + ": " +
                    curl_easy_strerror(rc));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  Give(std::move(h));
  if (reply.status >= 500) throw LinkError(url + ": " + ErrorOf(reply));
  return reply;
}

void HttpLink::Register(const protocol::WorkerInfo& w) {
  Reply r = Post("/api/v1/worker/register", protocol::EncodeRegister(w));
  if (r.status != 200) throw LinkError("register: " + ErrorOf(r));
}

void HttpLink::Alive(const std::string& worker) {
  Post("/api/v1/worker/alive", protocol::EncodeAlive(worker));
}

std::optional<protocol::JobTicket> HttpLink::ClaimNext(const protocol::WorkerCaps& caps,
                                                       int64_t lease_ms) {
  return TicketOf(Post("/api/v1/worker/claim", protocol::EncodeClaim(caps, lease_ms)));
}

std::optional<protocol::JobTicket> HttpLink::ClaimBuild(int64_t id,
                                                        const protocol::WorkerCaps& caps,
                                                        int64_t lease_ms) {
  std::string key = caps.worker + "\n" + caps.arches + "\n" + caps.releases + "\n" + caps.types +
                    "\n" + std::to_string(lease_ms);
  return claims_.Call(
      ClaimCall{id, caps, lease_ms}, std::move(key),
      [this](const std::vector<const ClaimCall*>& calls) { return SendClaims(calls); });
}

std::vector<std::optional<protocol::JobTicket>> HttpLink::SendClaims(
    const std::vector<const ClaimCall*>& calls) {
  const ClaimCall& first = *calls.front();
  if (calls.size() == 1) {
    return {TicketOf(Post("/api/v1/worker/" + std::to_string(first.id) + "/claim",
                          protocol::EncodeClaim(first.caps, first.lease_ms)))};
  }
  std::vector<int64_t> ids;
  for (const ClaimCall* c : calls) ids.push_back(c->id);
  Reply r = Post("/api/v1/worker/claims", protocol::EncodeClaims(first.caps, first.lease_ms, ids));
  if (r.status != 200) throw LinkError("claims: " + ErrorOf(r));
  Result<std::vector<std::optional<protocol::JobTicket>>> tickets =
      protocol::DecodeClaimsAnswer(json::parse(r.body, nullptr, false), ids);
  if (!tickets.ok()) throw LinkError("claims: " + tickets.message());
  return *std::move(tickets);
}

protocol::LeaseStatus HttpLink::Heartbeat(int64_t id, int attempt, const std::string& worker,
                                          int64_t lease_ms) {
  Reply r = Post("/api/v1/worker/" + std::to_string(id) + "/heartbeat",
                 protocol::EncodeHeartbeat({worker, attempt, lease_ms}));
  if (r.status != 200) throw LinkError("heartbeat: " + ErrorOf(r));
  return protocol::DecodeLeaseAnswer(json::parse(r.body, nullptr, false));
}

bool HttpLink::Report(int64_t id, int attempt, const std::vector<protocol::Event>& events,
                      const std::optional<protocol::Progress>& latest) {
  Reply r = Post("/api/v1/worker/" + std::to_string(id) + "/events",
                 protocol::EncodeEvents({worker_id_, attempt, 0}, events, latest));
  if (r.status == 409) return false;
  if (r.status != 200) throw LinkError("events: " + ErrorOf(r));
  return true;
}

Status HttpLink::AddArtifact(int64_t id, int attempt, const fs::path& file) {
  std::string sha;
  if (!sys::Sha256File(file, sha)) return Status::Error("cannot read " + file.string());
  std::error_code ec;
  uint64_t size = fs::file_size(file, ec);
  std::string name = file.filename().string();
  std::string base = "/api/v1/worker/" + std::to_string(id);
  for (int mismatches = 0, rounds = 0; rounds < 10; ++rounds) {
    // Resume from what the master already has (a previous try may have broken off).
    Reply status =
        Post(base + "/upload-status", protocol::EncodeUploadStatus({worker_id_, attempt, 0}, name));
    if (status.status == 409) return Status::Error(ErrorOf(status));
    uint64_t offset = 0;
    if (status.status == 200) {
      offset = protocol::DecodeUploadStatusAnswer(json::parse(status.body, nullptr, false));
    }
    if (offset >= size) offset = 0;  // the whole file again (or an empty one)
    char* escaped = curl_easy_escape(nullptr, worker_id_.c_str(), 0);
    std::string worker_q = escaped != nullptr ? escaped : worker_id_;
    curl_free(escaped);
    Reply r = Put(
        base + "/artifacts/" + name + "?worker=" + worker_q + "&attempt=" + std::to_string(attempt),
        file, offset, size, sha);
    if (r.status == 201) return Status::Ok();
    if (r.status == 202 || r.status == 416) continue;   // ask again where to start
    if (r.status == 422 && ++mismatches < 2) continue;  // damaged on the way: once more
    return Status::Error(name + ": " + ErrorOf(r));
  }
  return Status::Error(name + ": the upload did not complete after 10 tries");
}

bool HttpLink::Finish(int64_t id, int attempt, const std::string& worker,
                      const protocol::JobResult& result,
                      const std::vector<protocol::Event>& last_events) {
  return results_.Call(
      ResultCall{id, attempt, worker, &result, &last_events}, worker,
      [this](const std::vector<const ResultCall*>& calls) { return SendResults(calls); });
}

std::vector<bool> HttpLink::SendResults(const std::vector<const ResultCall*>& calls) {
  const ResultCall& first = *calls.front();
  if (calls.size() == 1) {
    Reply r = Post("/api/v1/worker/" + std::to_string(first.id) + "/result",
                   protocol::EncodeResult({first.worker, first.attempt, 0}, *first.result,
                                          *first.last_events));
    if (r.status == 409) return {false};
    if (r.status != 200) throw LinkError("result: " + ErrorOf(r));
    return {true};
  }
  std::vector<protocol::AttemptResult> results;
  std::vector<int64_t> ids;
  for (const ResultCall* c : calls) {
    results.push_back({c->id, c->attempt, *c->result, *c->last_events});
    ids.push_back(c->id);
  }
  Reply r = Post("/api/v1/worker/results", protocol::EncodeResults(first.worker, results));
  if (r.status != 200) throw LinkError("results: " + ErrorOf(r));
  Result<std::vector<bool>> recorded =
      protocol::DecodeResultsAnswer(json::parse(r.body, nullptr, false), ids);
  if (!recorded.ok()) throw LinkError("results: " + recorded.message());
  return *std::move(recorded);
}

bool HttpLink::HandBack(int64_t id, int attempt, const std::string& worker) {
  Reply r = Post("/api/v1/worker/" + std::to_string(id) + "/handback",
                 protocol::EncodeHandBack({worker, attempt, 0}));
  if (r.status == 409) return false;
  if (r.status != 200) throw LinkError("handback: " + ErrorOf(r));
  return true;
}

fs::path HttpLink::AttemptDir(int64_t id, int attempt) {
  return work_dir_ / (std::to_string(id) + "-" + std::to_string(attempt));
}

}  // namespace kiln::worker
