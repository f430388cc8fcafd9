// A real server process (python3's http.server, pyftpdlib, ...) on a free loopback port,
// for tests that need one to fetch from.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace kiln::testing {

// A real server process on a free loopback port serving a directory: python3's http.server
// or pyftpdlib. The port is read from the line the server logs when it starts.
class ServerProcess {
 public:
  // `argv` runs the server; `marker` precedes the port number in its start-up line.
  ServerProcess(std::vector<std::string> argv, const std::string& marker) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      close(fds[0]);
      std::vector<char*> args;
      for (std::string& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    close(fds[1]);
    read_fd_ = fds[0];
    std::string text;
    char c;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline && read(fds[0], &c, 1) == 1) {
      text += c;
      size_t at = text.find(marker);
      if (c == '\n' && at != std::string::npos) {
        port_ = std::atoi(text.c_str() + at + marker.size());
        break;
      }
    }
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (read_fd_ >= 0) close(read_fd_);
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int read_fd_ = -1;
  int port_ = 0;
};

}  // namespace kiln::testing
