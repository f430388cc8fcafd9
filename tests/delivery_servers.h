// The real servers the delivery tests send to, each a child process on a free loopback port
// that dies with the test (PR_SET_PDEATHSIG): an SMTP server (Debian's aiosmtpd keeping a
// Maildir), a webhook receiver (python3's http.server recording each call, answering 500 to
// the first N), an FTP server (pyftpdlib, anonymous and writable) and an SFTP server (an sshd
// of the test's own with its host key, a client key and a known_hosts for kiln's config).
// Each can be stopped and started again on the same port (a target down, then back).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/base64.h"
#include "core/sha256.h"
#include "loopback_listener.h"

namespace kiln::testing {

// A child process started from an argv, stopped with SIGTERM (or killed) and waited for.
class ChildServer {
 public:
  ChildServer(int port, std::vector<std::string> argv, bool quiet = false)
      : port_(port), argv_(std::move(argv)), quiet_(quiet) {}
  ~ChildServer() { Stop(); }
  ChildServer(const ChildServer&) = delete;
  ChildServer& operator=(const ChildServer&) = delete;

  // Starts it and waits until its port takes connections (10 s at most).
  bool Start() {
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (quiet_) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
      }
      std::vector<char*> argv;
      for (std::string& a : argv_) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (PortAccepts(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  int port() const { return port_; }

 private:
  int port_;
  std::vector<std::string> argv_;
  bool quiet_;
  pid_t pid_ = -1;
};

inline std::string ReadWhole(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// aiosmtpd's Mailbox handler: every message it accepts kept as a file in a Maildir.
class SmtpServer : public ChildServer {
 public:
  SmtpServer(std::filesystem::path maildir, int port)
      : ChildServer(port, {"/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l",
                           "127.0.0.1:" + std::to_string(port), "-c", "aiosmtpd.handlers.Mailbox",
                           maildir.string()}),
        maildir_(std::move(maildir)) {}

  // The messages received so far, each as its raw text (a file per message in new/).
  std::vector<std::string> Messages() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(maildir_ / "new", ec)) {
      out.push_back(ReadWhole(e.path()));
    }
    return out;
  }
  // Waits until `n` messages arrived (or `seconds` passed); returns those there.
  std::vector<std::string> AwaitMessages(size_t n, int seconds) const {
    std::vector<std::string> got;
    for (int i = 0; i < seconds * 10; ++i) {
      got = Messages();
      if (got.size() >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return got;
  }

 private:
  std::filesystem::path maildir_;
};

// A header's value in a raw message ("" if absent).
inline std::string MailHeader(const std::string& message, const std::string& name) {
  std::string head = message.substr(0, message.find("\n\n"));
  size_t at = head.rfind("\n" + name + ": ", std::string::npos);
  if (at == std::string::npos && head.rfind(name + ": ", 0) == 0) {
    at = 0;
  } else if (at != std::string::npos) {
    ++at;
  } else {
    return "";
  }
  size_t start = at + name.size() + 2;
  return head.substr(start, head.find('\n', start) - start);
}

// The decoded body of the message's part with this content type.
inline std::string MailPart(const std::string& message, const std::string& type) {
  size_t at = message.find("Content-Type: " + type);
  if (at == std::string::npos) return "";
  size_t body = message.find("\n\n", at) + 2;
  size_t end = message.find("\n--", body);
  return Base64Decode(message.substr(body, end - body)).value_or("(not base64)");
}

// Records each POST as DIR/NNNN.json ({"signature", "body", "status"}) and answers 500 to the
// first `failures` of them, 200 after.
constexpr char kWebhookReceiverScript[] = R"PY(
import http.server, json, os, sys
port, out, failures = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
count = [len(os.listdir(out))]
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length'])).decode()
        count[0] += 1
        status = 500 if count[0] <= failures else 200
        with open(os.path.join(out, '%04d.json' % count[0]), 'w') as f:
            json.dump({'signature': self.headers.get('X-Kiln-Signature', ''), 'body': body,
                       'status': status}, f)
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(('127.0.0.1', port), Receiver).serve_forever()
)PY";

class WebhookReceiver : public ChildServer {
 public:
  // `dir`: where the script and the calls go. The count of calls survives a restart (it
  // starts from the files there), so `failures` counts from the first call ever.
  WebhookReceiver(const std::filesystem::path& dir, int port, int failures)
      : ChildServer(port, {"/usr/bin/python3", (dir / "receiver.py").string(), std::to_string(port),
                           (dir / "received").string(), std::to_string(failures)}),
        dir_(dir) {
    std::filesystem::create_directories(dir / "received");
    std::ofstream(dir / "receiver.py") << kWebhookReceiverScript;
  }
  std::string Url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }
  // The calls so far, in order, each {"signature", "body", "status"} as text.
  std::vector<std::string> Calls() const {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir_ / "received")) {
      files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<std::string> out;
    for (const auto& f : files) out.push_back(ReadWhole(f));
    return out;
  }

 private:
  std::filesystem::path dir_;
};

// Whether `signature` (X-Kiln-Signature: t=SECONDS,v1=HEX) is HMAC-SHA256 under `secret` of
// "SECONDS." + body, as a receiver checks it; `seconds` gets its timestamp.
inline bool WebhookSignatureVerifies(const std::string& secret, const std::string& signature,
                                     const std::string& body, int64_t& seconds) {
  size_t comma = signature.find(",v1=");
  if (signature.rfind("t=", 0) != 0 || comma == std::string::npos) return false;
  std::string t = signature.substr(2, comma - 2);
  if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos) return false;
  seconds = std::stoll(t);
  return signature.substr(comma + 4) == HmacSha256Hex(secret, t + "." + body);
}

// pyftpdlib serving `root`, writable: to anonymous users, or (`user` given) only to that
// user with `password`.
class FtpServer : public ChildServer {
 public:
  FtpServer(const std::filesystem::path& root, int port, const std::string& user = "",
            const std::string& password = "")
      : ChildServer(port, Argv(root, port, user, password), /*quiet=*/true) {
    std::filesystem::create_directories(root);
  }

 private:
  static std::vector<std::string> Argv(const std::filesystem::path& root, int port,
                                       const std::string& user, const std::string& password) {
    std::vector<std::string> argv = {
        "/usr/bin/python3",   "-m", "pyftpdlib", "-i",         "127.0.0.1", "-p",
        std::to_string(port), "-w", "-d",        root.string()};
    if (!user.empty()) argv.insert(argv.end(), {"-u", user, "-P", password});
    return argv;
  }
};

// An sshd of the test's own in `dir` (needs root and openssh-server): its host key, a client
// key for kiln's [staging] sftp_key in an authorized_keys of its own (as root), internal-sftp,
// and a known_hosts naming its host key. ECDSA keys in PEM: what libssh2 1.10 reads.
class SftpServer : public ChildServer {
 public:
  SftpServer(const std::filesystem::path& dir, int port)
      : ChildServer(port, {"/usr/sbin/sshd", "-D", "-e", "-f", (dir / "sshd_config").string()}),
        dir_(dir) {}
  static bool Available() { return std::filesystem::exists("/usr/sbin/sshd") && geteuid() == 0; }
  // Writes the config and the keys; false if ssh-keygen failed.
  bool Prepare() {
    std::string d = dir_.string();
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "sshd_config")
        << "ListenAddress 127.0.0.1\nPort " << port() << "\nHostKey " << d
        << "/host_key\nAuthorizedKeysFile " << d
        << "/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
           "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nSubsystem sftp "
           "internal-sftp\nPidFile "
        << d << "/sshd.pid\n";
    std::string setup =
        "cd " + d +
        " && ssh-keygen -q -t ecdsa -b 256 -m PEM -N '' -f host_key && ssh-keygen -q -t ecdsa -b "
        "256 -m PEM -N '' -f client_key && cp client_key.pub authorized_keys && printf "
        "'[127.0.0.1]:" +
        std::to_string(port()) +
        " %s\\n' \"$(cut -d' ' -f1,2 host_key.pub)\" > known_hosts && mkdir -p /run/sshd";
    return std::system(setup.c_str()) == 0;
  }
  std::filesystem::path client_key() const { return dir_ / "client_key"; }
  std::filesystem::path known_hosts() const { return dir_ / "known_hosts"; }

 private:
  std::filesystem::path dir_;
};

}  // namespace kiln::testing
