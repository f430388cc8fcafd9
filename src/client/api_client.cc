#include "client/api_client.h"

#include <curl/curl.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "client/client_config.h"
#include "core/text.h"

namespace kiln::client {
namespace {
using nlohmann::json;

CURL* Handle(void* p) { return static_cast<CURL*>(p); }

size_t CollectBody(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

size_t CollectHeader(char* p, size_t size, size_t n, void* out) {
  std::string_view line(p, size * n);
  auto* headers = static_cast<std::map<std::string, std::string>*>(out);
  if (StartsWith(line, "HTTP/")) headers->clear();  // a new response (after a redirect or 100)
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    (*headers)[ToLower(Trim(line.substr(0, colon)))] = std::string(Trim(line.substr(colon + 1)));
  }
  return size * n;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// The connection `config` (read from `path`, if there is one) names, with KILN_SERVER and
// KILN_TOKEN overriding it.
Connection WithEnvironment(const std::optional<ClientConfig>& config,
                           const std::filesystem::path& path) {
  Connection c;
  if (config) {
    c.url = config->url;
    c.token = config->token;
    c.url_source = c.token_source = path.string();
  }
  if (std::string v = Env("KILN_SERVER"); !v.empty()) {
    c.url = v;
    c.url_source = "KILN_SERVER";
  }
  if (std::string v = Env("KILN_TOKEN"); !v.empty()) {
    c.token = v;
    c.token_source = "KILN_TOKEN";
  }
  while (!c.url.empty() && c.url.back() == '/') c.url.pop_back();
  return c;
}

}  // namespace

Result<Connection> ResolveConnection() {
  std::filesystem::path path = ClientConfigPath();
  Result<std::optional<ClientConfig>> config = ReadClientConfig(path);
  if (!config.ok()) return config.status();
  return WithEnvironment(*config, path);
}

Connection ResolveConnectionIgnoringBadConfig() {
  std::filesystem::path path = ClientConfigPath();
  Result<std::optional<ClientConfig>> config = ReadClientConfig(path);
  return WithEnvironment(config.ok() ? *config : std::nullopt, path);
}

std::string Reply::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

ApiClient::ApiClient(Connection connection)
    : connection_(std::move(connection)), curl_(curl_easy_init()) {}

ApiClient::~ApiClient() { curl_easy_cleanup(Handle(curl_)); }

std::string ApiClient::Url(std::string_view path) const {
  return connection_.url + std::string(path);
}

void ApiClient::ThrowUnreachable(const std::string& curl_error) const {
  std::string where = connection_.url_source.empty() ? std::string("the default")
                                                     : "set by " + connection_.url_source;
  throw Unreachable("cannot reach the kiln server at " + connection_.url + " (" + where +
                    "): " + curl_error +
                    "\n  hint: is `kiln serve` running there? Point the CLI at the right "
                    "server with `kiln login --server URL` or KILN_SERVER=URL");
}

curl_slist* ApiClient::Begin(std::string_view path, const std::vector<std::string>& headers) {
  CURL* curl = Handle(curl_);
  curl_easy_reset(curl);  // keeps the connection, forgets the last request's options
  curl_slist* list = nullptr;
  if (!connection_.token.empty()) {
    list = curl_slist_append(list, ("Authorization: Bearer " + connection_.token).c_str());
  }
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  std::string url = Url(path);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  // No bound on a whole request (a submit may upload large .deb files, a stream lasts as long
  // as the build): a minute without a byte is a dead connection (streams get a comment line
  // every few seconds).
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "kiln-cli/" KILN_VERSION);
  return list;
}

Reply ApiClient::Perform(std::string_view method, std::string_view path, const std::string* body,
                         const std::vector<std::string>& headers, void* mime) {
  bool has_type = false;
  for (const std::string& h : headers) {
    if (StartsWith(ToLower(h), "content-type:")) has_type = true;
  }
  std::vector<std::string> all = headers;
  if (body != nullptr && !has_type && mime == nullptr)
    all.push_back("Content-Type: application/json");
  all.push_back("Expect:");  // no 100-continue round trip
  curl_slist* list = Begin(path, all);
  CURL* curl = Handle(curl_);
  Reply reply;
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  if (mime != nullptr) {
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, static_cast<curl_mime*>(mime));
  } else if (body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  if (method != "GET" && method != "POST") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
  } else if (method == "POST" && body == nullptr && mime == nullptr) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  }
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) ThrowUnreachable(curl_easy_strerror(rc));
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

Reply ApiClient::Get(std::string_view path) { return Perform("GET", path, nullptr, {}, nullptr); }

Reply ApiClient::Send(std::string_view method, std::string_view path, std::string_view body,
                      const std::vector<std::string>& headers) {
  std::string copy(body);
  return Perform(method, path, &copy, headers, nullptr);
}

Reply ApiClient::PostForm(std::string_view path, const std::vector<FormPart>& parts,
                          const std::vector<std::string>& headers) {
  curl_mime* mime = curl_mime_init(Handle(curl_));
  for (const FormPart& p : parts) {
    curl_mimepart* part = curl_mime_addpart(mime);
    curl_mime_name(part, p.name.c_str());
    curl_mime_data(part, p.data.data(), p.data.size());
    if (!p.filename.empty()) {
      curl_mime_filename(part, p.filename.c_str());
      curl_mime_type(part, "application/octet-stream");
    }
  }
  try {
    Reply r = Perform("POST", path, nullptr, headers, mime);
    curl_mime_free(mime);
    return r;
  } catch (...) {
    curl_mime_free(mime);
    throw;
  }
}

long ApiClient::Stream(std::string_view path, const std::vector<std::string>& headers,
                       const std::function<bool(const SseEvent&)>& on_event) {
  std::vector<std::string> all = headers;
  all.push_back("Accept: text/event-stream");
  curl_slist* list = Begin(path, all);
  CURL* curl = Handle(curl_);
  struct State {
    SseParser parser;
    const std::function<bool(const SseEvent&)>* on_event;
    std::string error_body;
    long status = 0;
    CURL* curl;
    bool stopped = false;
  } state{{}, &on_event, {}, 0, curl};
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* p, size_t size, size_t n, void* data) -> size_t {
        auto* s = static_cast<State*>(data);
        if (s->status == 0) curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
        if (s->status != 200) {
          s->error_body.append(p, size * n);
          return size * n;
        }
        if (!s->parser.Feed(std::string_view(p, size * n), *s->on_event)) {
          s->stopped = true;
          return 0;  // ends the transfer
        }
        return size * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (state.stopped) return status;
  if (rc != CURLE_OK && status == 0) ThrowUnreachable(curl_easy_strerror(rc));
  if (rc != CURLE_OK) return 0;  // broken off mid-stream: the caller resumes
  return status;
}

Reply ApiClient::Download(std::string_view path, const std::filesystem::path& file, uint64_t offset,
                          const std::string& etag, const std::function<void(uint64_t)>& progress) {
  std::vector<std::string> range;
  if (offset > 0) {
    range.push_back("Range: bytes=" + std::to_string(offset) + "-");
    if (!etag.empty()) range.push_back("If-Range: " + etag);
  }
  curl_slist* list = Begin(path, range);
  CURL* curl = Handle(curl_);
  Reply reply;
  struct State {
    CURL* curl;
    std::FILE* out = nullptr;
    const std::filesystem::path* file;
    uint64_t offset, written = 0;
    long status = 0;
    std::string error_body;
    const std::function<void(uint64_t)>* progress;
    bool write_failed = false;
  } state{curl, nullptr, &file, offset, 0, 0, {}, &progress};
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* p, size_t size, size_t n, void* data) -> size_t {
        auto* s = static_cast<State*>(data);
        if (s->status == 0) {
          curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
          if (s->status == 200 || s->status == 206) {
            // 200: the whole file (no range, or If-Range did not match): start over.
            s->out = std::fopen(s->file->c_str(), s->status == 206 ? "ab" : "wb");
            if (s->out == nullptr) {
              s->write_failed = true;
              return 0;
            }
            if (s->status == 200) s->offset = 0;
          }
        }
        if (s->out == nullptr) {
          s->error_body.append(p, size * n);
          return size * n;
        }
        if (std::fwrite(p, 1, size * n, s->out) != size * n) {
          s->write_failed = true;
          return 0;
        }
        s->written += size * n;
        if (*s->progress) (*s->progress)(s->offset + s->written);
        return size * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  bool close_failed = state.out != nullptr && std::fclose(state.out) != 0;
  if (state.write_failed || close_failed) {
    throw std::runtime_error("cannot write " + file.string() + " (disk full or not writable)");
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  if (rc != CURLE_OK && reply.status == 0) ThrowUnreachable(curl_easy_strerror(rc));
  if (rc != CURLE_OK) {
    throw Unreachable("the download of " + Url(path) + " broke off: " + curl_easy_strerror(rc) +
                      "\n  hint: run the same command again: it resumes where it stopped");
  }
  reply.body = std::move(state.error_body);
  return reply;
}

std::string DescribeError(const Reply& reply, const Connection& connection) {
  std::string out;
  json j = json::parse(reply.body, nullptr, false);
  const json* e =
      j.is_object() && j.contains("error") && j["error"].is_object() ? &j["error"] : nullptr;
  if (e != nullptr) {
    out = e->value("message", "error");
    if (e->contains("details") && (*e)["details"].is_array()) {
      for (const json& d : (*e)["details"]) {
        std::string where = d.value("file", "");
        if (d.contains("line") && d["line"].is_number() && d["line"].get<int>() > 0) {
          where += ":" + std::to_string(d["line"].get<int>());
        }
        out += "\n  " + (where.empty() ? std::string() : where + ": ") +
               d.value("severity", "error") + ": " + d.value("message", "");
        if (!d.value("hint", "").empty()) out += "\n    hint: " + d.value("hint", "");
      }
    }
    if (!e->value("hint", "").empty()) out += "\n  hint: " + e->value("hint", "");
  } else {
    out = "the server answered HTTP " + std::to_string(reply.status);
    std::string_view text = Trim(reply.body);
    if (!text.empty()) out += ": " + std::string(text.substr(0, 300));
  }
  if (reply.status == 401) {
    out += "\n  hint: " +
           (connection.token.empty()
                ? std::string("no API token is set: ")
                : "the token from " + connection.token_source + " was refused: ") +
           "log in with `kiln login --server " + connection.url +
           " --token TOKEN` (an admin makes tokens with `kiln token create`) or set KILN_TOKEN";
  }
  return out;
}

}  // namespace kiln::client
