// A real `kiln serve` (no workers: nothing here builds) driven over HTTP: auth, submitting in
// every form, the queue's answers, bad input, event streams, metrics and restarts.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "core/sha256.h"
#include "server_process.h"
#include "service_harness.h"

namespace kiln::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const char* kKickstart =
    "lang en_US.UTF-8\nkeyboard us\ntimezone UTC\nrootpw --lock\n%packages\nopenssh-server\n%end\n";

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    curl_global_init(CURL_GLOBAL_ALL);
    dir_ = fs::temp_directory_path() / ("kiln-server-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    service_ = new Service(KILN_BINARY, dir_);
    // Its admin lets it fetch kickstarts from this host's loopback (the tests' URL servers).
    ASSERT_TRUE(service_->Start({"--request-timeout", "2", "--fetch-allow", "127.0.0.0/8"}))
        << service_->Log();
    token_ = service_->AdminToken();
    ASSERT_EQ(token_.rfind("kiln_", 0), 0u) << "admin token written on first start";
    ASSERT_EQ(Sh(service_->Kiln("user add bob")).exit_code, 0);
    RunResult t = Sh(service_->Kiln("token create --user bob --name test"));
    ASSERT_EQ(t.exit_code, 0) << t.out;
    size_t at = t.out.find("kiln_");
    ASSERT_NE(at, std::string::npos) << t.out;
    bob_token_ = t.out.substr(at, t.out.find('\n', at) - at);
  }
  static void TearDownTestSuite() {
    delete service_;
    fs::remove_all(dir_);
  }

  static std::vector<std::string> Auth(const std::string& token = token_) {
    return {"Authorization: Bearer " + token, "Content-Type: application/json"};
  }
  static json Request(const std::string& type = "qcow2", const std::string& extra_ks = "") {
    return {{"type", type},
            {"arch", "x86_64"},
            {"release", "bookworm"},
            {"kickstart", std::string(kKickstart) + extra_ks}};
  }
  static HttpReply Submit(const json& request, std::vector<std::string> headers = Auth()) {
    return Http("POST", service_->Url("/api/v1/builds"), headers, request.dump());
  }

  static inline fs::path dir_;
  static inline Service* service_ = nullptr;
  static inline std::string token_, bob_token_;
};

TEST_F(ServerTest, HealthIsOpenEverythingElseNeedsAToken) {
  HttpReply h = Http("GET", service_->Url("/api/v1/health"));
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(json::parse(h.body)["status"], "ok");
  HttpReply none = Http("GET", service_->Url("/api/v1/builds"));
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(json::parse(none.body)["error"]["code"], "unauthorized");
  HttpReply bad = Http("GET", service_->Url("/api/v1/builds"), {"Authorization: Bearer kiln_nope"});
  EXPECT_EQ(bad.status, 401);
  HttpReply basic = Http("GET", service_->Url("/api/v1/builds"), {"Authorization: Basic eDp5"});
  EXPECT_EQ(basic.status, 401);
  EXPECT_EQ(Http("GET", service_->Url("/metrics")).status, 401);
  EXPECT_EQ(Http("POST", service_->Url("/rest"), {}, "{}").status, 401);
}

TEST_F(ServerTest, SubmitGetAndListAQueuedBuild) {
  HttpReply r = Submit(Request("qcow2", "%post\necho list-test\n%end\n"));
  ASSERT_EQ(r.status, 201) << r.body;
  json b = json::parse(r.body);
  EXPECT_EQ(b["state"], "queued");
  EXPECT_EQ(b["owner"], "admin");
  EXPECT_EQ(r.headers["location"], "/api/v1/builds/" + std::to_string(b["id"].get<int>()));
  HttpReply got = Http("GET", service_->Url(b["url"].get<std::string>()), Auth());
  ASSERT_EQ(got.status, 200);
  json detail = json::parse(got.body);
  EXPECT_EQ(detail["type"], "qcow2");
  EXPECT_GE(detail["queue"]["position"].get<int>(), 1);
  EXPECT_NE(detail["queue"]["waiting_for"].get<std::string>().find("no online worker"),
            std::string::npos)
      << "with --workers 0 nobody can build it, and the build says so";
  HttpReply list = Http("GET", service_->Url("/api/v1/builds?state=queued&type=qcow2"), Auth());
  ASSERT_EQ(list.status, 200);
  bool found = false;
  json listed = json::parse(list.body);
  for (const json& item : listed["builds"]) found |= item["id"] == b["id"];
  EXPECT_TRUE(found) << list.body;
}

TEST_F(ServerTest, IdempotencyKeyAndIdenticalRequestsGiveOneBuild) {
  json req = Request("raw", "%post\necho idem\n%end\n");
  std::vector<std::string> h = Auth();
  h.push_back("Idempotency-Key: abc-123");
  HttpReply first = Submit(req, h);
  ASSERT_EQ(first.status, 201);
  HttpReply again = Submit(req, h);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(json::parse(again.body)["id"], json::parse(first.body)["id"]);
  HttpReply same_spec = Submit(req);
  EXPECT_EQ(json::parse(same_spec.body)["id"], json::parse(first.body)["id"]);
  EXPECT_NE(json::parse(same_spec.body)["message"].get<std::string>().find("identical"),
            std::string::npos);
}

TEST_F(ServerTest, ABatchQueuesAllItsBuildsInOneRequestOrNone) {
  auto batch = [](std::vector<json> items, std::vector<std::string> headers = Auth()) {
    return Http("POST", service_->Url("/api/v1/builds/batch?dry_run=1"), headers,
                json{{"builds", items}}.dump());
  };
  std::vector<json> items;
  for (int i = 0; i < 3; ++i) {
    items.push_back(Request("tar", "%post\necho batch-" + std::to_string(i) + "\n%end\n"));
  }
  items.push_back(items[0]);  // the same spec twice in one batch: one build serves both
  std::vector<std::string> keyed = Auth();
  keyed.push_back("Idempotency-Key: batch-1");
  HttpReply r = batch(items, keyed);
  ASSERT_EQ(r.status, 201) << r.body;
  json answer = json::parse(r.body);
  ASSERT_EQ(answer["builds"].size(), 4u) << r.body;
  EXPECT_EQ(answer["builds"][0]["outcome"], "created");
  EXPECT_EQ(answer["builds"][3]["outcome"], "attached-to-in-flight");
  EXPECT_EQ(answer["builds"][3]["id"], answer["builds"][0]["id"]);
  EXPECT_EQ(answer["message"], "3 of 4 builds queued");
  for (int i = 0; i < 3; ++i) {
    HttpReply got = Http("GET", service_->Url(answer["builds"][i]["url"]), Auth());
    ASSERT_EQ(got.status, 200);
    json b = json::parse(got.body);
    EXPECT_EQ(b["state"], "queued");
    EXPECT_EQ(b["spec"]["dry_run"], true) << "?dry_run=1 holds for every build of the batch";
  }
  HttpReply again = batch(items, keyed);
  ASSERT_EQ(again.status, 200) << "a retried batch makes nothing new: " << again.body;
  json second = json::parse(again.body);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(second["builds"][i]["id"], answer["builds"][i]["id"]);
    EXPECT_EQ(second["builds"][i]["outcome"], "same-idempotency-key");
  }

  // One bad request refuses the whole batch, names its index, and queues nothing.
  int64_t before = json::parse(
      Http("GET", service_->Url("/api/v1/builds?limit=1"), Auth()).body)["builds"][0]["id"];
  json bad = Request("tar", "%post\necho fine\n%end\n");
  bad["release"] = "no-such-release";
  HttpReply refused = batch({Request("tar", "%post\necho not-queued\n%end\n"), bad});
  EXPECT_EQ(refused.status, 422) << refused.body;
  json e = json::parse(refused.body)["error"];
  EXPECT_EQ(e["index"], 1);
  EXPECT_EQ(e["message"].get<std::string>().rfind("builds[1]: ", 0), 0u) << e;
  int64_t after = json::parse(
      Http("GET", service_->Url("/api/v1/builds?limit=1"), Auth()).body)["builds"][0]["id"];
  EXPECT_EQ(after, before) << "nothing of a refused batch is queued";
  EXPECT_EQ(batch({}).status, 400);
  EXPECT_EQ(Http("POST", service_->Url("/api/v1/builds/batch"), Auth(), "[1]").status, 400);
  EXPECT_EQ(Http("GET", service_->Url("/api/v1/builds/batch"), Auth()).status, 405);
  EXPECT_EQ(batch({Request()}, {"Content-Type: application/json"}).status, 401);
}

TEST_F(ServerTest, AJsonSubmitWhoseKickstartIncludesAUrlIsFetched) {
  // JSON submits run on an I/O thread; one that needs the network goes to the slow pool and
  // runs again there. A local web server serves the included part.
  fs::path www = dir_ / "www";
  fs::create_directories(www);
  {
    std::ofstream part(www / "part.ks");
    part << "%post\necho from-the-included-part\n%end\n";
  }
  // -u: the start-up line is read from a pipe, which Python would otherwise block-buffer.
  kiln::testing::ServerProcess http({"/usr/bin/python3", "-u", "-m", "http.server", "0", "--bind",
                                     "127.0.0.1", "--directory", www.string()},
                                    " port ");
  ASSERT_GT(http.port(), 0) << "python3 -m http.server did not start";
  std::string port = std::to_string(http.port());
  HttpReply r = Submit(Request("tar", "%include http://127.0.0.1:" + port + "/part.ks\n"), Auth());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_NE(
      json::parse(r.body)["spec"]["kickstart"].get<std::string>().find("from-the-included-part"),
      std::string::npos)
      << r.body;
  HttpReply missing =
      Submit(Request("tar", "%include http://127.0.0.1:" + port + "/nope.ks\n"), Auth());
  EXPECT_EQ(missing.status, 422) << missing.body;
  EXPECT_NE(missing.body.find("nope.ks"), std::string::npos) << missing.body;
}

TEST_F(ServerTest, UsersSeeOnlyTheirOwnBuilds) {
  HttpReply mine = Submit(Request("tar", "%post\necho admin-only\n%end\n"));
  ASSERT_EQ(mine.status, 201);
  std::string url = json::parse(mine.body)["url"];
  EXPECT_EQ(Http("GET", service_->Url(url), Auth(bob_token_)).status, 404);
  EXPECT_EQ(Http("POST", service_->Url(url + "/cancel"), Auth(bob_token_)).status, 404);
  json bobs = json::parse(Http("GET", service_->Url("/api/v1/builds"), Auth(bob_token_)).body);
  for (const json& b : bobs["builds"]) EXPECT_EQ(b["owner"], "bob");
  HttpReply bob_build = Submit(Request("tar", "%post\necho bob\n%end\n"), Auth(bob_token_));
  ASSERT_EQ(bob_build.status, 201);
  EXPECT_EQ(json::parse(bob_build.body)["owner"], "bob");
  EXPECT_EQ(Http("GET", service_->Url(json::parse(bob_build.body)["url"]), Auth()).status, 200)
      << "admins see every build";
  HttpReply raise = Http("POST", service_->Url("/api/v1/builds?priority=10"), Auth(bob_token_),
                         Request("tar", "%post\necho p\n%end\n").dump());
  EXPECT_EQ(raise.status, 403);
}

TEST_F(ServerTest, BadInputIsA4xxWithAJsonErrorAndTheServerStaysUp) {
  auto code = [](const HttpReply& r) { return json::parse(r.body)["error"]["code"]; };
  HttpReply malformed = Http("POST", service_->Url("/api/v1/builds"), Auth(), "{not json");
  EXPECT_EQ(malformed.status, 422);
  HttpReply unknown = Submit({{"type", "qcow2"}, {"colour", "blue"}});
  EXPECT_EQ(unknown.status, 422);
  EXPECT_NE(unknown.body.find("colour"), std::string::npos);
  HttpReply bad_type = Submit({{"type", "floppy"}, {"kickstart", kKickstart}});
  EXPECT_EQ(bad_type.status, 422);
  EXPECT_NE(bad_type.body.find("floppy"), std::string::npos);
  EXPECT_EQ(Submit({{"type", "tar"}, {"arch", "sparc"}, {"kickstart", kKickstart}}).status, 422);
  EXPECT_EQ(Submit({{"type", "tar"}, {"release", "wheezy"}, {"kickstart", kKickstart}}).status,
            422);
  HttpReply bad_ks = Submit({{"type", "tar"}, {"kickstart", "lang en_US\nfrobnicate --now\n"}});
  ASSERT_EQ(bad_ks.status, 422);
  json details = json::parse(bad_ks.body)["error"]["details"];
  ASSERT_FALSE(details.empty());
  EXPECT_EQ(details[0]["line"], 2) << "kickstart errors name their line";
  HttpReply file_mirror =
      Submit({{"type", "tar"}, {"kickstart", "url --url=file:///etc\n%packages\njq\n%end\n"}});
  EXPECT_EQ(file_mirror.status, 422) << "no mirror on the server's own disk";
  EXPECT_EQ(Submit({{"type", "tar"}, {"mirror", "/srv/debian"}, {"kickstart", kKickstart}}).status,
            422);
  HttpReply include = Submit({{"type", "tar"}, {"kickstart", "%include /etc/shadow\n"}});
  EXPECT_EQ(include.status, 422) << "the server never reads its own files for a request";
  EXPECT_EQ(code(Http("GET", service_->Url("/api/v1/builds?state=weird"), Auth())), "bad-filter");
  EXPECT_EQ(Http("GET", service_->Url("/api/v1/builds/999999"), Auth()).status, 404);
  EXPECT_EQ(Http("GET", service_->Url("/api/v1/builds/abc"), Auth()).status, 404);
  EXPECT_EQ(Http("GET", service_->Url("/api/v1/nothing"), Auth()).status, 404);
  EXPECT_EQ(Http("PUT", service_->Url("/api/v1/builds"), Auth()).status, 405);
  HttpReply b = Submit(Request("tar", "%post\necho names\n%end\n"));
  std::string url = json::parse(b.body)["url"];
  EXPECT_EQ(Http("GET", service_->Url(url + "/artifacts/..%2F..%2Fkiln.db"), Auth()).status, 404)
      << "an encoded slash is a path separator, so this is no artifact route";
  EXPECT_EQ(code(Http("GET", service_->Url(url + "/artifacts/.."), Auth())), "bad-artifact-name");
  EXPECT_EQ(code(Http("GET", service_->Url(url + "/artifacts/a..b"), Auth())), "bad-artifact-name");
  EXPECT_EQ(Http("GET", service_->Url(url + "/artifacts/missing.qcow2"), Auth()).status, 404);
  std::string big(65u << 20, 'x');
  EXPECT_EQ(Http("POST", service_->Url("/api/v1/builds"), Auth(), big).status, 413);
  EXPECT_EQ(Http("GET", service_->Url("/api/v1/health")).status, 200);
}

// A hostile user's values for every field and kickstart option that reaches a command line, a
// hook, a config file or a path: each is refused at submit with a 422 that names it, nothing
// is queued, and no marker appears on the host.
TEST_F(ServerTest, InjectionAttemptsAreRefusedNamingTheField) {
  std::string marker = "/tmp/kiln-injected-" + std::to_string(getpid());
  std::string shell = ";touch " + marker + ";";
  json base = Request("tar", "lang C\n");
  struct Attempt {
    json request;
    std::string needle;
  };
  auto with = [&](const std::string& key, json value) {
    json r = base;
    r[key] = value;
    return r;
  };
  auto ks = [&](const std::string& text) { return Request("tar", text); };
  const std::vector<Attempt> attempts = {
      {with("proxy", "http://p:3128\";\nAPT::Update::Pre-Invoke {\"touch " + marker + "\"};"),
       "proxy:"},
      {with("mirror", "http://deb.debian.org/debian bookworm main\ndeb http://evil/ x"), "mirror:"},
      {with("extra_packages", json::array({"jq" + shell})), "extra_packages[0]"},
      {with("extra_packages", json::array({"-o=APT::Update::Pre-Invoke::=id"})),
       "extra_packages[0]"},
      {with("name", "../../etc/x"), "name:"},
      {with("label", "A\nB"), "label:"},
      {with("title", "t' {\n insmod evil }"), "title:"},
      {with("staging", json::array({"file:///srv/x" + shell})), "staging:"},
      {with("notify", json{{"email", json::array({"a@b.org\r\nBcc: c@d.org"})}}), "notify.email:"},
      {with("notify", json{{"webhook", json::array({"http://h/" + shell})}}), "notify.webhook:"},
      {ks("%packages\n-zzz" + shell + "\n%end\n"), "%packages exclusion"},
      {ks("%packages\njq$(touch " + marker + ")\n%end\n"), "%packages:"},
      {ks("%post --log=/../../../../tmp/x\ntrue\n%end\n"), "%post --log"},
      {ks("%post --interpreter=../../bin/sh\ntrue\n%end\n"), "%post --interpreter"},
      {ks("user --name=evil --homedir=/../../../../tmp/h\n"), "user --homedir"},
      {ks("user --name=evil --shell=\"/bin/sh" + shell + "\"\n"), "user --shell"},
      {ks("user --name=\"ev" + shell + "il\"\n"), "user --name"},
      {ks("group --name=\"../g\"\n"), "group --name"},
      {ks("sshkey --username=\"../root\" \"ssh-ed25519 AAAA\"\n"), "sshkey --username"},
      {ks("bootloader --append=\"quiet; insmod evil\"\n"), "bootloader --append"},
      {ks("network --hostname=\"box" + shell + "\"\n"), "network --hostname"},
      {ks("timezone ../../../../etc/shadow\n"), "timezone"},
      {ks("lang \"C" + shell + "\"\n"), "lang"},
      {ks("services --enabled=\"--root=/\"\n"), "services --enabled"},
      {ks("repo --name=r --baseurl=\"http://a/debian bookworm main" + shell + "\"\n"),
       "repo --baseurl"},
      {ks("url --url=\"http://a b/debian\"\n"), "url --url"},
  };
  size_t before =
      json::parse(Http("GET", service_->Url("/api/v1/builds"), Auth()).body)["builds"].size();
  for (const Attempt& a : attempts) {
    HttpReply r = Submit(a.request, Auth(bob_token_));
    EXPECT_EQ(r.status, 422) << a.request.dump() << "\n" << r.body;
    EXPECT_NE(r.body.find(a.needle), std::string::npos) << a.needle << "\n" << r.body;
  }
  size_t after =
      json::parse(Http("GET", service_->Url("/api/v1/builds"), Auth()).body)["builds"].size();
  EXPECT_EQ(after, before) << "nothing was queued";
  EXPECT_FALSE(std::filesystem::exists(marker));
}

// A service gives scripts no network unless its admin says otherwise: a request asking for
// outbound is refused with the fix; asking for none is fine.
TEST_F(ServerTest, OutboundScriptNetworkIsRefusedWhereTheServerGivesNone) {
  json outbound = Request("tar", "lang C\n");
  outbound["script_network"] = "outbound";
  HttpReply refused = Submit(outbound, Auth(bob_token_));
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_NE(refused.body.find("script-network-forbidden"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("--script-network none"), std::string::npos) << refused.body;
  json none = Request("tar", "lang C\n# none\n");
  none["script_network"] = "none";
  HttpReply accepted = Submit(none, Auth(bob_token_));
  EXPECT_EQ(accepted.status, 201) << accepted.body;
  EXPECT_EQ(json::parse(accepted.body)["spec"]["script_network"], "none") << accepted.body;
}

TEST_F(ServerTest, MultipartWithAKickstartFileAndAnUploadedPackage) {
  std::string b = "kiln-test-boundary-7d3";
  auto field = [&](const std::string& name, const std::string& value,
                   const std::string& filename = "") {
    std::string disposition = "form-data; name=\"" + name + "\"";
    if (!filename.empty()) disposition += "; filename=\"" + filename + "\"";
    return "--" + b + "\r\nContent-Disposition: " + disposition + "\r\n\r\n" + value + "\r\n";
  };
  std::string deb = DebShapedBytes("not really a deb, but bytes with a hash");
  std::string body =
      field("type", "qcow2") + field("arch", "i686") + field("release", "trixie") +
      field("extra_packages", "jq") +
      field("kickstart", std::string(kKickstart) + "%post\necho mp\n%end\n", "server.ks") +
      field("package", deb, "tool_1.0_all.deb") + "--" + b + "--\r\n";
  HttpReply r = Http("POST", service_->Url("/api/v1/builds"),
                     {Auth()[0], "Content-Type: multipart/form-data; boundary=" + b}, body);
  ASSERT_EQ(r.status, 201) << r.body;
  json spec = json::parse(r.body)["spec"];
  EXPECT_EQ(spec["type"], "qcow2");
  EXPECT_EQ(spec["arch"], "i686");
  EXPECT_EQ(spec["release"], "trixie");
  EXPECT_EQ(spec["kickstart_name"], "server.ks");
  ASSERT_EQ(spec["package_files"].size(), 1u);
  EXPECT_EQ(spec["package_files"][0]["name"], "tool_1.0_all.deb");
  std::string source = spec["package_files"][0]["source"];
  EXPECT_EQ(ReadFile(source), deb) << "the upload is kept on the server for the worker";

  std::string sneaky =
      field("type", "tar") + field("extra_packages", "/etc/passwd.deb") + "--" + b + "--\r\n";
  EXPECT_EQ(Http("POST", service_->Url("/api/v1/builds"),
                 {Auth()[0], "Content-Type: multipart/form-data; boundary=" + b}, sneaky)
                .status,
            422)
      << "a path on the server is not a package";
  json via_json = Request("tar");
  via_json["package_files"] = {{{"name", "x.deb"}, {"source", "/etc/passwd"}}};
  EXPECT_EQ(Submit(via_json).status, 422);
  std::string truncated = field("type", "tar").substr(0, 30);
  EXPECT_EQ(Http("POST", service_->Url("/api/v1/builds"),
                 {Auth()[0], "Content-Type: multipart/form-data; boundary=" + b}, truncated)
                .status,
            400);
}

// A TCP connection to the server on loopback, or -1.
int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Raw bytes on a socket: what no HTTP library would send.
std::string RawExchange(int port, const std::string& bytes, int wait_ms = 3000) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return "connect failed";
  (void)!write(fd, bytes.data(), bytes.size());
  timeval tv{wait_ms / 1000, (wait_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

TEST_F(ServerTest, GarbageAndFloodsOfGarbageGet400s) {
  EXPECT_EQ(RawExchange(service_->port(), "\x01\x02 garbage\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(RawExchange(service_->port(), "GET relative HTTP/1.1\r\nHost: x\r\n\r\n")
                .rfind("HTTP/1.1 400", 0),
            0u);
  std::string huge_header =
      "GET /api/v1/health HTTP/1.1\r\nX-Big: " + std::string(64 << 10, 'a') + "\r\n\r\n";
  EXPECT_EQ(RawExchange(service_->port(), huge_header).rfind("HTTP/1.1 431", 0), 0u);
  // A flood: 10,000 requests with broken header lines from 4 clients at once, each one
  // answered 400 and closed.
  std::atomic<int> answered_400{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 2500; ++i) {
        std::string junk = "GET /api/v1/health HTTP/1.1\r\nBad Header Line " +
                           std::to_string(c * 2500 + i) + "\r\n\r\n";
        answered_400 += RawExchange(service_->port(), junk, 2000).rfind("HTTP/1.1 400", 0) == 0;
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(answered_400.load(), 10000);
  EXPECT_EQ(Http("GET", service_->Url("/api/v1/health")).status, 200);
}

// Connects and sends a request's first bytes, then nothing: a slow-loris client.
int SlowClient(int port) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return -1;
  const char partial[] = "GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  (void)!write(fd, partial, sizeof partial - 1);
  return fd;
}

TEST_F(ServerTest, SlowClientsAreCutOffAndDoNotStarveOthers) {
  std::vector<int> slow;
  for (int i = 0; i < 300; ++i) slow.push_back(SlowClient(service_->port()));
  // While they hang, everyone else is served at once.
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(Http("GET", service_->Url("/api/v1/builds"), Auth()).status, 200);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // Trickling one byte a second does not extend the deadline (2 s for the whole request).
  for (int s = 0; s < 3; ++s) {
    for (int fd : slow) (void)!write(fd, "a", 1);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  int closed = 0;
  for (int fd : slow) {
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    closed += n == 0 || (n < 0 && errno == ECONNRESET);
    close(fd);
  }
  EXPECT_EQ(closed, 300) << "the server hung up on every slow client";
  EXPECT_EQ(Http("GET", service_->Url("/api/v1/health")).status, 200);
}

TEST_F(ServerTest, TheSeedsRestEndpoint) {
  HttpReply info = Http("GET", service_->Url("/rest"), Auth());
  ASSERT_EQ(info.status, 200);
  EXPECT_NE(info.body.find("config"), std::string::npos);
  json req = {{"config",
               "[DEFAULT]\ntype=live\narch=x86_64\nrelease=bookworm\n[live]\nlabel=KILN_REST\n"
               "config=rest.ks\n"},
              {"ksfname", "rest.ks"},
              {"ks", std::string(kKickstart) + "%post\necho rest\n%end\n"}};
  HttpReply r = Http("POST", service_->Url("/rest"), Auth(), req.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  json b = json::parse(r.body);
  EXPECT_TRUE(b["id"].is_number());
  EXPECT_TRUE(b["message"].is_string());
  EXPECT_EQ(b["type"], "live");
  EXPECT_EQ(b["spec"]["label"], "KILN_REST");
  HttpReply wrong = Http("POST", service_->Url("/rest"), Auth(), R"({"conf": "x"})");
  EXPECT_EQ(wrong.status, 400);
}

TEST_F(ServerTest, CancelRetryDeleteAndTheEventStream) {
  HttpReply r = Submit(Request("tar", "%post\necho events\n%end\n"));
  std::string url = json::parse(r.body)["url"];
  HttpReply cancel = Http("POST", service_->Url(url + "/cancel"), Auth());
  ASSERT_EQ(cancel.status, 202);
  EXPECT_EQ(json::parse(cancel.body)["state"], "canceled");
  EXPECT_EQ(Http("POST", service_->Url(url + "/cancel"), Auth()).status, 409);
  // The stream of a finished build replays its events and ends.
  HttpReply events = Http("GET", service_->Url(url + "/events"), Auth(), "", 10);
  ASSERT_EQ(events.status, 200);
  EXPECT_EQ(events.headers["content-type"], "text/event-stream");
  // Each state event carries when it happened, in microseconds.
  static const std::regex kFirst(R"(id: 1\nevent: state\ndata: \{"at_us":\d+,"state":"queued"\})");
  EXPECT_TRUE(std::regex_search(events.body, kFirst)) << events.body;
  EXPECT_NE(events.body.find("\"state\":\"canceled\""), std::string::npos);
  EXPECT_NE(events.body.find("event: end"), std::string::npos);
  // Resuming after event 1 skips it.
  HttpReply resumed =
      Http("GET", service_->Url(url + "/events"), {Auth()[0], "Last-Event-ID: 1"}, "", 10);
  EXPECT_EQ(resumed.body.find("id: 1\n"), std::string::npos);
  EXPECT_NE(resumed.body.find("id: 2\n"), std::string::npos);
  HttpReply retry = Http("POST", service_->Url(url + "/retry"), Auth());
  ASSERT_EQ(retry.status, 202);
  EXPECT_EQ(json::parse(retry.body)["state"], "queued");
  EXPECT_EQ(Http("DELETE", service_->Url(url), Auth()).status, 409) << "queued: cancel first";
  Http("POST", service_->Url(url + "/cancel"), Auth());
  EXPECT_EQ(Http("DELETE", service_->Url(url), Auth()).status, 204);
  EXPECT_EQ(Http("GET", service_->Url(url), Auth()).status, 404);
}

TEST_F(ServerTest, ValidateReleasesWorkersAndMetrics) {
  ASSERT_EQ(Http("GET", service_->Url("/api/v1/health")).status, 200);
  HttpReply ok = Http("POST", service_->Url("/api/v1/kickstart/validate"),
                      {Auth()[0], "Content-Type: text/plain"}, kKickstart);
  ASSERT_EQ(ok.status, 200);
  EXPECT_TRUE(json::parse(ok.body)["valid"].get<bool>());
  HttpReply bad = Http("POST", service_->Url("/api/v1/kickstart/validate"),
                       {Auth()[0], "Content-Type: text/plain"}, "bogus --x\n");
  EXPECT_FALSE(json::parse(bad.body)["valid"].get<bool>());
  EXPECT_EQ(json::parse(bad.body)["diagnostics"][0]["line"], 1);
  json releases = json::parse(Http("GET", service_->Url("/api/v1/releases"), Auth()).body);
  bool bookworm = false;
  for (const json& r : releases["releases"]) bookworm |= r["name"] == "bookworm";
  EXPECT_TRUE(bookworm);
  EXPECT_EQ(Http("GET", service_->Url("/api/v1/workers"), Auth()).status, 200);
  HttpReply metrics = Http("GET", service_->Url("/metrics"), Auth());
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("kiln_queue_depth "), std::string::npos);
  EXPECT_NE(metrics.body.find("# TYPE kiln_build_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(metrics.body.find("kiln_http_requests_total{route=\"/api/v1/health\",code=\"200\"}"),
            std::string::npos)
      << metrics.body;
}

TEST_F(ServerTest, BrowserSessionsNeedTheCsrfTokenToChangeThings) {
  ASSERT_EQ(
      Sh("echo 'carol-password' | " + service_->Kiln("user add carol --password-stdin")).exit_code,
      0);
  HttpReply wrong =
      Http("POST", service_->Url("/api/v1/session"), {}, R"({"user":"carol","password":"nope"})");
  EXPECT_EQ(wrong.status, 401);
  HttpReply login = Http("POST", service_->Url("/api/v1/session"), {},
                         R"({"user":"carol","password":"carol-password"})");
  ASSERT_EQ(login.status, 200) << login.body;
  std::string cookie = login.headers["set-cookie"];
  ASSERT_NE(cookie.find("HttpOnly"), std::string::npos);
  std::string session = cookie.substr(0, cookie.find(';'));
  std::string csrf = json::parse(login.body)["csrf_token"];
  EXPECT_EQ(Http("GET", service_->Url("/api/v1/builds"), {"Cookie: " + session}).status, 200);
  std::string body = Request("tar", "%post\necho carol\n%end\n").dump();
  std::string json_type = "Content-Type: application/json";
  EXPECT_EQ(
      Http("POST", service_->Url("/api/v1/builds"), {"Cookie: " + session, json_type}, body).status,
      403);
  EXPECT_EQ(Http("POST", service_->Url("/api/v1/builds"),
                 {"Cookie: " + session, json_type, "X-CSRF-Token: " + csrf}, body)
                .status,
            201);
}

TEST_F(ServerTest, TheWorkerProtocolOverHttp) {
  RunResult t = Sh(service_->Kiln("token create --worker host-a"));
  ASSERT_EQ(t.exit_code, 0) << t.out;
  size_t at = t.out.find("kiln_");
  std::string worker_token = t.out.substr(at, t.out.find('\n', at) - at);
  std::vector<std::string> w = {"Authorization: Bearer " + worker_token,
                                "Content-Type: application/json"};
  EXPECT_EQ(Http("GET", service_->Url("/api/v1/builds"), w).status, 403)
      << "a worker token is only for the worker routes";
  EXPECT_EQ(
      Http("POST", service_->Url("/api/v1/worker/claim"), Auth(bob_token_), R"({"worker":"x"})")
          .status,
      403)
      << "a user token is not a worker's";
  std::string url = json::parse(Submit(Request("qcow2", "%post\necho w\n%end\n")).body)["url"];
  std::string id = url.substr(url.rfind('/') + 1);
  auto call = [&](const std::string& path, const json& body) {
    return Http("POST", service_->Url("/api/v1/worker/" + path), w, body.dump());
  };
  EXPECT_EQ(call("register", {{"worker", "host-a/1"}, {"arches", "x86_64"}}).status, 200);
  EXPECT_EQ(call("claim", {{"worker", "host-a/1"}, {"arches", "i686"}}).status, 204)
      << "nothing queued for i686";
  HttpReply claim = call("claim", {{"worker", "host-a/1"}, {"arches", "x86_64"}});
  ASSERT_EQ(claim.status, 200) << claim.body;
  json ticket = json::parse(claim.body);
  EXPECT_EQ(std::to_string(ticket["build_id"].get<int>()), id);
  EXPECT_EQ(ticket["spec"]["type"], "qcow2");
  int attempt = ticket["attempt"];
  json running = json::parse(Http("GET", service_->Url(url), Auth()).body);
  EXPECT_EQ(running["state"], "running");
  EXPECT_EQ(running["worker"], "host-a/1");
  HttpReply events = call(
      id + "/events", {{"worker", "host-a/1"},
                       {"attempt", attempt},
                       {"events", {{{"kind", "log"}, {"data", {{"line", "hello from host-a"}}}}}},
                       {"progress", {{"stage", "bootstrap"}, {"fraction", 0.5}}}});
  ASSERT_EQ(events.status, 200) << events.body;
  EXPECT_NE(Http("GET", service_->Url(url + "/log"), Auth()).body.find("hello from host-a"),
            std::string::npos);
  json progressed = json::parse(Http("GET", service_->Url(url), Auth()).body);
  EXPECT_EQ(progressed["stage"], "bootstrap");
  EXPECT_EQ(progressed["progress"], 0.5);
  json beat = {{"worker", "host-a/1"}, {"attempt", attempt}};
  EXPECT_EQ(json::parse(call(id + "/heartbeat", beat).body)["lease"], "held");
  ASSERT_EQ(Http("POST", service_->Url(url + "/cancel"), Auth()).status, 202);
  EXPECT_EQ(json::parse(call(id + "/heartbeat", beat).body)["lease"], "cancel")
      << "the heartbeat carries the cancel back";
  json other = {{"worker", "host-b/1"}, {"attempt", attempt}, {"state", "succeeded"}};
  EXPECT_EQ(call(id + "/result", other).status, 409) << "not that worker's attempt";
  json done = {{"worker", "host-a/1"}, {"attempt", attempt}, {"state", "canceled"}};
  EXPECT_EQ(call(id + "/result", done).status, 200);
  EXPECT_EQ(json::parse(Http("GET", service_->Url(url), Auth()).body)["state"], "canceled");
  EXPECT_EQ(call(id + "/result", done).status, 409) << "an attempt ends once";
  EXPECT_EQ(json::parse(call(id + "/heartbeat", beat).body)["lease"], "lost");
  EXPECT_EQ(call(id + "/events", {{"worker", "host-a/1"}, {"attempt", 0}}).status, 400);
  // A queue delivery names its build: the worker claims that one, once.
  std::string named =
      json::parse(Submit(Request("qcow2", "%post\necho named\n%end\n")).body)["url"];
  std::string named_id = named.substr(named.rfind('/') + 1);
  HttpReply first = call(named_id + "/claim", {{"worker", "host-a/2"}});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json::parse(first.body)["attempt"], 1);
  EXPECT_EQ(call(named_id + "/claim", {{"worker", "host-a/3"}}).status, 409)
      << "a redelivered message never runs the build twice";
  EXPECT_EQ(Http("POST", service_->Url("/api/v1/worker/claim"), w, "nope").status, 400);
  json workers = json::parse(Http("GET", service_->Url("/api/v1/workers"), Auth()).body);
  bool listed = false;
  for (const json& x : workers["workers"]) listed |= x["id"] == "host-a/1";
  EXPECT_TRUE(listed);
}

TEST_F(ServerTest, BatchedClaimsAndResultsAnswerEachBuild) {
  RunResult t = Sh(service_->Kiln("token create --worker host-c"));
  ASSERT_EQ(t.exit_code, 0) << t.out;
  size_t at = t.out.find("kiln_");
  std::vector<std::string> w = {
      "Authorization: Bearer " + t.out.substr(at, t.out.find('\n', at) - at),
      "Content-Type: application/json"};
  auto call = [&](const std::string& path, const json& body) {
    return Http("POST", service_->Url("/api/v1/worker/" + path), w, body.dump());
  };
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    HttpReply r = Submit(Request("tar", "%post\necho claims-" + std::to_string(i) + "\n%end\n"));
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(json::parse(r.body)["id"]);
  }
  // Build 0 is claimed elsewhere first: the batch claims the other two and refuses it.
  ASSERT_EQ(call(std::to_string(ids[0]) + "/claim", {{"worker", "host-c/other"}}).status, 200);
  HttpReply claims = call("claims", {{"worker", "host-c/1"}, {"builds", ids}});
  ASSERT_EQ(claims.status, 200) << claims.body;
  json answer = json::parse(claims.body);
  ASSERT_EQ(answer["claimed"].size(), 2u) << claims.body;
  EXPECT_EQ(answer["claimed"][0]["build_id"], ids[1]);
  EXPECT_EQ(answer["claimed"][1]["build_id"], ids[2]);
  EXPECT_EQ(answer["claimed"][0]["spec"]["type"], "tar");
  EXPECT_EQ(answer["not_claimable"], json::array({ids[0]}));
  for (int i = 1; i < 3; ++i) {
    json b = json::parse(
        Http("GET", service_->Url("/api/v1/builds/" + std::to_string(ids[i])), Auth()).body);
    EXPECT_EQ(b["state"], "running");
    EXPECT_EQ(b["worker"], "host-c/1");
  }
  // Results: one is this worker's (recorded with its events), one is not (stale); a stale
  // result leaves nothing behind, not even its events.
  json results = {
      {"worker", "host-c/1"},
      {"results",
       {{{"build_id", ids[1]},
         {"attempt", 1},
         {"state", "succeeded"},
         {"events", {{{"kind", "log"}, {"data", {{"line", "batched result"}}}}}}},
        {{"build_id", ids[0]},
         {"attempt", 1},
         {"state", "succeeded"},
         {"events", {{{"kind", "log"}, {"data", {{"line", "not mine"}}}}}}},
        {{"build_id", ids[2]}, {"attempt", 1}, {"state", "failed"}, {"error_message", "boom"}}}}};
  HttpReply done = call("results", results);
  ASSERT_EQ(done.status, 200) << done.body;
  json recorded = json::parse(done.body);
  EXPECT_EQ(recorded["recorded"], json::array({ids[1], ids[2]}));
  EXPECT_EQ(recorded["stale"], json::array({ids[0]}));
  auto state = [&](int64_t id) {
    return json::parse(
        Http("GET", service_->Url("/api/v1/builds/" + std::to_string(id)), Auth()).body)["state"];
  };
  EXPECT_EQ(state(ids[0]), "running") << "still host-c/other's";
  EXPECT_EQ(state(ids[1]), "succeeded");
  EXPECT_EQ(state(ids[2]), "failed");
  std::string base = "/api/v1/builds/";
  EXPECT_NE(Http("GET", service_->Url(base + std::to_string(ids[1]) + "/log"), Auth())
                .body.find("batched result"),
            std::string::npos);
  EXPECT_EQ(Http("GET", service_->Url(base + std::to_string(ids[0]) + "/log"), Auth())
                .body.find("not mine"),
            std::string::npos);
  EXPECT_EQ(call("claims", {{"worker", "host-c/1"}, {"builds", json::array()}}).status, 400);
  EXPECT_EQ(call("claims", {{"worker", "host-c/1"}, {"builds", {"x"}}}).status, 400);
  EXPECT_EQ(call("results", {{"worker", "host-c/1"}, {"results", {{{"build_id", ids[1]}}}}}).status,
            400);
}

TEST_F(ServerTest, AdminsIssueWorkerTokensOverTheApi) {
  HttpReply made =
      Http("POST", service_->Url("/api/v1/tokens"), Auth(), R"({"worker":"host-api"})");
  ASSERT_EQ(made.status, 201) << made.body;
  json t = json::parse(made.body);
  EXPECT_EQ(t["user"], "host-api");
  EXPECT_EQ(t["role"], "worker");
  std::vector<std::string> w = {"Authorization: Bearer " + t["token"].get<std::string>(),
                                "Content-Type: application/json"};
  EXPECT_EQ(Http("POST", service_->Url("/api/v1/worker/register"), w, R"({"worker":"host-api/1"})")
                .status,
            200);
  EXPECT_EQ(
      Http("POST", service_->Url("/api/v1/tokens"), Auth(bob_token_), R"({"worker":"x"})").status,
      403)
      << "only admins";
  EXPECT_EQ(Http("POST", service_->Url("/api/v1/tokens"), Auth(), R"({"user":"nobody"})").status,
            404);
  EXPECT_EQ(Http("POST", service_->Url("/api/v1/tokens"), Auth(), R"({"worker":"admin"})").status,
            422)
      << "an admin is not a worker";
  // The CLI does the same from anywhere with an admin's token.
  RunResult cli = Popen("KILN_TOKEN=" + token_ + " " + std::string(KILN_BINARY) +
                        " token create --worker host-cli --server " + service_->Url(""));
  ASSERT_EQ(cli.exit_code, 0) << cli.out;
  EXPECT_EQ(cli.out.rfind("kiln_", 0), 0u) << cli.out;
  RunResult refused = Sh("KILN_TOKEN=kiln_wrong " + std::string(KILN_BINARY) +
                         " token create --worker host-cli --server " + service_->Url(""));
  EXPECT_EQ(refused.exit_code, 3) << "not logged in: the client's usage/login exit code";
  EXPECT_NE(refused.out.find("the token from KILN_TOKEN"), std::string::npos) << refused.out;
}

TEST_F(ServerTest, ArtifactUploadsStreamResumeAndAreChecked) {
  std::string worker_token = Popen(service_->Kiln("token create --worker host-u")).out;
  worker_token.erase(worker_token.find_last_not_of("\n") + 1);
  std::vector<std::string> w = {"Authorization: Bearer " + worker_token};
  std::string url = json::parse(Submit(Request("qcow2", "%post\necho upload\n%end\n")).body)["url"];
  std::string id = url.substr(url.rfind('/') + 1);
  auto call = [&](const std::string& path, const json& body) {
    std::vector<std::string> h = w;
    h.push_back("Content-Type: application/json");
    return Http("POST", service_->Url("/api/v1/worker/" + path), h, body.dump());
  };
  HttpReply claim = call(id + "/claim", {{"worker", "host-u/1"}});
  ASSERT_EQ(claim.status, 200) << claim.body;
  int attempt = json::parse(claim.body)["attempt"];
  // Larger than the 64 MiB request body limit: uploads are streamed to disk, not buffered.
  std::string image(65u << 20, '\0');
  for (size_t i = 0; i < image.size(); i += 4096) image[i] = static_cast<char>(i / 4096);
  std::string sha = Sha256Hex(image);
  std::string put = "/api/v1/worker/" + id +
                    "/artifacts/disk.img?worker=host-u%2F1&attempt=" + std::to_string(attempt);
  auto range = [&](size_t from, size_t to) {
    std::vector<std::string> h = w;
    h.push_back("X-Kiln-Sha256: " + sha);
    h.push_back("Content-Range: bytes " + std::to_string(from) + "-" + std::to_string(to - 1) +
                "/" + std::to_string(image.size()));
    return Http("PUT", service_->Url(put), h, image.substr(from, to - from), 60);
  };
  size_t half = image.size() / 2;
  HttpReply first = range(0, half);  // as if the connection broke here
  ASSERT_EQ(first.status, 202) << first.body;
  json status =
      json::parse(call(id + "/upload-status",
                       {{"worker", "host-u/1"}, {"attempt", attempt}, {"name", "disk.img"}})
                      .body);
  EXPECT_EQ(status["received"], half);
  EXPECT_EQ(range(10, half).status, 416) << "resume where the master is, not elsewhere";
  HttpReply second = range(half, image.size());
  ASSERT_EQ(second.status, 201) << second.body;
  EXPECT_EQ(json::parse(second.body)["sha256"], sha);
  // A damaged upload is refused and not kept.
  std::vector<std::string> bad = w;
  bad.push_back("X-Kiln-Sha256: " + std::string(64, 'a'));
  std::string bad_put = "/api/v1/worker/" + id +
                        "/artifacts/bad.img?worker=host-u%2F1&attempt=" + std::to_string(attempt);
  EXPECT_EQ(Http("PUT", service_->Url(bad_put), bad, "not what the hash says").status, 422);
  std::vector<std::string> other = w;
  other.push_back("X-Kiln-Sha256: " + sha);
  std::string foreign =
      "/api/v1/worker/" + id + "/artifacts/x.img?worker=host-v&attempt=" + std::to_string(attempt);
  EXPECT_EQ(Http("PUT", service_->Url(foreign), other, "x").status, 409)
      << "another worker's attempt";
  EXPECT_EQ(Http("PUT", service_->Url(put), {w[0], "X-Kiln-Sha256: " + sha}, "x").status, 422)
      << "a whole file whose size and hash do not match";
  ASSERT_EQ(
      call(id + "/result", {{"worker", "host-u/1"}, {"attempt", attempt}, {"state", "succeeded"}})
          .status,
      200);
  json done = json::parse(Http("GET", service_->Url(url), Auth()).body);
  ASSERT_EQ(done["artifacts"].size(), 1u) << done.dump(2);
  EXPECT_EQ(done["artifacts"][0]["name"], "disk.img");
  EXPECT_EQ(done["artifacts"][0]["sha256"], sha);
  HttpReply download = Http("GET", service_->Url(done["artifacts"][0]["url"]), Auth(), "", 60);
  EXPECT_EQ(download.body.size(), image.size());
  EXPECT_TRUE(download.body == image);
}

// Last: restarts the server.
TEST_F(ServerTest, ZZRestartAndKillLoseNothing) {
  HttpReply r = Submit(Request("qcow2", "%post\necho restart\n%end\n"));
  ASSERT_EQ(r.status, 201);
  std::string url = json::parse(r.body)["url"];
  EXPECT_EQ(service_->Stop(), 0) << "SIGTERM is a clean stop";
  ASSERT_TRUE(service_->Start({"--request-timeout", "2"})) << service_->Log();
  EXPECT_EQ(json::parse(Http("GET", service_->Url(url), Auth()).body)["state"], "queued");
  service_->Kill();
  ASSERT_TRUE(service_->Start({"--request-timeout", "2"})) << service_->Log();
  HttpReply after = Http("GET", service_->Url(url), Auth());
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(json::parse(after.body)["state"], "queued");
  EXPECT_EQ(service_->AdminToken(), token_) << "no second admin on restart";
}

}  // namespace
}  // namespace kiln::testing
