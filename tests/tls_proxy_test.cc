// kiln behind the TLS proxy of examples/nginx-kiln.conf, that very file: a real nginx with a
// certificate made here terminates HTTPS in front of a real `kiln serve`. Through it the API
// answers, the session cookie is Secure, and kiln sees the client's own address (a sign-in
// failure is logged with it), which no client can forge by sending X-Forwarded-For itself.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <thread>

#include "loopback_listener.h"
#include "service_harness.h"

namespace kiln::testing {
namespace {
namespace fs = std::filesystem;

struct Answer {
  long status = 0;
  std::string body, cookie;
  std::string error;
};

// One HTTPS request, verified against `ca`, from the local address `from`.
Answer Https(const std::string& url, const std::string& ca, const std::string& from,
             const std::string& body = "", const std::vector<std::string>& headers = {}) {
  Answer a;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(curl, CURLOPT_INTERFACE, ("host!" + from).c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  if (!body.empty()) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* out) -> size_t {
        static_cast<std::string*>(out)->append(p, s * n);
        return s * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(
      curl, CURLOPT_HEADERFUNCTION, +[](char* p, size_t s, size_t n, void* out) -> size_t {
        std::string line(p, s * n);
        if (line.rfind("Set-Cookie:", 0) == 0 || line.rfind("set-cookie:", 0) == 0) {
          *static_cast<std::string*>(out) = line;
        }
        return s * n;
      });
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a.cookie);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
  } else {
    a.error = error;
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return a;
}

TEST(TlsProxyTest, TheExampleNginxConfigServesKilnOverHttps) {
  if (Sh("command -v nginx && command -v openssl").exit_code != 0) {
    GTEST_SKIP() << "nginx or openssl is missing (scripts/install-deps.sh test installs them)";
  }
  if (geteuid() != 0) GTEST_SKIP() << "nginx's worker processes need root to start here";
  curl_global_init(CURL_GLOBAL_ALL);
  fs::path dir = fs::temp_directory_path() / ("kiln-tls-proxy-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "tmp");
  std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  RunResult made =
      Sh("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
         "-addext subjectAltName=IP:127.0.0.1 -keyout " +
         key + " -out " + cert + " 2>&1");
  ASSERT_EQ(made.exit_code, 0) << made.out;

  Service kiln(KILN_BINARY, dir / "kiln");
  ASSERT_TRUE(kiln.Start()) << kiln.Log();
  ASSERT_EQ(Sh("echo 'gina-password' | " + kiln.Kiln("user add gina --password-stdin")).exit_code,
            0);

  // The example as shipped, pointed at this test's certificate, ports and kiln.
  std::string conf = ReadFile(fs::path(KILN_SOURCE_DIR) / "examples/nginx-kiln.conf");
  ASSERT_FALSE(conf.empty());
  int port = FreePort();
  auto replace = [&](const std::string& from, const std::string& to) {
    size_t at = conf.find(from);
    ASSERT_NE(at, std::string::npos) << "the example no longer says: " << from;
    conf.replace(at, from.size(), to);
  };
  replace("server 127.0.0.1:5000;", "server 127.0.0.1:" + std::to_string(kiln.port()) + ";");
  replace("listen 443 ssl;", "listen 127.0.0.1:" + std::to_string(port) + " ssl;");
  replace("/etc/ssl/certs/kiln.example.org.pem", cert);
  replace("/etc/ssl/private/kiln.example.org.key", key);
  std::ofstream(dir / "kiln.conf") << conf;
  std::string t = (dir / "tmp").string();
  std::ofstream(dir / "nginx.conf")
      << "pid " << (dir / "nginx.pid").string() << ";\nerror_log " << (dir / "error.log").string()
      << ";\nevents {}\nhttp {\n  access_log off;\n  client_body_temp_path " << t
      << ";\n  proxy_temp_path " << t << ";\n  fastcgi_temp_path " << t << ";\n  uwsgi_temp_path "
      << t << ";\n  scgi_temp_path " << t << ";\n  include " << (dir / "kiln.conf").string()
      << ";\n}\n";
  pid_t nginx = fork();
  if (nginx == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execlp("nginx", "nginx", "-c", (dir / "nginx.conf").c_str(), "-g", "daemon off;", nullptr);
    _exit(127);
  }
  std::string base = "https://127.0.0.1:" + std::to_string(port);
  Answer health;
  for (int i = 0; i < 100 && health.status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    health = Https(base + "/api/v1/health", cert, "127.0.0.1");
  }
  EXPECT_EQ(health.status, 200) << health.error << ReadFile(dir / "error.log");
  EXPECT_NE(health.body.find("\"status\":\"ok\""), std::string::npos) << health.body;

  // Sign-in over HTTPS: the cookie is Secure.
  Answer signed_in =
      Https(base + "/api/v1/session", cert, "127.0.0.1",
            R"({"user":"gina","password":"gina-password"})", {"Content-Type: application/json"});
  EXPECT_EQ(signed_in.status, 200) << signed_in.body << signed_in.error;
  EXPECT_NE(signed_in.cookie.find("; Secure"), std::string::npos) << signed_in.cookie;
  // kiln sees the client's own address (127.0.0.2 here), not nginx's, and not what a client
  // claims in its own X-Forwarded-For.
  Answer failed =
      Https(base + "/api/v1/session", cert, "127.0.0.2", R"({"user":"gina","password":"wrong"})",
            {"Content-Type: application/json", "X-Forwarded-For: 203.0.113.9"});
  EXPECT_EQ(failed.status, 401) << failed.body << failed.error;
  std::string log = kiln.Log();
  EXPECT_NE(log.find("sign-in failed for user 'gina' from 127.0.0.2"), std::string::npos) << log;
  EXPECT_EQ(log.find("203.0.113.9"), std::string::npos) << log;

  kill(nginx, SIGTERM);
  waitpid(nginx, nullptr, 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kiln::testing
