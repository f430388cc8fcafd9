// Distributed mode for tests: a private RabbitMQ node (its own ports, node name and data
// directory, so it never meets the machine's broker), a vhost per test, and `kiln worker`
// child processes.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "loopback_listener.h"
#include "shell.h"

namespace kiln::testing {

inline bool PortOpen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// A child process in its own session (so that it and its children can be killed as one),
// with stdout and stderr in `log`.
inline pid_t Spawn(const std::vector<std::string>& args, const std::filesystem::path& log,
                   const std::vector<std::pair<std::string, std::string>>& env = {}) {
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // a test that crashes leaves nothing running
    setsid();
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    FILE* f = freopen(log.c_str(), "w", stderr);
    (void)f;
    dup2(2, 1);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

class Broker {
 public:
  explicit Broker(std::filesystem::path dir)
      : dir_(std::move(dir)),
        node_("kiln-test-" + std::to_string(getpid()) + "@localhost"),
        port_(FreePort()),
        dist_port_(FreePort()) {}
  ~Broker() { Stop(); }

  static bool Available() { return Sh("command -v rabbitmq-server").exit_code == 0; }

  // Starts the node (keeping its data from a previous Start) and waits for its port.
  bool Start() {
    std::filesystem::create_directories(dir_);
    Sh("chown -R rabbitmq:rabbitmq " + dir_.string());
    pid_ = Spawn({"rabbitmq-server"}, dir_ / "server.log",
                 {{"RABBITMQ_NODENAME", node_},
                  {"RABBITMQ_NODE_PORT", std::to_string(port_)},
                  {"RABBITMQ_DIST_PORT", std::to_string(dist_port_)},
                  {"RABBITMQ_MNESIA_BASE", (dir_ / "mnesia").string()},
                  {"RABBITMQ_LOG_BASE", (dir_ / "log").string()}});
    for (int i = 0; i < 1200; ++i) {
      if (PortOpen(port_)) return true;
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void Stop() {
    if (pid_ <= 0) return;
    Sh("rabbitmqctl -q -n " + node_ + " stop");
    // A graceful stop persists the queues; give it a minute before SIGKILL.
    for (int i = 0; i < 1200 && waitpid(pid_, nullptr, WNOHANG) != pid_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, WNOHANG);
    pid_ = -1;
  }
  // The default vhost, written as the seed writes it.
  std::string Url() const { return "amqp://guest@127.0.0.1:" + std::to_string(port_) + "//"; }
  // Messages waiting in a queue of a vhost (-1 if it cannot tell).
  int QueueLength(const std::string& vhost, const std::string& queue) {
    RunResult r = Sh("rabbitmqctl -q -n " + node_ + " list_queues -p " + vhost +
                     " name messages --no-table-headers");
    size_t at = r.out.find(queue + "\t");
    if (at == std::string::npos) return -1;
    return std::stoi(r.out.substr(at + queue.size() + 1));
  }
  const std::string& node() const { return node_; }

 private:
  std::filesystem::path dir_;
  std::string node_;
  int port_, dist_port_;
  pid_t pid_ = -1;
};

// A `kiln worker` child process.
class WorkerProcess {
 public:
  WorkerProcess(std::string binary, std::filesystem::path dir, std::vector<std::string> args)
      : binary_(std::move(binary)), dir_(std::move(dir)), args_(std::move(args)) {}
  ~WorkerProcess() { Kill(); }

  // Starts it and waits until it consumes from the broker.
  bool Start() {
    std::filesystem::create_directories(dir_);
    log_ = dir_ / ("worker-" + std::to_string(++starts_) + ".log");
    std::vector<std::string> argv = {binary_, "worker", "--data-dir", (dir_ / "data").string()};
    argv.insert(argv.end(), args_.begin(), args_.end());
    pid_ = Spawn(argv, log_);
    for (int i = 0; i < 300; ++i) {
      if (Log().find("consuming from") != std::string::npos) return true;
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // SIGTERM; waits up to `wait` for it to end. Returns the exit status (-1 if still running).
  int Term(std::chrono::seconds wait) {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    for (auto end = std::chrono::steady_clock::now() + wait; std::chrono::steady_clock::now() < end;
         std::this_thread::sleep_for(std::chrono::milliseconds(50))) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
    }
    return -1;
  }
  // SIGKILL of the worker alone: its build (a child with a parent-death signal) stops too.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string Log() const { return ReadFile(log_); }
  pid_t pid() const { return pid_; }

 private:
  std::string binary_;
  std::filesystem::path dir_;
  std::vector<std::string> args_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int starts_ = 0;
};

// A TCP forwarder between a worker and the master, to cut the worker off from the master
// (not from the broker): Cut() drops every connection and refuses new ones;
// DropConnections() drops the open ones only (a network hiccup). `bytes_per_second` (0 =
// no limit) slows it down, so that an upload lasts long enough to be broken off.
class TcpProxy {
 public:
  explicit TcpProxy(int target_port, size_t bytes_per_second = 0)
      : target_(target_port), rate_(bytes_per_second) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(listener_, 64);
    accept_ = std::thread([this] { AcceptLoop(); });
  }
  ~TcpProxy() {
    Cut();
    accept_.join();
    for (std::thread& t : pipes_) t.join();
  }
  int port() const { return port_; }
  void Cut() {
    if (cut_.exchange(true)) return;
    shutdown(listener_, SHUT_RDWR);
    DropConnections();
  }
  void DropConnections() {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_) shutdown(fd, SHUT_RDWR);
    open_.clear();
  }

 private:
  void AcceptLoop() {
    while (!cut_) {
      int client = accept(listener_, nullptr, nullptr);
      if (client < 0) break;
      int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(target_));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(client);
        close(server);
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      open_.push_back(client);
      open_.push_back(server);
      pipes_.emplace_back([this, client, server] { Pipe(client, server); });
    }
    close(listener_);
  }
  void Pipe(int a, int b) {
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    char buf[65536];
    for (;;) {
      if (poll(fds, 2, 1000) < 0) break;
      bool done = false;
      for (int i = 0; i < 2 && !done; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        ssize_t n =
            read(fds[i].fd, buf, rate_ > 0 ? std::min(sizeof buf, rate_ / 100 + 1) : sizeof buf);
        // MSG_NOSIGNAL: a peer that is gone is an error here, not a SIGPIPE for the test.
        if (n <= 0 || send(fds[1 - i].fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) {
          done = true;
        }
        if (rate_ > 0 && n > 0) {
          std::this_thread::sleep_for(
              std::chrono::microseconds(n * 1'000'000 / static_cast<ssize_t>(rate_)));
        }
      }
      if (done) break;
    }
    close(a);
    close(b);
  }

  int target_;
  size_t rate_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> cut_{false};
  std::thread accept_;
  std::mutex mu_;
  std::vector<int> open_;
  std::vector<std::thread> pipes_;
};

}  // namespace kiln::testing
