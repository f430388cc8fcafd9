// Real builds through `kiln serve --workers 1`: submit, watch the event stream to the end,
// download (whole, ranged, HEAD, conditional) and check the SHA-256; cancel a running build
// and find no process of it left; kill the server mid-build and see the build finish after a
// restart. The stage cache is the services' (kiln-build-tests/service-cache), so the package set
// here bootstraps once per machine.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/sha256.h"
#include "service_harness.h"
#include "shell.h"

namespace kiln::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

const fs::path kWork = fs::temp_directory_path() / "kiln-build-tests";
const char* kSmall = kiln::testing::kSmallKickstart;
std::string Nonce() { return std::to_string(getpid()) + "-" + std::to_string(std::time(nullptr)); }

class ServiceBuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "local workers build images: run as root";
    if (Sh("command -v mmdebstrap").exit_code != 0) GTEST_SKIP() << "mmdebstrap is missing";
    curl_global_init(CURL_GLOBAL_ALL);
    dir_ = kWork / ("service-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    service_ = std::make_unique<Service>(KILN_BINARY, dir_, 1, kiln::testing::kServiceCache);
    ASSERT_TRUE(service_->Start()) << service_->Log();
    token_ = service_->AdminToken();
  }
  void TearDown() override {
    if (service_) service_->Stop();
    service_.reset();
    fs::remove_all(dir_);
  }
  std::vector<std::string> Auth() const {
    return {"Authorization: Bearer " + token_, "Content-Type: application/json"};
  }
  json Submit(const std::string& ks) {
    json req = {{"type", "tar"}, {"arch", "x86_64"}, {"release", "bookworm"}, {"kickstart", ks}};
    HttpReply r = Http("POST", service_->Url("/api/v1/builds"), Auth(), req.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body);
  }
  json Get(const std::string& url) {
    return json::parse(Http("GET", service_->Url(url), Auth()).body);
  }
  // Polls until `done(build)` or the timeout; returns the last state seen.
  template <typename Pred>
  json WaitFor(const std::string& url, Pred done, std::chrono::seconds timeout) {
    json b;
    for (Clock::time_point end = Clock::now() + timeout; Clock::now() < end;) {
      b = Get(url);
      if (done(b)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return b;
  }

  struct SleepingBuild {
    std::string url;         // "" if it did not get there
    std::string find_sleep;  // a pgrep command that finds its %post
  };
  // Submits a build whose %post sleeps ("sleep SECONDS.PID": no other process on the machine
  // has that command line) and waits until the sleep runs.
  SleepingBuild StartSleepingBuild(const std::string& seconds) {
    std::string sleep = "sleep " + seconds + "." + std::to_string(getpid());
    SleepingBuild out{"", "pgrep -f '[s]" + sleep.substr(1) + "'"};
    json b = Submit(std::string(kSmall) + "%post\n" + sleep + "\n%end\n");
    json running = WaitFor(
        b["url"], [](const json& x) { return x["stage"] == "scripts"; }, std::chrono::seconds(600));
    EXPECT_EQ(running["stage"], "scripts") << running.dump(2);
    for (int i = 0; i < 100 && Sh(out.find_sleep).out.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_FALSE(Sh(out.find_sleep).out.empty()) << "the %post is running";
    if (running["stage"] == "scripts") out.url = b["url"];
    return out;
  }

  fs::path dir_;
  std::unique_ptr<Service> service_;
  std::string token_;
};

TEST_F(ServiceBuildTest, SubmitWatchTheStreamAndDownload) {
  json b = Submit(kSmall);
  std::string url = b["url"];
  // The event stream runs until the build ends: states, stages, progress and log lines.
  HttpReply events = Http("GET", service_->Url(url + "/events"), Auth(), "", 900);
  ASSERT_EQ(events.status, 200);
  EXPECT_NE(events.body.find("\"state\":\"running\""), std::string::npos);
  EXPECT_NE(events.body.find("event: stage\n"), std::string::npos);
  EXPECT_NE(events.body.find("event: log\n"), std::string::npos);
  EXPECT_NE(events.body.find("event: end\ndata: {\"state\":\"succeeded\"}"), std::string::npos)
      << events.body.substr(events.body.size() > 3000 ? events.body.size() - 3000 : 0);
  json done = Get(url);
  ASSERT_EQ(done["state"], "succeeded") << done.dump(2);
  EXPECT_EQ(done["progress"], 1.0);
  EXPECT_EQ(done["attempt"], 1);
  json image;
  for (const json& a : done["artifacts"]) {
    if (a["name"] == "kiln-bookworm-tar-x86_64.tar.zst") image = a;
  }
  ASSERT_FALSE(image.is_null()) << done["artifacts"].dump(2);
  std::string image_url = image["url"];

  HttpReply whole = Http("GET", service_->Url(image_url), Auth(), "", 120);
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(static_cast<int64_t>(whole.body.size()), image["size"].get<int64_t>());
  EXPECT_EQ(Sha256Hex(whole.body), image["sha256"]);
  EXPECT_EQ(whole.headers["etag"], "\"" + image["sha256"].get<std::string>() + "\"");

  HttpReply part = Http("GET", service_->Url(image_url), {Auth()[0], "Range: bytes=100-1123"});
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.body, whole.body.substr(100, 1024));
  EXPECT_EQ(part.headers["content-range"], "bytes 100-1123/" + std::to_string(whole.body.size()));
  HttpReply tail = Http("GET", service_->Url(image_url), {Auth()[0], "Range: bytes=-10"});
  EXPECT_EQ(tail.body, whole.body.substr(whole.body.size() - 10));
  HttpReply past = Http("GET", service_->Url(image_url),
                        {Auth()[0], "Range: bytes=" + std::to_string(whole.body.size()) + "-"});
  EXPECT_EQ(past.status, 416);
  HttpReply head = Http("HEAD", service_->Url(image_url), Auth());
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"], std::to_string(whole.body.size()));
  HttpReply cached =
      Http("GET", service_->Url(image_url), {Auth()[0], "If-None-Match: " + whole.headers["etag"]});
  EXPECT_EQ(cached.status, 304);

  HttpReply metrics = Http("GET", service_->Url("/metrics"), Auth());
  EXPECT_NE(
      metrics.body.find("kiln_build_duration_seconds_count{type=\"tar\",state=\"succeeded\"} 1"),
      std::string::npos)
      << metrics.body;

  // The log, whole and from an offset.
  HttpReply log = Http("GET", service_->Url(url + "/log"), Auth());
  ASSERT_EQ(log.status, 200);
  EXPECT_NE(log.body.find("stage 1/3 bootstrap"), std::string::npos) << log.body.substr(0, 2000);
  EXPECT_EQ(log.headers["x-log-complete"], "true");
  HttpReply rest = Http("GET", service_->Url(url + "/log?offset=10"), Auth());
  EXPECT_EQ(rest.body, log.body.substr(10));
}

TEST_F(ServiceBuildTest, CancelARunningBuildLeavesNoProcess) {
  SleepingBuild b = StartSleepingBuild("300");
  std::string url = b.url, find_sleep = b.find_sleep;
  ASSERT_FALSE(url.empty());
  Clock::time_point asked = Clock::now();
  ASSERT_EQ(Http("POST", service_->Url(url + "/cancel"), Auth()).status, 202);
  json canceled = WaitFor(
      url, [](const json& x) { return x["state"] == "canceled"; }, std::chrono::seconds(10));
  EXPECT_EQ(canceled["state"], "canceled");
  bool gone = false;
  while (Clock::now() - asked < std::chrono::seconds(5) && !gone) {
    gone = Sh(find_sleep).out.empty() &&
           Sh("pgrep -f '[k]iln job --spec " + dir_.string() + "'").out.empty();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << "the job and its %post are gone within 5 s of the cancel";
  EXPECT_EQ(Sh("grep -c " + kiln::testing::kServiceCache.string() + " /proc/self/mounts").out,
            "0\n");
}

// A non-admin user's %post goes for the master: its database and token file, its API on the
// host's loopback, any name server. The service gives scripts no network and no host path.
TEST_F(ServiceBuildTest, AUsersScriptCannotReachTheMaster) {
  ASSERT_EQ(Sh(service_->Kiln("user add mallory")).exit_code, 0);
  RunResult t = Sh(service_->Kiln("token create --user mallory --name test"));
  size_t at = t.out.find("kiln_");
  ASSERT_NE(at, std::string::npos) << t.out;
  std::string mallory = t.out.substr(at, t.out.find('\n', at) - at);
  std::string port = service_->Url("").substr(service_->Url("").rfind(':') + 1);
  std::string ks = std::string(kSmall) + "%post\n# " + Nonce() + "\n" + "cat " +
                   (dir_ / "data" / "kiln.db").string() + " >/dev/null 2>&1 && echo READ-DB\n" +
                   "cat " + (dir_ / "data" / "admin.token").string() + " 2>&1 | head -1\n" +
                   "(exec 3<>/dev/tcp/127.0.0.1/" + port +
                   ") 2>/dev/null && echo REACHED-API || echo api-unreachable\n"
                   "getent hosts deb.debian.org >/dev/null && echo RESOLVED || echo no-network\n"
                   "%end\n";
  json req = {{"type", "tar"}, {"arch", "x86_64"}, {"release", "bookworm"}, {"kickstart", ks}};
  HttpReply r =
      Http("POST", service_->Url("/api/v1/builds"),
           {"Authorization: Bearer " + mallory, "Content-Type: application/json"}, req.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  std::string url = json::parse(r.body)["url"];
  json done = WaitFor(
      url, [](const json& b) { return b["state"] == "succeeded" || b["state"] == "failed"; },
      std::chrono::seconds(900));
  ASSERT_EQ(done["state"], "succeeded") << done.dump(2);
  std::string log = Http("GET", service_->Url(url + "/log"), Auth()).body;
  EXPECT_EQ(log.find("READ-DB"), std::string::npos) << log;
  EXPECT_EQ(log.find("REACHED-API"), std::string::npos) << log;
  EXPECT_EQ(log.find("RESOLVED"), std::string::npos) << log;
  EXPECT_EQ(log.find(service_->AdminToken()), std::string::npos) << "the admin token leaked";
  EXPECT_NE(log.find("api-unreachable"), std::string::npos) << log;
  EXPECT_NE(log.find("no-network"), std::string::npos) << log;
}

// The host user a process runs as (its real uid), or -1.
long ProcessUid(const fs::path& proc) {
  std::string status = ReadFile(proc / "status");
  size_t at = status.find("\nUid:");
  return at == std::string::npos ? -1 : std::stol(status.substr(at + 5));
}

// Started as root where the service user exists (scripts/install-deps.sh makes it), the
// server becomes that user, and every process of a build runs in its subordinate range.
TEST_F(ServiceBuildTest, StartedAsRootItRunsAsItsUserAndBuildsInItsRange) {
  RunResult kiln_uid = Sh("id -u kiln");
  if (kiln_uid.exit_code != 0) GTEST_SKIP() << "no user kiln (scripts/install-deps.sh makes it)";
  long uid = std::stol(kiln_uid.out);
  long range = std::stol(Sh("grep '^kiln:' /etc/subuid | cut -d: -f2").out);
  EXPECT_NE(service_->Log().find("kiln serve: running as kiln"), std::string::npos)
      << service_->Log();
  EXPECT_EQ(ProcessUid("/proc/" + std::to_string(service_->pid())), uid);
  struct stat data {};
  ASSERT_EQ(stat((dir_ / "data").c_str(), &data), 0);
  EXPECT_EQ(long(data.st_uid), uid);
  EXPECT_EQ(data.st_mode & 0777, 0700u);
  // While the build's script sleeps: the uids of every process of it (its command lines name
  // the build's directory or the script).
  std::string nonce = Nonce();
  json b = Submit(std::string(kSmall) + "%post\n# " + nonce + "\nsleep 6\n%end\n");
  std::set<long> uids;
  for (Clock::time_point end = Clock::now() + std::chrono::seconds(300); Clock::now() < end;) {
    for (const fs::directory_entry& e : fs::directory_iterator("/proc")) {
      std::string cmd = ReadFile(e.path() / "cmdline");
      for (char& c : cmd) c = c == '\0' ? ' ' : c;
      if (cmd.find(dir_.string()) != std::string::npos ||
          cmd.find("/var/lib/kiln/post-") != std::string::npos) {
        uids.insert(ProcessUid(e.path()));
      }
    }
    std::string state = Get(b["url"])["state"];
    if (state == "succeeded" || state == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(Get(b["url"])["state"], "succeeded");
  uids.erase(-1);  // ended while read
  EXPECT_TRUE(uids.count(uid)) << "kiln job, as the service user";
  EXPECT_TRUE(uids.count(range)) << "the build, as root of its namespace: the range's first id";
  EXPECT_EQ(uids.count(0), 0u) << "no process of the build is root of the host";
  for (long u : uids) EXPECT_TRUE(u == uid || (u >= range && u < range + 65536)) << u;
  struct stat stages {};
  ASSERT_EQ(stat((kiln::testing::kServiceCache / "stages").c_str(), &stages), 0);
  EXPECT_EQ(long(stages.st_uid), range) << "the cache's stages are the range's";
}

TEST_F(ServiceBuildTest, AKilledBuildProcessFailsTheBuildNotTheServer) {
  SleepingBuild b = StartSleepingBuild("301");
  std::string url = b.url, find_sleep = b.find_sleep;
  ASSERT_FALSE(url.empty());
  ASSERT_EQ(Sh("pkill -KILL -f '[k]iln job --spec " + dir_.string() + "'").exit_code, 0);
  json failed = WaitFor(
      url, [](const json& x) { return x["state"] == "failed"; }, std::chrono::seconds(30));
  EXPECT_EQ(failed["state"], "failed") << failed.dump(2);
  EXPECT_EQ(failed["error"]["code"], "job-crashed") << failed.dump(2);
  EXPECT_EQ(Http("GET", service_->Url("/api/v1/health")).status, 200) << "the server lives on";
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    gone = Sh(find_sleep).out.empty();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << "the killed job's %post went with it";
  // The next build runs as usual on the same worker.
  json next = Submit(std::string(kSmall) + "%post\necho after-crash " + Nonce() + "\n%end\n");
  json done = WaitFor(
      next["url"], [](const json& x) { return x["state"] == "succeeded"; },
      std::chrono::seconds(600));
  EXPECT_EQ(done["state"], "succeeded") << done.dump(2);
}

TEST_F(ServiceBuildTest, KillingTheServerMidBuildLosesNothing) {
  json b = Submit(std::string(kSmall) + "%post\nsleep 5 # restart " + Nonce() + "\n%end\n");
  std::string url = b["url"];
  json running = WaitFor(
      url, [](const json& x) { return x["state"] == "running"; }, std::chrono::seconds(600));
  ASSERT_EQ(running["state"], "running");
  service_->Kill();
  ASSERT_TRUE(service_->Start()) << service_->Log();
  EXPECT_NE(service_->Log().find("queued again"), std::string::npos) << service_->Log();
  json done = WaitFor(
      url, [](const json& x) { return x["state"] == "succeeded" || x["state"] == "failed"; },
      std::chrono::seconds(900));
  EXPECT_EQ(done["state"], "succeeded") << done.dump(2);
  EXPECT_EQ(done["attempt"], 2) << "the second attempt, on the restarted server";
}

}  // namespace
}  // namespace kiln::testing
