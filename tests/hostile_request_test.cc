// Hostile requests against a real `kiln serve` (loopback only, bounded loops; issue 17): what a
// stranger with an account, a leaked worker token or no credentials at all tries, one case per
// finding. Each is answered with a 4xx, the master stays up, and its memory stays under the
// bound the test states.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server_process.h"
#include "service_harness.h"

namespace kiln::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const char* kKickstart = "lang C\nrootpw --lock\n%packages\nopenssh-server\n%end\n";

// The server's resident memory in KiB (VmRSS).
long RssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// A TCP connection to 127.0.0.1:`port` from the loopback address `source` (127.0.0.2 is a
// client of its own: the server exempts only 127.0.0.1, where a TLS proxy would connect from).
int ConnectFrom(const std::string& source, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in from{}, to{};
  from.sin_family = to.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  to.sin_port = htons(static_cast<uint16_t>(port));
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// One HTTP response read from `fd`: the status line, headers and a Content-Length body.
std::string ReadResponse(int fd) {
  std::string text;
  char buf[4096];
  size_t body_at = std::string::npos, length = 0;
  while (body_at == std::string::npos || text.size() < body_at + length) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (body_at == std::string::npos && (body_at = text.find("\r\n\r\n")) != std::string::npos) {
      body_at += 4;
      std::string lower = text.substr(0, body_at);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t at = lower.find("content-length:");
      length = at == std::string::npos ? 0 : std::stoul(lower.substr(at + 15));
    }
  }
  return text;
}

void Send(int fd, const std::string& text) { (void)!write(fd, text.data(), text.size()); }

// The server the free functions below talk to (set by each test).
std::string service_url_for_tests;

// `depth` arrays nested in one another: "[[[...]]]".
std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

class HostileRequestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    curl_global_init(CURL_GLOBAL_ALL);
    dir_ = fs::temp_directory_path() / ("kiln-hostile-request-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    service_ = new Service(KILN_BINARY, dir_);
    ASSERT_TRUE(service_->Start()) << service_->Log();
    admin_ = service_->AdminToken();
    ASSERT_EQ(Sh(service_->Kiln("user add mallory")).exit_code, 0);
    mallory_ = Token("--user mallory --name test");
    worker_a_ = Token("--worker host-a");
    worker_b_ = Token("--worker host-b");
  }
  static void TearDownTestSuite() {
    delete service_;
    fs::remove_all(dir_);
  }
  void TearDown() override {
    ASSERT_EQ(Http("GET", service_->Url("/api/v1/health")).status, 200)
        << "the master is still up\n"
        << service_->Log();
  }

  static std::string Token(const std::string& args) {
    RunResult t = Sh(service_->Kiln("token create " + args));
    EXPECT_EQ(t.exit_code, 0) << t.out;
    size_t at = t.out.find("kiln_");
    return at == std::string::npos ? "" : t.out.substr(at, t.out.find('\n', at) - at);
  }
  static std::vector<std::string> As(const std::string& token) {
    return {"Authorization: Bearer " + token, "Content-Type: application/json"};
  }
  static json Request(const std::string& extra_ks = "") {
    return {{"type", "qcow2"},
            {"arch", "x86_64"},
            {"release", "bookworm"},
            {"kickstart", std::string(kKickstart) + extra_ks}};
  }

  static inline fs::path dir_;
  static inline Service* service_ = nullptr;
  static inline std::string admin_, mallory_, worker_a_, worker_b_;
};

TEST_F(HostileRequestTest, JsonNestedTooDeepIsRefusedOnEveryRoute) {
  long before = RssKib(service_->pid());
  // 100,000 levels: about 200 KB of text, which once crashed the master (a stack overflow
  // while re-serialising the value).
  std::string deep = Nested(100000);
  struct Case {
    std::string path;
    std::string token;
    std::string body;
  };
  std::vector<Case> cases = {
      {"/api/v1/builds", mallory_, R"({"type":"qcow2","kickstart":)" + deep + "}"},
      {"/api/v1/builds/batch", mallory_, R"({"builds":[)" + deep + "]}"},
      {"/api/v1/kickstart/validate", mallory_, R"({"kickstart":)" + deep + "}"},
      {"/api/v1/tokens", admin_, R"({"user":)" + deep + "}"},
      {"/rest", mallory_, R"({"config":)" + deep + "}"},
      {"/api/v1/session", "", R"({"user":)" + deep + "}"},
      {"/api/v1/worker/register", worker_a_, R"({"worker":"host-a/1","arches":)" + deep + "}"},
      {"/api/v1/worker/claim", worker_a_, R"({"worker":"host-a/1","x":)" + deep + "}"},
      {"/api/v1/worker/1/events", worker_a_,
       R"({"worker":"host-a/1","attempt":1,"events":[{"kind":"log","data":{"x":)" + deep + "}}]}"},
      {"/api/v1/worker/results", worker_a_, R"({"worker":"host-a/1","results":)" + deep + "}"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> headers = {"Content-Type: application/json"};
    if (!c.token.empty()) headers.push_back("Authorization: Bearer " + c.token);
    HttpReply r = Http("POST", service_->Url(c.path), headers, c.body);
    if (c.path == "/api/v1/kickstart/validate") {
      // Validation answers what is wrong with its input as diagnostics.
      EXPECT_EQ(r.status, 200) << r.body;
      EXPECT_NE(r.body.find("\"valid\":false"), std::string::npos) << r.body;
      EXPECT_NE(r.body.find("deeper than 64 levels"), std::string::npos) << r.body;
      continue;
    }
    EXPECT_GE(r.status, 400) << c.path << ": " << r.body;
    EXPECT_LT(r.status, 500) << c.path << ": " << r.body;
    if (r.status == 400) {
      EXPECT_NE(r.body.find("deeper than 64 levels"), std::string::npos) << c.path << r.body;
    }
    ASSERT_EQ(Http("GET", service_->Url("/api/v1/health")).status, 200)
        << "the master died on " << c.path << "\n"
        << service_->Log();
  }
  // 64 levels are still JSON the routes read (and refuse for what it says, not how deep).
  HttpReply ok_depth = Http("POST", service_->Url("/api/v1/builds"), As(mallory_),
                            R"({"type":"qcow2","kickstart":)" + Nested(63) + "}");
  EXPECT_EQ(ok_depth.status, 422) << ok_depth.body;
  long after = RssKib(service_->pid());
  EXPECT_LT(after - before, 64 * 1024) << "KiB of resident memory these requests left behind";
}

TEST_F(HostileRequestTest, AWorkerReportsOnlyEventKindsOfItsOwn) {
  json build = json::parse(Http("POST", service_->Url("/api/v1/builds"), As(mallory_),
                                Request("%post\necho kinds\n%end\n").dump())
                               .body);
  int64_t id = build["id"];
  HttpReply claim = Http("POST", service_->Url("/api/v1/worker/" + std::to_string(id) + "/claim"),
                         As(worker_a_), R"({"worker":"host-a/kinds"})");
  ASSERT_EQ(claim.status, 200) << claim.body;
  int attempt = json::parse(claim.body)["attempt"];
  for (const std::string& kind : {std::string("state"), std::string("log\nevent: state"),
                                  std::string("result"), std::string("")}) {
    json body = {{"worker", "host-a/kinds"},
                 {"attempt", attempt},
                 {"events", {{{"kind", kind}, {"data", {{"state", "succeeded"}}}}}}};
    HttpReply r = Http("POST", service_->Url("/api/v1/worker/" + std::to_string(id) + "/events"),
                       As(worker_a_), body.dump());
    EXPECT_EQ(r.status, 400) << json(kind).dump() << ": " << r.body;
  }
  json state = json::parse(
      Http("GET", service_->Url("/api/v1/builds/" + std::to_string(id)), As(mallory_)).body);
  EXPECT_EQ(state["state"], "running") << "no forged state change reached the build";
  Http("POST", service_->Url("/api/v1/builds/" + std::to_string(id) + "/cancel"), As(mallory_));
}

TEST_F(HostileRequestTest, AWorkerTokenActsOnlyAsItsOwnWorkers) {
  json build = json::parse(Http("POST", service_->Url("/api/v1/builds"), As(mallory_),
                                Request("%post\necho bound\n%end\n").dump())
                               .body);
  std::string id = std::to_string(build["id"].get<int64_t>());
  auto call = [&](const std::string& token, const std::string& path, const json& body) {
    return Http("POST", service_->Url("/api/v1/worker/" + path), As(token), body.dump());
  };
  HttpReply claim = call(worker_a_, id + "/claim", {{"worker", "host-a/1"}});
  ASSERT_EQ(claim.status, 200) << claim.body;
  int attempt = json::parse(claim.body)["attempt"];
  // host-b's token, naming host-a's worker: it acts as host-b/host-a/1, which holds nothing.
  json as_a = {{"worker", "host-a/1"}, {"attempt", attempt}, {"state", "succeeded"}};
  EXPECT_EQ(call(worker_b_, id + "/result", as_a).status, 409);
  EXPECT_EQ(json::parse(call(worker_b_, id + "/heartbeat", as_a).body)["lease"], "lost");
  json events = {{"worker", "host-a/1"},
                 {"attempt", attempt},
                 {"events", {{{"kind", "log"}, {"data", {{"line", "forged by host-b"}}}}}}};
  EXPECT_EQ(call(worker_b_, id + "/events", events).status, 409);
  HttpReply log = Http("GET", service_->Url("/api/v1/builds/" + id + "/log"), As(mallory_));
  EXPECT_EQ(log.body.find("forged by host-b"), std::string::npos) << log.body;
  // What host-b registers is listed under its own name.
  ASSERT_EQ(call(worker_b_, "register", {{"worker", "host-a/9"}, {"arches", "x86_64"}}).status,
            200);
  json workers = json::parse(Http("GET", service_->Url("/api/v1/workers"), As(admin_)).body);
  std::vector<std::string> ids;
  for (const json& w : workers["workers"]) ids.push_back(w["id"]);
  EXPECT_NE(std::find(ids.begin(), ids.end(), "host-b/host-a/9"), ids.end()) << workers.dump();
  EXPECT_EQ(std::find(ids.begin(), ids.end(), "host-a/9"), ids.end()) << workers.dump();
  // A worker may not be named after the master's own workers.
  RunResult local = Sh(service_->Kiln("token create --worker local"));
  EXPECT_NE(local.exit_code, 0) << local.out;
  EXPECT_NE(local.out.find("master's own workers"), std::string::npos) << local.out;
  json done = {{"worker", "host-a/1"}, {"attempt", attempt}, {"state", "canceled"}};
  EXPECT_EQ(call(worker_a_, id + "/result", done).status, 200);
}

TEST_F(HostileRequestTest, UsersSeeTheirOwnNumbersAndWhatExplainsAWait) {
  ASSERT_EQ(Http("POST", service_->Url("/api/v1/worker/register"), As(worker_a_),
                 R"({"worker":"host-a/seen","arches":"x86_64","releases":"bookworm"})")
                .status,
            200);
  std::string theirs = Http("GET", service_->Url("/metrics"), As(mallory_)).body;
  EXPECT_NE(theirs.find("kiln_builds{state=\"queued\"}"), std::string::npos) << theirs;
  EXPECT_EQ(theirs.find("kiln_http_requests_total"), std::string::npos) << theirs;
  EXPECT_EQ(theirs.find("kiln_sign_in"), std::string::npos) << theirs;
  std::string all = Http("GET", service_->Url("/metrics"), As(admin_)).body;
  EXPECT_NE(all.find("kiln_http_requests_total"), std::string::npos);
  json seen = json::parse(Http("GET", service_->Url("/api/v1/workers"), As(mallory_)).body);
  ASSERT_FALSE(seen["workers"].empty());
  for (const json& w : seen["workers"]) {
    EXPECT_FALSE(w.contains("id")) << w.dump();
    EXPECT_FALSE(w.contains("version")) << w.dump();
    EXPECT_FALSE(w.contains("current_builds")) << w.dump();
    EXPECT_TRUE(w.contains("arches") && w.contains("online") && w.contains("load")) << w.dump();
  }
  json admins = json::parse(Http("GET", service_->Url("/api/v1/workers"), As(admin_)).body);
  EXPECT_TRUE(admins["workers"][0].contains("id")) << admins.dump();
}

TEST_F(HostileRequestTest, PackageSourcesNeverNameAPathOnTheServer) {
  fs::path uploads = dir_ / "data" / "uploads";
  for (const std::string& source :
       {(uploads / "../../../../etc/shadow").string(), uploads.string() + "/x.deb",
        std::string("/etc/shadow"), std::string("file:///etc/shadow")}) {
    json request = Request();
    request["package_files"] = {{{"name", "x_1_amd64.deb"}, {"source", source}}};
    HttpReply r = Http("POST", service_->Url("/api/v1/builds"), As(mallory_), request.dump());
    EXPECT_EQ(r.status, 422) << source << ": " << r.body;
  }
}

TEST_F(HostileRequestTest, UploadsOfARefusedRequestAreNeverStored) {
  fs::path uploads = dir_ / "data" / "uploads";
  auto count = [&] {
    std::error_code ec;
    size_t n = 0;
    for (auto it = fs::directory_iterator(uploads, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      ++n;
    }
    return n;
  };
  size_t before = count();
  std::string boundary = "kilnboundary";
  auto part = [&](const std::string& name, const std::string& data,
                  const std::string& filename = "") {
    return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"" +
           (filename.empty() ? "" : "; filename=\"" + filename + "\"") + "\r\n\r\n" + data + "\r\n";
  };
  std::string body = part("type", "no-such-type") + part("arch", "x86_64") +
                     part("kickstart", kKickstart, "ks.cfg") +
                     part("package", std::string(4096, 'x'), "junk_1_amd64.deb") + "--" + boundary +
                     "--\r\n";
  HttpReply r = Http("POST", service_->Url("/api/v1/builds"),
                     {"Authorization: Bearer " + mallory_,
                      "Content-Type: multipart/form-data; boundary=" + boundary},
                     body);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(count(), before) << "nothing of a refused request is kept";
}

TEST_F(HostileRequestTest, UploadsCountAgainstAQuotaPerUser) {
  Service quota(KILN_BINARY, dir_ / "quota");
  ASSERT_TRUE(quota.Start({"--upload-quota-mib", "0.015"})) << quota.Log();  // ~15 KiB a day
  std::string token = quota.AdminToken();
  auto submit = [&](char fill) {
    std::string boundary = "kilnboundary";
    auto part = [&](const std::string& name, const std::string& data,
                    const std::string& filename = "") {
      return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"" +
             (filename.empty() ? "" : "; filename=\"" + filename + "\"") + "\r\n\r\n" + data +
             "\r\n";
    };
    std::string body =
        part("type", "tar") + part("kickstart", kKickstart, "ks.cfg") +
        part("package", DebShapedBytes(std::string(10 << 10, fill)), "pkg_1_amd64.deb") + "--" +
        boundary + "--\r\n";
    return Http("POST", quota.Url("/api/v1/builds?dry_run=1"),
                {"Authorization: Bearer " + token,
                 "Content-Type: multipart/form-data; boundary=" + boundary},
                body);
  };
  HttpReply first = submit('a');
  EXPECT_EQ(first.status, 201) << first.body;
  HttpReply again = submit('a');
  EXPECT_LT(again.status, 300) << "the same bytes are stored once and count once: " << again.body;
  HttpReply second = submit('b');
  EXPECT_EQ(second.status, 413) << second.body;
  EXPECT_NE(second.body.find("upload-quota-exceeded"), std::string::npos) << second.body;
  size_t stored = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "quota" / "data" / "uploads")) {
    stored += e.is_regular_file();
  }
  EXPECT_EQ(stored, 1u);
}

TEST_F(HostileRequestTest, TheDataDirectoryIsTheServicesAlone) {
  struct stat st {};
  ASSERT_EQ(stat((dir_ / "data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const char* name : {"kiln.db", "admin.token"}) {
    ASSERT_EQ(stat((dir_ / "data" / name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_mode & 0077, 0u) << name << " is readable by others";
  }
}

TEST_F(HostileRequestTest, UrlsWithLineBreaksAreRefused) {
  for (const char* field : {"mirror", "proxy", "kickstart_url"}) {
    json request = Request();
    request[field] = "http://deb.debian.org/debian\nAPT::Update::Pre-Invoke {\"id\"}";
    HttpReply r = Http("POST", service_->Url("/api/v1/builds"), As(mallory_), request.dump());
    EXPECT_EQ(r.status, 422) << field << ": " << r.body;
    EXPECT_NE(r.body.find(field), std::string::npos) << r.body;
  }
}

// A small HTTP server on 127.0.0.1 (python3's http.server with handlers of the test's own):
// /secret answers a secret, /redirect?to=URL redirects there, /drip sends a byte a second.
class TestHttpServer {
 public:
  explicit TestHttpServer(const std::string& secret)
      : process_({"/usr/bin/python3", "-u", "-c", Script(secret)}, "serving on port ") {}
  int port() const { return process_.port(); }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }

 private:
  static std::string Script(const std::string& secret) {
    return R"(
import http.server, sys, time, urllib.parse
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        if u.path == '/redirect':
            self.send_response(302)
            self.send_header('Location', urllib.parse.parse_qs(u.query)['to'][0])
            self.end_headers()
        elif u.path == '/drip':
            self.send_response(200)
            self.end_headers()
            for _ in range(60):
                self.wfile.write(b'#')
                self.wfile.flush()
                time.sleep(1)
        else:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b')" +
           secret + R"(\n')
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
print('serving on port', s.server_address[1], flush=True)
s.serve_forever()
)";
  }
  ServerProcess process_;
};

constexpr char kSecret[] = "kiln-test-secret-7f3a";

// What a validate of a kickstart including `url` answers.
json ValidateIncluding(const std::string& url, const std::string& token) {
  HttpReply r = Http("POST", service_url_for_tests + "/api/v1/kickstart/validate",
                     {"Authorization: Bearer " + token, "Content-Type: text/plain"},
                     std::string(kKickstart) + "%include " + url + "\n");
  json body = json::parse(r.body, nullptr, false);
  body["status"] = r.status;
  body["raw"] = r.body;
  return body;
}

TEST_F(HostileRequestTest, TheServerFetchesNoInternalAddressForAUser) {
  TestHttpServer secret(kSecret);
  ASSERT_GT(secret.port(), 0);
  std::string port = std::to_string(secret.port());
  service_url_for_tests = service_->Url("");
  // Loopback by number, by name and by the forms that spell it differently; link-local (a
  // cloud's metadata service); a closed port beside an open one.
  std::vector<std::string> urls = {
      secret.Url("/secret"),
      "http://localhost:" + port + "/secret",
      "http://[::1]:" + port + "/secret",
      "http://[::ffff:127.0.0.1]:" + port + "/secret",
      "http://2130706433:" + port + "/secret",
      "http://0.0.0.0:" + port + "/secret",
      "http://169.254.169.254/latest/meta-data/",
      "http://127.0.0.1:9/secret",
  };
  std::set<std::string> messages;
  for (const std::string& url : urls) {
    auto start = std::chrono::steady_clock::now();
    json v = ValidateIncluding(url, mallory_);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << url;
    EXPECT_EQ(v["status"], 200) << url;
    EXPECT_EQ(v["valid"], false) << url << ": " << v["raw"];
    EXPECT_EQ(v["raw"].get<std::string>().find(kSecret), std::string::npos)
        << url << ": the secret came back\n"
        << v["raw"];
    for (const json& d : v["diagnostics"]) {
      std::string m = d["message"];
      // Without the URL, every refusal reads the same: nothing tells an open port from a
      // closed one.
      size_t at = m.find(url);
      if (at != std::string::npos) m.erase(at, url.size());
      messages.insert(m);
    }
  }
  ASSERT_EQ(messages.size(), 1u) << ::testing::PrintToString(messages);
  EXPECT_NE(messages.begin()->find("refused by the server's fetch policy"), std::string::npos)
      << *messages.begin();
  // The same through a submit: a kickstart_url of the master's own loopback.
  json request = Request();
  request.erase("kickstart");
  request["kickstart_url"] = secret.Url("/secret");
  HttpReply submit = Http("POST", service_->Url("/api/v1/builds"), As(mallory_), request.dump());
  EXPECT_EQ(submit.status, 422) << submit.body;
  EXPECT_EQ(submit.body.find(kSecret), std::string::npos) << submit.body;
}

// A server whose admin opened 127.0.0.1 to fetches: a redirect from there to another internal
// address is refused where it lands, and slow fetches hold only the fetch slots, never the
// threads sign-ins need.
TEST_F(HostileRequestTest, RedirectsAreCheckedAndSlowFetchesDoNotStarveSignIns) {
  Service opened(KILN_BINARY, dir_ / "opened");
  ASSERT_TRUE(opened.Start({"--fetch-allow", "127.0.0.1/32", "--fetch-timeout", "6"}))
      << opened.Log();
  ASSERT_EQ(Sh(opened.Kiln("user add dave")).exit_code, 0);
  ASSERT_EQ(Sh("echo 'erin-password' | " + opened.Kiln("user add erin --password-stdin")).exit_code,
            0);
  RunResult t = Sh(opened.Kiln("token create --user dave --name test"));
  size_t at = t.out.find("kiln_");
  ASSERT_NE(at, std::string::npos) << t.out;
  std::string dave = t.out.substr(at, t.out.find('\n', at) - at);
  TestHttpServer web(kSecret);
  ASSERT_GT(web.port(), 0);
  service_url_for_tests = opened.Url("");

  json allowed = ValidateIncluding(web.Url("/secret"), dave);
  EXPECT_NE(allowed["raw"].get<std::string>().find(kSecret), std::string::npos)
      << "an opened range is fetched: " << allowed["raw"];
  std::string elsewhere = "http://127.0.0.2:" + std::to_string(web.port()) + "/secret";
  json redirected = ValidateIncluding(web.Url("/redirect?to=" + elsewhere), dave);
  EXPECT_EQ(redirected["raw"].get<std::string>().find(kSecret), std::string::npos)
      << redirected["raw"];
  EXPECT_NE(redirected["raw"].get<std::string>().find("refused by the server's fetch policy"),
            std::string::npos)
      << redirected["raw"];

  // Four slow includes at once: two fetch (the server's limit), two are told to come back.
  std::vector<std::future<json>> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(
        std::async(std::launch::async, [&] { return ValidateIncluding(web.Url("/drip"), dave); }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto start = std::chrono::steady_clock::now();
  HttpReply login = Http("POST", opened.Url("/api/v1/session"), {},
                         R"({"user":"erin","password":"erin-password"})");
  EXPECT_EQ(login.status, 200) << login.body;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3))
      << "a sign-in waited for the slow fetches";
  int refused = 0, timed_out = 0;
  for (std::future<json>& f : slow) {
    json v = f.get();
    if (v["status"] == 429) ++refused;
    std::string raw = v["raw"];
    if (raw.find("took longer than") != std::string::npos ||
        raw.find("timed out") != std::string::npos || raw.find("Timeout") != std::string::npos) {
      ++timed_out;
    }
  }
  EXPECT_EQ(refused, 2);
  EXPECT_EQ(timed_out, 2) << "the fetch time limit ended the others";
}

TEST_F(HostileRequestTest, GuessingPasswordsLocksTheNameOutAndTakesAsLongForUnknownNames) {
  ASSERT_EQ(
      Sh("echo 'frank-password' | " + service_->Kiln("user add frank --password-stdin")).exit_code,
      0);
  auto sign_in = [&](const std::string& user, const std::string& password) {
    json body = {{"user", user}, {"password", password}};
    return Http("POST", service_->Url("/api/v1/session"), {"Content-Type: application/json"},
                body.dump());
  };
  // No timing oracle: an unknown name costs the same hashing as a known one's wrong password.
  auto time_of = [&](const std::string& user) {
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(sign_in(user, "wrong").status, 401) << user;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  double known = time_of("frank"), unknown = time_of("nobody-by-this-name");
  EXPECT_GT(unknown, known / 3) << "known " << known << " s, unknown " << unknown << " s";
  // 5 free failures (4 more now), the 6th locks the name out, even for the right password.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(sign_in("frank", "wrong").status, 401);
  HttpReply locked = sign_in("frank", "frank-password");
  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_FALSE(locked.headers["retry-after"].empty());
  EXPECT_NE(locked.body.find("kiln user unlock"), std::string::npos) << locked.body;
  // Counted where an admin sees it, and an admin unlocks the name.
  std::string metrics = Http("GET", service_->Url("/metrics"), As(admin_)).body;
  EXPECT_NE(metrics.find("kiln_sign_in_failures_total"), std::string::npos);
  EXPECT_EQ(metrics.find("kiln_sign_in_failures_total 0\n"), std::string::npos);
  EXPECT_NE(service_->Log().find("sign-in failed for user 'frank' from 127.0.0.1"),
            std::string::npos);
  EXPECT_EQ(Http("POST", service_->Url("/api/v1/users/frank/unlock"), As(mallory_)).status, 403);
  RunResult unlock = Sh("KILN_SERVER=" + service_->Url("") + " KILN_TOKEN=" + admin_ + " " +
                        std::string(KILN_BINARY) + " user unlock frank");
  EXPECT_EQ(unlock.exit_code, 0) << unlock.out;
  // A name that is not one (it would go into the request's path) is refused before sending.
  RunResult bad = Sh("KILN_SERVER=" + service_->Url("") + " KILN_TOKEN=" + admin_ + " " +
                     std::string(KILN_BINARY) + " user unlock '../tokens?x=' 2>&1");
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("is not a valid user name"), std::string::npos) << bad.out;
  HttpReply back = sign_in("frank", "frank-password");
  EXPECT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(back.headers["set-cookie"].find("Secure"), std::string::npos) << "plain HTTP here";
  HttpReply over_tls = Http("POST", service_->Url("/api/v1/session"),
                            {"Content-Type: application/json", "X-Forwarded-Proto: https"},
                            R"({"user":"frank","password":"frank-password"})");
  EXPECT_NE(over_tls.headers["set-cookie"].find("; Secure"), std::string::npos)
      << "behind a TLS proxy the cookie is Secure";
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KILN_SANITIZED_MEMORY 1  // shadow memory and quarantines: peaks are the sanitizer's
#endif
#endif
#ifndef KILN_SANITIZED_MEMORY
#define KILN_SANITIZED_MEMORY 0
#endif

// The server's peak memory in KiB (VmHWM).
long PeakKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// What one request costs the server at its peak, in KiB above its memory just before: the
// kernel's peak (VmHWM) is reset first (clear_refs 5).
class PeakMeter {
 public:
  explicit PeakMeter(pid_t pid) : pid_(pid) {}
  long Measure(const std::function<void()>& request) {
    std::ofstream("/proc/" + std::to_string(pid_) + "/clear_refs") << "5";
    long before = RssKib(pid_);
    request();
    return PeakKib(pid_) - before;
  }

 private:
  pid_t pid_;
};

TEST_F(HostileRequestTest, KickstartsHaveASizeLimitAndCostAFewTimesTheirSize) {
  Service fresh(KILN_BINARY, dir_ / "sizes");
  ASSERT_TRUE(fresh.Start()) << fresh.Log();
  std::vector<std::string> auth = As(fresh.AdminToken());
  ASSERT_EQ(Http("GET", fresh.Url("/api/v1/builds"), auth).status, 200);
  // The same paths once with a small kickstart: what is paid once (code paged in, the
  // threads' first allocations) is not what a large kickstart costs.
  json small = Request("%post\necho small\n%end\n");
  ASSERT_EQ(Http("POST", fresh.Url("/api/v1/builds"), auth, small.dump()).status, 201);
  ASSERT_EQ(Http("POST", fresh.Url("/api/v1/kickstart/validate"),
                 {auth[0], "Content-Type: text/plain"}, small["kickstart"].get<std::string>())
                .status,
            200);
  long settled = RssKib(fresh.pid());
  // Each request's peak memory is at most 4 times its body. Just under the limit (1 MiB by
  // default), a valid kickstart (a %post of 1,000 KiB), submitted as JSON and validated as
  // text: it was 25 times (the JSON lexer's copies, the spec copied into the store's row and
  // SQLite's bound copy, the body kept to the end). Then kickstarts of many short lines, each
  // of which once cost many times its length (a million unknown commands: 150 MB and 28 s):
  // their parse stops at a limit, or after 200 problems.
  PeakMeter meter(fresh.pid());
  std::vector<std::pair<std::string, long>> peaks;  // what, KiB over 4 times the body
  auto costs = [&](const std::string& what, size_t body_bytes, const std::function<void()>& call) {
    long peak = meter.Measure(call);
    peaks.emplace_back(what, peak);
    std::cerr << what << ": peak " << peak << " KiB for a body of " << (body_bytes >> 10)
              << " KiB\n";
#if defined(__SANITIZE_ADDRESS__) || KILN_SANITIZED_MEMORY
    // ASan keeps freed memory in quarantine and pads every block, TSan shadows it: their peak
    // is not the server's.
#else
    EXPECT_LE(peak, 4 * static_cast<long>(body_bytes >> 10)) << what;
#endif
  };
  std::string post = "%post\n";
  while (post.size() < (1000 << 10)) post += "echo 'a line of a long post script'\n";
  std::string kickstart = std::string(kKickstart) + post + "%end\n";
  json request = Request();
  request["kickstart"] = kickstart;
  std::string body = request.dump();
  costs("a submit of a 1000 KiB %post", body.size(), [&] {
    HttpReply submitted = Http("POST", fresh.Url("/api/v1/builds"), auth, body);
    EXPECT_EQ(submitted.status, 201) << submitted.body.substr(0, 400);
  });
  costs("a validate of it as text", kickstart.size(), [&] {
    HttpReply validated = Http("POST", fresh.Url("/api/v1/kickstart/validate"),
                               {auth[0], "Content-Type: text/plain"}, kickstart);
    EXPECT_NE(validated.body.find("\"valid\":true"), std::string::npos)
        << validated.body.substr(0, 400);
  });
  auto lines = [](const std::string& head, const std::string& unit) {
    std::string text = std::string(kKickstart) + head;
    for (int i = 0; text.size() < (1000 << 10); ++i) text += unit + std::to_string(i) + "\n";
    return text;
  };
  const std::vector<std::pair<std::string, std::string>> short_lines = {
      {lines("", "user --name=u"), "more than 1000 repeatable commands"},
      {lines("%packages\n", "p"), "more than 10000 package lines"},
      {lines("", "%post\nx\n%end\n#"), "more than 200 sections"},
      {lines("", "zz"), "too many problems: only the first 200 are listed"},
  };
  for (const auto& item : short_lines) {
    // (Named, not bound: clang 14 cannot capture a structured binding in a lambda.)
    const std::string& text = item.first;
    const std::string& error = item.second;
    request["kickstart"] = text;
    body = request.dump();
    costs("a submit: " + error, body.size(), [&] {
      HttpReply refused = Http("POST", fresh.Url("/api/v1/builds"), auth, body);
      EXPECT_EQ(refused.status, 422) << refused.body.substr(0, 400);
      EXPECT_NE(refused.body.find(error), std::string::npos) << refused.body.substr(0, 400);
    });
    costs("a validate: " + error, text.size(), [&] {
      HttpReply checked = Http("POST", fresh.Url("/api/v1/kickstart/validate"),
                               {auth[0], "Content-Type: text/plain"}, text);
      EXPECT_NE(checked.body.find(error), std::string::npos) << checked.body.substr(0, 400);
    });
  }
  // What they leave behind: the server gives their memory back (SQLite's page cache keeps a
  // little of the stored spec, the allocator a little of the rest).
  long kept = RssKib(fresh.pid()) - settled;
  std::cerr << "kept " << kept << " KiB after " << peaks.size() << " large requests\n";
#if !(defined(__SANITIZE_ADDRESS__) || KILN_SANITIZED_MEMORY)
  EXPECT_LE(kept, 2 * 1024) << "KiB kept after the large requests";
#endif

  // Past the limit: a 422 that says so, or a 413 for a JSON body that could not hold a
  // kickstart of the limit.
  std::string big(1200 << 10, '#');
  for (size_t i = 100; i < big.size(); i += 100) big[i] = '\n';
  request["kickstart"] = std::string(kKickstart) + big;
  HttpReply over = Http("POST", fresh.Url("/api/v1/builds"), auth, request.dump());
  EXPECT_EQ(over.status, 422) << over.body.substr(0, 400);
  EXPECT_NE(over.body.find("larger than this server takes (1024 KiB)"), std::string::npos)
      << over.body.substr(0, 400);
  HttpReply huge = Http("POST", fresh.Url("/api/v1/builds"), auth,
                        R"({"type":"qcow2","kickstart":")" + std::string(3 << 20, 'x') + "\"}");
  EXPECT_EQ(huge.status, 413) << huge.body.substr(0, 400);
  HttpReply plain = Http("POST", fresh.Url("/api/v1/kickstart/validate"),
                         {auth[0], "Content-Type: text/plain"}, std::string(kKickstart) + big);
  EXPECT_NE(plain.body.find("larger than this server takes"), std::string::npos)
      << plain.body.substr(0, 400);
}

TEST_F(HostileRequestTest, StrangersBodiesAreRefusedBeforeTheyAreRead) {
  long before = RssKib(service_->pid());
  // Ten 60 MiB submits without (or with bad) credentials: each is answered from its headers,
  // its body never read.
  for (int i = 0; i < 10; ++i) {
    int fd = ConnectFrom("127.0.0.1", service_->port());
    ASSERT_GE(fd, 0);
    Send(fd, std::string("POST /api/v1/builds HTTP/1.1\r\nHost: kiln\r\n") +
                 (i % 2 == 0 ? "" : "Authorization: Bearer kiln_not_a_real_token\r\n") +
                 "Content-Type: application/json\r\nContent-Length: 62914560\r\n\r\n" +
                 std::string(1000, '['));
    auto start = std::chrono::steady_clock::now();
    std::string answer = ReadResponse(fd);
    close(fd);
    EXPECT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << answer;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  }
  EXPECT_LT(RssKib(service_->pid()) - before, 16 * 1024) << "KiB the refused bodies left";
  // A small unauthenticated body (a sign-in) is still read.
  EXPECT_EQ(Http("POST", service_->Url("/api/v1/session"), {"Content-Type: application/json"},
                 R"({"user":"nobody","password":"x"})")
                .status,
            401);
}

TEST_F(HostileRequestTest, OneAddressGetsSoManyConnectionsAndRequests) {
  Service limited(KILN_BINARY, dir_ / "limited");
  ASSERT_TRUE(
      limited.Start({"--max-connections-per-address", "5", "--max-requests-per-address", "10"}))
      << limited.Log();
  std::vector<int> held;
  for (int i = 0; i < 5; ++i) {
    held.push_back(ConnectFrom("127.0.0.2", limited.port()));
    ASSERT_GE(held.back(), 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int sixth = ConnectFrom("127.0.0.2", limited.port());
  ASSERT_GE(sixth, 0);
  std::string refused = ReadResponse(sixth);
  close(sixth);
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("too-many-connections"), std::string::npos) << refused;
  EXPECT_EQ(Http("GET", limited.Url("/api/v1/health")).status, 200)
      << "127.0.0.1 (a local TLS proxy) is not limited";
  for (int fd : held) close(fd);

  // 10 a second with bursts of 40: a client asking 100 times at once is told to slow down.
  int fd = ConnectFrom("127.0.0.3", limited.port());
  ASSERT_GE(fd, 0);
  int ok = 0, slowed = 0;
  for (int i = 0; i < 100 && slowed == 0; ++i) {
    Send(fd, "GET /api/v1/health HTTP/1.1\r\nHost: kiln\r\n\r\n");
    std::string answer = ReadResponse(fd);
    if (answer.rfind("HTTP/1.1 200", 0) == 0) ++ok;
    if (answer.rfind("HTTP/1.1 429", 0) == 0) {
      ++slowed;
      EXPECT_NE(answer.find("Retry-After: 1"), std::string::npos) << answer;
    }
  }
  close(fd);
  EXPECT_EQ(slowed, 1);
  EXPECT_GE(ok, 35);
  EXPECT_LE(ok, 50);
}

}  // namespace
}  // namespace kiln::testing
