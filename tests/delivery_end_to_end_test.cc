// Everything a build sends, in one real build through a real `kiln serve` (issue 20's check):
// two addresses, a webhook and three staging targets (a directory under the server's
// file_roots, an FTP server, an SFTP server). Every one of those servers is down when the
// build ends: the build still succeeds and each delivery waits, tried and failed. The master is
// then killed (kill -9) with all of them pending, the servers come up (the webhook receiver
// answering 500 to its first three calls), and the restarted master delivers everything:
// 2 x 2 e-mails that thread, three staged copies whose SHA256SUMS verify, a signed call per
// state change — and nothing twice.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "delivery_servers.h"
#include "service_harness.h"
#include "shell.h"

namespace kiln::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

class DeliveryEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = RealBuildSkipReason(); !why.empty()) GTEST_SKIP() << why;
    if (!SftpServer::Available()) GTEST_SKIP() << "needs openssh-server and root";
    if (Sh("/usr/bin/python3 -c 'import aiosmtpd, pyftpdlib' 2>/dev/null").exit_code != 0) {
      GTEST_SKIP() << "python3-aiosmtpd and python3-pyftpdlib are missing "
                      "(scripts/install-deps.sh test)";
    }
    curl_global_init(CURL_GLOBAL_ALL);
    dir_ = kBuildWork / ("deliveries-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "roots");
    fs::create_directories(dir_ / "sftp-root");
    smtp_ = std::make_unique<SmtpServer>(dir_ / "maildir", FreePort());
    hook_ = std::make_unique<WebhookReceiver>(dir_ / "hook", FreePort(), /*failures=*/3);
    ftp_ = std::make_unique<FtpServer>(dir_ / "ftp", FreePort());
    sftp_ = std::make_unique<SftpServer>(dir_ / "sshd", FreePort());
    ASSERT_TRUE(sftp_->Prepare());
    // The master gives up root for its service user (kiln): what it reads and writes as that
    // user is its, as it would be on a build host set up by install-deps.sh.
    // The directory target is "down" while a file stands where its directory goes.
    std::ofstream(dir_ / "roots" / "images") << "not a directory\n";
    if (passwd* kiln = getpwnam("kiln")) {
      ASSERT_EQ(chown((dir_ / "roots").c_str(), kiln->pw_uid, kiln->pw_gid), 0);
      ASSERT_EQ(chown(sftp_->client_key().c_str(), kiln->pw_uid, kiln->pw_gid), 0);
    }
    std::ofstream(dir_ / "kiln.conf")
        << "[smtp]\nserver = 127.0.0.1\nport = " << smtp_->port()
        << "\nfrom = kiln@example.org\nstarttls = never\n"
           "[staging]\nfile_roots = "
        << (dir_ / "roots").string()
        << "\nsftp_user = root\nsftp_key = " << sftp_->client_key().string()
        << "\nsftp_known_hosts = " << sftp_->known_hosts().string()
        << "\n[server]\npublic_url = https://kiln.example.org\n";
    service_ = std::make_unique<Service>(KILN_BINARY, dir_ / "master", 1, kServiceCache);
  }
  void TearDown() override {
    service_.reset();
    smtp_.reset();
    hook_.reset();
    ftp_.reset();
    sftp_.reset();
    fs::remove_all(dir_);
  }
  bool StartMaster() {
    return service_->Start(
        {"--config", (dir_ / "kiln.conf").string(), "--fetch-allow", "127.0.0.1/32"});
  }
  std::vector<std::string> Auth() const {
    return {"Authorization: Bearer " + service_->AdminToken(), "Content-Type: application/json"};
  }
  json Get(const std::string& path) {
    return json::parse(Http("GET", service_->Url(path), Auth()).body, nullptr, false);
  }
  // Polls the build until `done(build)` or the timeout; returns the last answer.
  template <typename Pred>
  json Await(int64_t id, Pred done, std::chrono::seconds timeout) {
    json b;
    for (Clock::time_point end = Clock::now() + timeout; Clock::now() < end;) {
      b = Get("/api/v1/builds/" + std::to_string(id));
      if (b.is_object() && done(b)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return b;
  }
  // The staging targets, and where each one's copies land on this machine.
  std::vector<std::pair<std::string, fs::path>> Targets() const {
    std::string sftp_dir = (dir_ / "sftp-root" / "images").string();
    return {
        {"file://" + (dir_ / "roots" / "images").string(), dir_ / "roots" / "images"},
        {"ftp://127.0.0.1:" + std::to_string(ftp_->port()) + "/pub/", dir_ / "ftp" / "pub"},
        {"sftp://127.0.0.1:" + std::to_string(sftp_->port()) + sftp_dir + "/", sftp_dir},
    };
  }

  fs::path dir_;
  std::unique_ptr<SmtpServer> smtp_;
  std::unique_ptr<WebhookReceiver> hook_;
  std::unique_ptr<FtpServer> ftp_;
  std::unique_ptr<SftpServer> sftp_;
  std::unique_ptr<Service> service_;
};

TEST_F(DeliveryEndToEndTest, EverythingWaitsForItsServerAndSurvivesAKilledMaster) {
  ASSERT_TRUE(StartMaster()) << service_->Log();
  json staging = json::array();
  for (const auto& [url, where] : Targets()) staging.push_back(url);
  json req = {
      {"type", "tar"},
      {"arch", "x86_64"},
      {"release", "bookworm"},
      {"kickstart", std::string(kSmallKickstart) + "# every delivery\n"},
      {"staging", staging},
      {"notify",
       {{"email", {"alice@example.org", "bob@example.org"}}, {"webhook", {hook_->Url("/kiln")}}}}};
  HttpReply submitted = Http("POST", service_->Url("/api/v1/builds"), Auth(), req.dump());
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  int64_t id = json::parse(submitted.body)["id"];

  // The build ends with every server down; each of its 10 deliveries (2 accepted, 2 ended,
  // 3 webhook calls, 3 copies) is tried, fails and waits.
  json b = Await(
      id, [](const json& x) { return x["state"] != "queued" && x["state"] != "running"; },
      std::chrono::seconds(1200));
  ASSERT_EQ(b["state"], "succeeded") << b.dump(2) << service_->Log();
  b = Await(
      id,
      [](const json& x) {
        if (x["deliveries"].size() != 10) return false;
        for (const json& d : x["deliveries"]) {
          if (d["attempts"].get<int>() < 1) return false;
        }
        return true;
      },
      std::chrono::seconds(60));
  ASSERT_EQ(b["deliveries"].size(), 10u) << b["deliveries"].dump(2);
  std::map<std::string, int> kinds;
  for (const json& d : b["deliveries"]) {
    ++kinds[d["kind"]];
    EXPECT_EQ(d["state"], "pending") << d.dump();
    EXPECT_GE(d["attempts"].get<int>(), 1) << d.dump();
    EXPECT_TRUE(d["last_error"].is_string()) << d.dump();
  }
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"email", 4}, {"staging", 3}, {"webhook", 3}}));
  EXPECT_EQ(b["state"], "succeeded") << "a delivery never fails a build";
  EXPECT_FALSE(b["artifacts"].empty()) << "nor removes its files";

  // kill -9 with all of them pending; the servers come up; the master restarts.
  service_->Kill();
  fs::remove(dir_ / "roots" / "images");
  ASSERT_TRUE(smtp_->Start());
  ASSERT_TRUE(hook_->Start());
  ASSERT_TRUE(ftp_->Start());
  ASSERT_TRUE(sftp_->Start());
  ASSERT_TRUE(StartMaster()) << service_->Log();
  // (Tries back off from 5 s, doubling: what failed most often waits longest.)
  b = Await(
      id,
      [](const json& x) {
        for (const json& d : x["deliveries"]) {
          if (d["state"] != "delivered") return false;
        }
        return true;
      },
      std::chrono::seconds(400));
  for (const json& d : b["deliveries"]) {
    EXPECT_EQ(d["state"], "delivered") << d.dump() << service_->Log();
    EXPECT_GE(d["attempts"].get<int>(), 2) << d.dump();
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));  // for anything sent twice to arrive

  // 2 x 2 e-mails: accepted and succeeded for each address, threaded, both parts, none twice.
  std::vector<std::string> mail = smtp_->Messages();
  ASSERT_EQ(mail.size(), 4u) << "none twice";
  std::map<std::string, std::string> accepted_id;
  for (const std::string& m : mail) {
    EXPECT_FALSE(MailPart(m, "text/plain").empty()) << m;
    EXPECT_NE(MailPart(m, "text/html").find("<table>"), std::string::npos) << "never blank";
    if (MailHeader(m, "Subject").find(" accepted: ") != std::string::npos) {
      accepted_id[MailHeader(m, "To")] = MailHeader(m, "Message-ID");
    }
  }
  ASSERT_EQ(accepted_id.size(), 2u);
  for (const std::string& m : mail) {
    if (MailHeader(m, "Subject").find(" succeeded: ") == std::string::npos) continue;
    EXPECT_EQ(MailHeader(m, "In-Reply-To"), accepted_id[MailHeader(m, "To")]);
    EXPECT_NE(MailPart(m, "text/plain").find("sha256 "), std::string::npos) << m;
  }

  // Three staged copies, each with every artifact and a SHA256SUMS that verifies.
  std::set<std::string> artifacts;
  for (const json& a : b["artifacts"]) artifacts.insert(a["name"].get<std::string>());
  ASSERT_TRUE(artifacts.count("SHA256SUMS"));
  for (const auto& [url, where] : Targets()) {
    fs::path copy = where / ("kiln-build-" + std::to_string(id));
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(copy)) {
      names.insert(e.path().filename().string());
    }
    EXPECT_EQ(names, artifacts) << url << ": every file, no .part left";
    RunResult check = Sh("cd '" + copy.string() + "' && sha256sum --check --strict SHA256SUMS");
    EXPECT_EQ(check.exit_code, 0) << url << ": " << check.out;
  }

  // The webhook: three 500s, then each state change once, every call signed with the owner's
  // secret.
  json secret = Get("/api/v1/webhook-secret");
  std::map<std::string, int> delivered;
  int refused = 0;
  for (const std::string& text : hook_->Calls()) {
    json call = json::parse(text);
    std::string body = call["body"];
    int64_t t = 0;
    EXPECT_TRUE(WebhookSignatureVerifies(secret["secret"], call["signature"], body, t)) << text;
    json event = json::parse(body);
    EXPECT_EQ(event["build"]["id"], id);
    if (call["status"] == 200) {
      ++delivered[event["state"]];
    } else {
      ++refused;
    }
  }
  EXPECT_EQ(refused, 3);
  EXPECT_EQ(delivered,
            (std::map<std::string, int>{{"queued", 1}, {"running", 1}, {"succeeded", 1}}))
      << "each change once";

  // What /metrics counts.
  std::string metrics = Http("GET", service_->Url("/metrics"), Auth()).body;
  for (const char* line : {"kiln_deliveries{kind=\"email\",state=\"delivered\"} 4",
                           "kiln_deliveries{kind=\"staging\",state=\"delivered\"} 3",
                           "kiln_deliveries{kind=\"webhook\",state=\"delivered\"} 3"}) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;
  }
}

}  // namespace
}  // namespace kiln::testing
