#include "worker/http_link.h"

#include <curl/curl.h>

#include <cstdio>
#include <nlohmann/json.hpp>

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

server::JobTicket TicketFrom(const json& j) {
  if (!j.is_object() || !j.contains("build_id") || !j.contains("spec")) {
    throw LinkError("claim: the master's answer is not a ticket");
  }
  const json& spec = j["spec"];
  return server::JobTicket{j["build_id"].get<int64_t>(), j["attempt"].get<int>(), spec.dump(),
                           spec.is_object() && spec.value("dry_run", false)};
}

std::optional<server::JobTicket> TicketOf(const HttpLink::Reply& r) {
  if (r.status == 409 || r.status == 204) return std::nullopt;
  if (r.status != 200) throw LinkError("claim: " + ErrorOf(r));
  return TicketFrom(json::parse(r.body, nullptr, false));
}

json EventsJson(const std::vector<store::Store::NewEvent>& events) {
  json list = json::array();
  for (const store::Store::NewEvent& e : events) {
    list.push_back({{"kind", e.kind}, {"data", json::parse(e.data, nullptr, false)}});
  }
  return list;
}

json ResultJson(const server::JobResult& result, int attempt,
                const std::vector<store::Store::NewEvent>& last_events) {
  json body = {{"attempt", attempt},
               {"state", ToString(result.state)},
               {"error_code", result.error_code},
               {"error_class", result.error_class},
               {"error_message", result.error_message},
               {"error_hint", result.error_hint}};
  if (!last_events.empty()) body["events"] = EventsJson(last_events);
  return body;
}

json CapsJson(const store::WorkerCaps& caps, int64_t lease_ms) {
  return {{"worker", caps.worker},
          {"arches", caps.arches},
          {"releases", caps.releases},
          {"types", caps.types},
          {"lease_ms", lease_ms}};
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
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (pool_.empty()) return std::make_unique<Handle>();
  std::unique_ptr<Handle> h = std::move(pool_.back());
  pool_.pop_back();
  return h;
}

void HttpLink::Give(std::unique_ptr<Handle> handle) {
  std::lock_guard<std::mutex> lock(pool_mu_);
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

void HttpLink::Register(const store::Worker& w) {
  Reply r = Post("/api/v1/worker/register", json({{"worker", w.id},
                                                  {"arches", w.arches},
                                                  {"releases", w.releases},
                                                  {"types", w.types},
                                                  {"version", w.version},
                                                  {"capacity", w.capacity}})
                                                .dump());
  if (r.status != 200) throw LinkError("register: " + ErrorOf(r));
}

void HttpLink::Alive(const std::string& worker) {
  Post("/api/v1/worker/alive", json({{"worker", worker}}).dump());
}

std::optional<server::JobTicket> HttpLink::ClaimNext(const store::WorkerCaps& caps,
                                                     int64_t lease_ms) {
  return TicketOf(Post("/api/v1/worker/claim", CapsJson(caps, lease_ms).dump()));
}

std::optional<server::JobTicket> HttpLink::ClaimBuild(int64_t id, const store::WorkerCaps& caps,
                                                      int64_t lease_ms) {
  std::string key = caps.worker + "\n" + caps.arches + "\n" + caps.releases + "\n" + caps.types +
                    "\n" + std::to_string(lease_ms);
  return claims_.Call(
      ClaimCall{id, caps, lease_ms}, std::move(key),
      [this](const std::vector<const ClaimCall*>& calls) { return SendClaims(calls); });
}

std::vector<std::optional<server::JobTicket>> HttpLink::SendClaims(
    const std::vector<const ClaimCall*>& calls) {
  const ClaimCall& first = *calls.front();
  if (calls.size() == 1) {
    return {TicketOf(Post("/api/v1/worker/" + std::to_string(first.id) + "/claim",
                          CapsJson(first.caps, first.lease_ms).dump()))};
  }
  json body = CapsJson(first.caps, first.lease_ms);
  body["builds"] = json::array();
  for (const ClaimCall* c : calls) body["builds"].push_back(c->id);
  Reply r = Post("/api/v1/worker/claims", body.dump());
  json answer = json::parse(r.body, nullptr, false);
  if (r.status != 200 || !answer.is_object() || !answer.contains("claimed") ||
      !answer["claimed"].is_array()) {
    throw LinkError("claims: " + ErrorOf(r));
  }
  std::vector<std::optional<server::JobTicket>> tickets(calls.size());
  for (const json& t : answer["claimed"]) {
    server::JobTicket ticket = TicketFrom(t);
    for (size_t i = 0; i < calls.size(); ++i) {
      if (calls[i]->id == ticket.build_id) tickets[i] = ticket;
    }
  }
  return tickets;
}

store::LeaseStatus HttpLink::Heartbeat(int64_t id, int attempt, const std::string& worker,
                                       int64_t lease_ms) {
  Reply r = Post("/api/v1/worker/" + std::to_string(id) + "/heartbeat",
                 json({{"worker", worker}, {"attempt", attempt}, {"lease_ms", lease_ms}}).dump());
  if (r.status != 200) throw LinkError("heartbeat: " + ErrorOf(r));
  std::string lease = json::parse(r.body, nullptr, false).value("lease", "");
  if (lease == "held") return store::LeaseStatus::kHeld;
  if (lease == "cancel") return store::LeaseStatus::kCancelRequested;
  return store::LeaseStatus::kLost;
}

bool HttpLink::Report(int64_t id, int attempt, const std::vector<store::Store::NewEvent>& events,
                      const std::optional<server::Coordinator::Progress>& latest) {
  json body = {{"worker", worker_id_}, {"attempt", attempt}, {"events", EventsJson(events)}};
  if (latest) body["progress"] = {{"stage", latest->stage}, {"fraction", latest->fraction}};
  Reply r = Post("/api/v1/worker/" + std::to_string(id) + "/events",
                 body.dump(-1, ' ', false, json::error_handler_t::replace));
  if (r.status == 409) return false;
  if (r.status != 200) throw LinkError("events: " + ErrorOf(r));
  return true;
}

bool HttpLink::AddArtifact(int64_t id, int attempt, const fs::path& file, std::string& error) {
  std::string sha;
  if (!sys::Sha256File(file, sha)) {
    error = "cannot read " + file.string();
    return false;
  }
  std::error_code ec;
  uint64_t size = fs::file_size(file, ec);
  std::string name = file.filename().string();
  std::string base = "/api/v1/worker/" + std::to_string(id);
  for (int mismatches = 0, rounds = 0; rounds < 10; ++rounds) {
    // Resume from what the master already has (a previous try may have broken off).
    Reply status =
        Post(base + "/upload-status",
             json({{"worker", worker_id_}, {"attempt", attempt}, {"name", name}}).dump());
    if (status.status == 409) {
      error = ErrorOf(status);
      return false;
    }
    uint64_t offset = 0;
    if (status.status == 200) {
      offset = json::parse(status.body, nullptr, false).value("received", uint64_t{0});
    }
    if (offset >= size) offset = 0;  // the whole file again (or an empty one)
    char* escaped = curl_easy_escape(nullptr, worker_id_.c_str(), 0);
    std::string worker_q = escaped != nullptr ? escaped : worker_id_;
    curl_free(escaped);
    Reply r = Put(
        base + "/artifacts/" + name + "?worker=" + worker_q + "&attempt=" + std::to_string(attempt),
        file, offset, size, sha);
    if (r.status == 201) return true;
    if (r.status == 202 || r.status == 416) continue;   // ask again where to start
    if (r.status == 422 && ++mismatches < 2) continue;  // damaged on the way: once more
    error = name + ": " + ErrorOf(r);
    return false;
  }
  error = name + ": the upload did not complete after 10 tries";
  return false;
}

bool HttpLink::Finish(int64_t id, int attempt, const std::string& worker,
                      const server::JobResult& result,
                      const std::vector<store::Store::NewEvent>& last_events) {
  return results_.Call(
      ResultCall{id, attempt, worker, &result, &last_events}, worker,
      [this](const std::vector<const ResultCall*>& calls) { return SendResults(calls); });
}

std::vector<bool> HttpLink::SendResults(const std::vector<const ResultCall*>& calls) {
  const ResultCall& first = *calls.front();
  if (calls.size() == 1) {
    json body = ResultJson(*first.result, first.attempt, *first.last_events);
    body["worker"] = first.worker;
    Reply r = Post("/api/v1/worker/" + std::to_string(first.id) + "/result",
                   body.dump(-1, ' ', false, json::error_handler_t::replace));
    if (r.status == 409) return {false};
    if (r.status != 200) throw LinkError("result: " + ErrorOf(r));
    return {true};
  }
  json body = {{"worker", first.worker}, {"results", json::array()}};
  for (const ResultCall* c : calls) {
    json one = ResultJson(*c->result, c->attempt, *c->last_events);
    one["build_id"] = c->id;
    body["results"].push_back(std::move(one));
  }
  Reply r =
      Post("/api/v1/worker/results", body.dump(-1, ' ', false, json::error_handler_t::replace));
  json answer = json::parse(r.body, nullptr, false);
  if (r.status != 200 || !answer.is_object() || !answer.contains("recorded") ||
      !answer["recorded"].is_array()) {
    throw LinkError("results: " + ErrorOf(r));
  }
  std::vector<bool> recorded(calls.size(), false);
  for (const json& id : answer["recorded"]) {
    for (size_t i = 0; i < calls.size(); ++i) recorded[i] = recorded[i] || calls[i]->id == id;
  }
  return recorded;
}

bool HttpLink::HandBack(int64_t id, int attempt, const std::string& worker) {
  Reply r = Post("/api/v1/worker/" + std::to_string(id) + "/handback",
                 json({{"worker", worker}, {"attempt", attempt}}).dump());
  if (r.status == 409) return false;
  if (r.status != 200) throw LinkError("handback: " + ErrorOf(r));
  return true;
}

fs::path HttpLink::AttemptDir(int64_t id, int attempt) {
  return work_dir_ / (std::to_string(id) + "-" + std::to_string(attempt));
}

}  // namespace kiln::worker
