#include "delivery/staging.h"

#include <curl/curl.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>

#include "core/grammar.h"
#include "core/text.h"
#include "sys/files.h"

namespace kiln::delivery {
namespace fs = std::filesystem;

namespace {

std::string Scheme(const std::string& url) {
  size_t at = url.find("://");
  return at == std::string::npos ? "" : ToLower(url.substr(0, at));
}

// file:///srv/stage -> /srv/stage
std::string FilePath(const std::string& url) { return url.substr(std::string("file://").size()); }

bool Below(const fs::path& path, const fs::path& root) {
  std::string p = path.lexically_normal().string(), r = root.lexically_normal().string();
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  return p == r || StartsWith(p, r == "/" ? r : r + "/");
}

// file:///DIR: a copy under a temporary name, checked, then renamed.
Status StageToDirectory(const fs::path& dir, const std::vector<StagedFile>& files) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Error("cannot make " + dir.string() + ": " + ec.message());
  for (const StagedFile& f : files) {
    fs::path dest = dir / f.name;
    std::string sha;
    if (fs::is_regular_file(dest, ec) && fs::file_size(dest, ec) == f.size &&
        sys::Sha256File(dest, sha) && sha == f.sha256) {
      continue;  // there whole already: a retry
    }
    fs::path part = dir / (f.name + ".part");
    fs::copy_file(f.source, part, fs::copy_options::overwrite_existing, ec);
    if (ec)
      return Status::Error(f.name + ": cannot copy to " + part.string() + ": " + ec.message());
    if (fs::file_size(part, ec) != f.size || !sys::Sha256File(part, sha) || sha != f.sha256) {
      fs::remove(part, ec);
      return Status::Error(f.name + ": the copy in " + dir.string() +
                           " is not the file (size or SHA-256 differ)");
    }
    fs::rename(part, dest, ec);
    if (ec) return Status::Error(f.name + ": cannot rename into place: " + ec.message());
  }
  return Status::Ok();
}

size_t ReadFile(char* buffer, size_t size, size_t count, void* user) {
  return std::fread(buffer, 1, size * count, static_cast<FILE*>(user));
}
size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

using Curl = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

// A transfer to `url`, connecting only where `guard`'s policy lets it.
Curl Handle(const StagingConfig& config, const std::string& url, bool sftp,
            spec::CurlAddressGuard& guard) {
  Curl curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return curl;
  CURL* c = curl.get();
  spec::GuardConnections(c, guard);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, sftp ? "sftp" : "ftp");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, config.timeout_s);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Discard);
  if (sftp) {
    curl_easy_setopt(c, CURLOPT_USERNAME, config.sftp_user.c_str());
    curl_easy_setopt(c, CURLOPT_SSH_AUTH_TYPES, static_cast<long>(CURLSSH_AUTH_PUBLICKEY));
    curl_easy_setopt(c, CURLOPT_SSH_PRIVATE_KEYFILE, config.sftp_key.c_str());
    if (!config.sftp_known_hosts.empty()) {
      curl_easy_setopt(c, CURLOPT_SSH_KNOWNHOSTS, config.sftp_known_hosts.c_str());
    }
  } else if (!config.ftp_user.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, config.ftp_user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, config.ftp_password.c_str());
  }
  return curl;
}

// The size of a remote file, or -1 if it is not there (or cannot be asked).
curl_off_t RemoteSize(const StagingConfig& config, const std::string& url, bool sftp,
                      spec::CurlAddressGuard& guard) {
  Curl curl = Handle(config, url, sftp, guard);
  if (!curl) return -1;
  curl_easy_setopt(curl.get(), CURLOPT_NOBODY, 1L);
  if (curl_easy_perform(curl.get()) != CURLE_OK) return -1;
  curl_off_t size = -1;
  curl_easy_getinfo(curl.get(), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size);
  return size;
}

// ftp:// and sftp://: each file uploaded as NAME.part (directories made as needed), renamed
// to NAME, then its size asked back.
Status StageRemote(const StagingConfig& config, std::string base, bool sftp,
                   const std::vector<StagedFile>& files, const spec::AddressPolicy* policy) {
  std::string path = base.substr(base.find('/', base.find("://") + 3));  // "/pub/kiln-build-7/"
  spec::CurlAddressGuard guard{policy, ""};
  auto refused = [&guard] {
    return Status::Error("refused by the server's address policy (" + guard.refusal +
                         " address): staging goes to public addresses unless the admin opens "
                         "the range ([fetch] allow)");
  };
  for (const StagedFile& f : files) {
    std::string target = base + f.name;
    if (RemoteSize(config, target, sftp, guard) == static_cast<curl_off_t>(f.size)) continue;
    if (!guard.refusal.empty()) return refused();
    std::unique_ptr<FILE, decltype(&std::fclose)> in(std::fopen(f.source.c_str(), "rb"),
                                                     std::fclose);
    if (!in) return Status::Error(f.name + ": cannot read " + f.source.string());
    Curl curl = Handle(config, target + ".part", sftp, guard);
    if (!curl) return Status::Error("cannot start libcurl");
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadFile);
    curl_easy_setopt(c, CURLOPT_READDATA, in.get());
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(f.size));
    curl_easy_setopt(c, CURLOPT_FTP_CREATE_MISSING_DIRS, static_cast<long>(CURLFTP_CREATE_DIR));
    // After the upload: the whole file takes its name (SFTP's rename does not replace).
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> after(nullptr, curl_slist_free_all);
    std::vector<std::string> commands =
        sftp ? std::vector<std::string>{"*rm " + path + f.name,
                                        "rename " + path + f.name + ".part " + path + f.name}
             : std::vector<std::string>{"RNFR " + f.name + ".part", "RNTO " + f.name};
    for (const std::string& command : commands) {
      after.reset(curl_slist_append(after.release(), command.c_str()));
    }
    curl_easy_setopt(c, CURLOPT_POSTQUOTE, after.get());
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    CURLcode rc = curl_easy_perform(c);
    if (!guard.refusal.empty()) return refused();
    if (rc != CURLE_OK) {
      return Status::Error(f.name + ": " + (error[0] != '\0' ? error : curl_easy_strerror(rc)));
    }
    curl_off_t there = RemoteSize(config, target, sftp, guard);
    if (there != static_cast<curl_off_t>(f.size)) {
      return Status::Error(f.name + ": the server has " + std::to_string(there) + " bytes of " +
                           std::to_string(f.size));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<StagingConfig> StagingConfigFromKeys(const std::map<std::string, std::string>& keys) {
  StagingConfig c;
  for (const auto& [key, value] : keys) {
    if (key == "file_roots") {
      for (const std::string& root : SplitNonEmpty(value, ',')) {
        if (!IsCleanAbsolutePath(root)) {
          return Status::Error("[staging] file_roots: '" + Printable(root) +
                               "' is not a clean absolute path");
        }
        c.file_roots.emplace_back(root);
      }
    } else if (key == "ftp_user") {
      c.ftp_user = value;
    } else if (key == "ftp_password") {
      c.ftp_password = value;
    } else if (key == "sftp_user") {
      c.sftp_user = value;
    } else if (key == "sftp_key") {
      c.sftp_key = value;
    } else if (key == "sftp_known_hosts") {
      c.sftp_known_hosts = value;
    } else if (key == "timeout") {
      char* end = nullptr;
      long v = std::strtol(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0' || v < 1) {
        return Status::Error("[staging] timeout: '" + Printable(value) + "' is not seconds");
      }
      c.timeout_s = v;
    } else {
      return Status::Error("[staging]: unknown key '" + Printable(key) +
                           "' (known: file_roots, ftp_user, ftp_password, sftp_user, sftp_key, "
                           "sftp_known_hosts, timeout)");
    }
  }
  return c;
}

std::string StagingRefusal(const StagingConfig& config, const std::string& url) {
  std::string scheme = Scheme(url);
  if (scheme == "ftp") return "";
  if (scheme == "sftp") {
    return config.sftp_key.empty() ? "this server has no key for sftp:// ([staging] sftp_key)" : "";
  }
  if (scheme != "file") return "staging goes to file:///, ftp:// or sftp:// URLs";
  std::string path = FilePath(url);
  if (!IsCleanAbsolutePath(path) || fs::path(path).lexically_normal().string() != path) {
    return "'" + Printable(path) + "' is not a clean absolute path (no .., no //)";
  }
  if (config.file_roots.empty()) {
    return "this server stages to no directory of its own ([staging] file_roots is empty)";
  }
  for (const fs::path& root : config.file_roots) {
    if (Below(path, root)) return "";
  }
  return "'" + path + "' is not below a directory this server stages to ([staging] file_roots)";
}

Status StageFiles(const StagingConfig& config, const std::string& url, int64_t build_id,
                  const std::vector<StagedFile>& files, const spec::AddressPolicy* policy) {
  if (std::string why = StagingRefusal(config, url); !why.empty()) return Status::Error(why);
  std::string dir = "kiln-build-" + std::to_string(build_id);
  std::string scheme = Scheme(url);
  if (scheme == "file") return StageToDirectory(fs::path(FilePath(url)) / dir, files);
  std::string base = url;
  if (base.back() != '/') base += '/';
  return StageRemote(config, base + dir + "/", scheme == "sftp", files, policy);
}

}  // namespace kiln::delivery
