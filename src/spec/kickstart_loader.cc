#include "spec/kickstart_loader.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "core/text.h"

namespace kiln::spec {
namespace fs = std::filesystem;

bool IsUrl(std::string_view ref) {
  return StartsWith(ref, "http://") || StartsWith(ref, "https://") || StartsWith(ref, "ftp://") ||
         StartsWith(ref, "file://");
}

std::string ResolveRelative(std::string_view base, std::string_view ref) {
  if (IsUrl(ref) || StartsWith(ref, "/") || base.empty()) return std::string(ref);
  size_t slash = base.rfind('/');
  if (IsUrl(base)) {
    size_t scheme_end = base.find("://") + 3;
    if (slash == std::string_view::npos || slash < scheme_end) {
      return std::string(base) + "/" + std::string(ref);
    }
  }
  if (slash == std::string_view::npos) return std::string(ref);
  return std::string(base.substr(0, slash + 1)) + std::string(ref);
}

namespace {

struct FetchState {
  std::string* body;
  size_t max_bytes;
  bool too_large = false;
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* state = static_cast<FetchState*>(user);
  size_t n = size * nmemb;
  if (state->body->size() + n > state->max_bytes) {
    state->too_large = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  state->body->append(data, n);
  return n;
}

void GlobalCurlInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The text of a regular file of at most `max_bytes`; else why not.
Result<std::string> ReadLocalFile(const fs::path& path, size_t max_bytes) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Status::Error("is a directory");
  // A device or FIFO (/dev/zero, a pipe) could be endless: only regular files are read.
  if (!fs::is_regular_file(path, ec)) return Status::Error("not a regular file");
  if (fs::file_size(path, ec) > max_bytes) {
    return Status::Error("larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<std::string> FetchUrl(const std::string& url, const FetchOptions& options) {
  GlobalCurlInit();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::Error("cannot initialize libcurl");
  std::string body;
  FetchState state{&body, options.max_bytes};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  CurlAddressGuard policy{options.policy, ""};
  if (options.policy != nullptr) {
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,ftp");
    GuardConnections(curl, policy);
  } else {
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,ftp,file");
  }
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https,ftp");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_s);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, options.total_timeout_s);
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "kiln/" KILN_VERSION);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  if (state.too_large) {
    return Status::Error("larger than " + std::to_string(options.max_bytes) + " bytes");
  }
  if (!policy.refusal.empty()) {
    // The same words whatever the address is and whether anything listens there.
    return Status::Error(
        "refused by the server's fetch policy: it fetches only from public addresses");
  }
  if (rc != CURLE_OK) return Status::Error(errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
  return body;
}

namespace {

// Puts the text `read` into `out`, or passes on why there is none.
Status TakeText(Result<std::string> read, LoadedText& out) {
  if (!read.ok()) return read.status();
  out.text = std::move(*read);
  return Status::Ok();
}

}  // namespace

Status FileResolver::Read(std::string_view ref, const LoadedText* from, LoadedText& out) {
  std::string target = from != nullptr ? ResolveRelative(from->name, ref) : std::string(ref);
  if (IsUrl(target)) {
    out.name = target;
    out.id = target;
    return TakeText(FetchUrl(target, options_), out);
  }
  fs::path path(target);
  std::error_code ec;
  if (!fs::exists(path, ec) && from != nullptr && !IsUrl(from->name) && !path.is_absolute()) {
    fs::path in_cwd(ref);
    if (fs::exists(in_cwd, ec)) path = in_cwd;
  }
  if (!fs::exists(path, ec)) {
    out.name = path.string();
    return Status::Error("No such file or directory");
  }
  out.name = path.string();
  fs::path canonical = fs::weakly_canonical(path, ec);
  out.id = ec ? path.string() : canonical.string();
  return TakeText(ReadLocalFile(path, options_.max_bytes), out);
}

Status MemoryResolver::Read(std::string_view ref, const LoadedText* from, LoadedText& out) {
  std::string target = from != nullptr ? ResolveRelative(from->name, ref) : std::string(ref);
  auto it = files_.find(target);
  if (it == files_.end()) {
    it = files_.find(ref);
  }
  if (it == files_.end()) {
    out.name = target;
    return Status::Error("No such file or directory");
  }
  out.name = it->first;
  out.id = it->first;
  out.text = it->second;
  return Status::Ok();
}

}  // namespace kiln::spec
