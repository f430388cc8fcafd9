// A real `kiln serve` for tests: started as a child process on a free port with its own data
// directory, an HTTP client (libcurl) to talk to it, and helpers to stop or kill it.
#pragma once

#include <curl/curl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "shell.h"

namespace kiln::testing {

struct HttpReply {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-case
};

// Bytes that begin as a .deb does (an ar archive whose first member is debian-binary, which
// the server checks at a submit) followed by `rest`: for tests of uploads, not of packages.
inline std::string DebShapedBytes(const std::string& rest) {
  std::string header = "debian-binary   0           0     0     100644  4         `\n";
  return "!<arch>\n" + header + "2.0\n" + rest;
}

// One HTTP request with libcurl. `headers` are "Name: value" lines.
inline HttpReply Http(const std::string& method, const std::string& url,
                      const std::vector<std::string>& headers = {}, const std::string& body = {},
                      long timeout_s = 30) {
  HttpReply reply;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);  // send "/.." as it is
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (method == "POST" || method == "PUT" || !body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* out) -> size_t {
        static_cast<std::string*>(out)->append(p, s * n);
        return s * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(
      curl, CURLOPT_HEADERFUNCTION, +[](char* p, size_t s, size_t n, void* out) -> size_t {
        std::string line(p, s * n);
        size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string name = line.substr(0, colon);
          for (char& c : name) c = static_cast<char>(std::tolower(c));
          std::string value = line.substr(colon + 1);
          value.erase(0, value.find_first_not_of(" \t"));
          value.erase(value.find_last_not_of("\r\n \t") + 1);
          (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
        }
        return s * n;
      });
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return reply;
}

// A `kiln serve` child process.
class Service {
 public:
  Service(std::string binary, std::filesystem::path dir, int workers = 0,
          std::filesystem::path cache = {})
      : binary_(std::move(binary)),
        dir_(std::move(dir)),
        workers_(workers),
        cache_(cache.empty() ? dir_ / "cache" : std::move(cache)) {}
  ~Service() { Kill(); }

  // Starts it and waits for "listening on"; false if it did not come up in 20 s.
  bool Start(const std::vector<std::string>& extra = {}) {
    std::filesystem::create_directories(dir_);
    log_ = dir_ / ("serve-" + std::to_string(++starts_) + ".log");
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // a test that crashes leaves no server behind
      setenv("XDG_CONFIG_HOME", (dir_ / "config").c_str(), 1);
      FILE* f = freopen(log_.c_str(), "w", stderr);
      (void)f;
      std::vector<std::string> args = {binary_,       "serve",
                                       "--listen",    "127.0.0.1:" + std::to_string(port_),
                                       "--data-dir",  (dir_ / "data").string(),
                                       "--cache-dir", cache_.string(),
                                       "--workers",   std::to_string(workers_)};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary_.c_str(), argv.data());
      _exit(127);
    }
    static const std::regex kListening("listening on http://127\\.0\\.0\\.1:(\\d+)");
    for (int i = 0; i < 200; ++i) {
      std::smatch m;
      std::string text = ReadFile(log_);
      if (std::regex_search(text, m, kListening)) {
        port_ = std::stoi(m[1].str());  // a restart reuses the port
        return true;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // SIGTERM and wait; returns the exit status.
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string AdminToken() const {
    std::string t = ReadFile(dir_ / "data" / "admin.token");
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
  }
  std::string Log() const { return ReadFile(log_); }
  std::string Kiln(const std::string& args) const {
    return binary_ + " " + args + " --data-dir " + (dir_ / "data").string();
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::string binary_;
  std::filesystem::path dir_;
  int workers_;
  std::filesystem::path cache_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int port_ = 0;
  int starts_ = 0;
};

}  // namespace kiln::testing
