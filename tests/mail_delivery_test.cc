// E-mail through a real SMTP server: Debian's aiosmtpd on a free loopback port, keeping what
// it receives in a Maildir, and a real `kiln serve` configured with the seed's [SMTP] section.
// A build for two addresses sends 2 x 2 messages that thread; a server that is down when the
// build ends gets them once it is back; a master killed with deliveries pending sends them
// after its restart, none twice.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "delivery_servers.h"
#include "service_harness.h"

namespace kiln::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class MailDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Sh("/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null").exit_code != 0) {
      GTEST_SKIP() << "python3-aiosmtpd is not installed (scripts/install-deps.sh test)";
    }
    curl_global_init(CURL_GLOBAL_ALL);
    dir_ = fs::temp_directory_path() /
           ("kiln-mail-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    smtp_port_ = FreePort();
    smtp_ = std::make_unique<SmtpServer>(dir_ / "maildir", smtp_port_);
    // The seed's own section: its spelling, its quotes; a `from` of kiln's.
    std::ofstream(dir_ / "kiln.conf") << "[SMTP]\nserver='127.0.0.1'\nport='" << smtp_port_
                                      << "'\nfrom='kiln@example.org'\nstarttls='never'\n[server]"
                                         "\npublic_url=https://kiln.example.org\n";
    service_ = std::make_unique<Service>(KILN_BINARY, dir_ / "master", 1);
    chmod(dir_.c_str(), 0755);
  }
  void TearDown() override {
    service_.reset();
    smtp_.reset();
    fs::remove_all(dir_);
  }
  bool StartMaster() { return service_->Start({"--config", (dir_ / "kiln.conf").string()}); }
  std::vector<std::string> Auth() const {
    return {"Authorization: Bearer " + service_->AdminToken(), "Content-Type: application/json"};
  }
  // A dry run that notifies two addresses.
  int64_t Submit() {
    json req = {{"type", "tar"},
                {"arch", "x86_64"},
                {"release", "bookworm"},
                {"kickstart", "lang C\n%packages\njq\n%end\n"},
                {"notify", {{"email", {"alice@example.org", "bob@example.org"}}}}};
    HttpReply r = Http("POST", service_->Url("/api/v1/builds?dry_run=1"), Auth(), req.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    json b = json::parse(r.body, nullptr, false);
    return b.is_object() ? b.value("id", int64_t{0}) : 0;
  }
  json Deliveries(int64_t id) {
    HttpReply r = Http("GET", service_->Url("/api/v1/builds/" + std::to_string(id)), Auth());
    json b = json::parse(r.body, nullptr, false);
    return b.is_object() && b.contains("deliveries") ? b["deliveries"] : json::array();
  }
  fs::path dir_;
  int smtp_port_ = 0;
  std::unique_ptr<SmtpServer> smtp_;
  std::unique_ptr<Service> service_;
};

TEST_F(MailDeliveryTest, TwoAddressesGetAcceptedAndEndedMessagesThatThread) {
  ASSERT_TRUE(smtp_->Start());
  ASSERT_TRUE(StartMaster()) << service_->Log();
  int64_t id = Submit();
  ASSERT_GT(id, 0);
  std::vector<std::string> messages = smtp_->AwaitMessages(4, 90);
  ASSERT_EQ(messages.size(), 4u) << service_->Log();
  std::map<std::string, std::string> accepted_id;  // recipient -> Message-ID of "accepted"
  std::set<std::string> ids;
  for (const std::string& m : messages) {
    std::string subject = MailHeader(m, "Subject");
    std::string to = MailHeader(m, "To");
    ids.insert(MailHeader(m, "Message-ID"));
    EXPECT_EQ(MailHeader(m, "From"), "kiln@example.org");
    EXPECT_NE(MailPart(m, "text/plain").find("Build"), std::string::npos) << m;
    EXPECT_NE(MailPart(m, "text/html").find("<table>"), std::string::npos) << "never blank: " << m;
    if (subject.find(" accepted: ") != std::string::npos) {
      accepted_id[to] = MailHeader(m, "Message-ID");
      EXPECT_NE(
          MailPart(m, "text/plain").find("https://kiln.example.org/builds/" + std::to_string(id)),
          std::string::npos)
          << "the link is the public URL";
    }
  }
  ASSERT_EQ(accepted_id.size(), 2u) << "both addresses were told it was accepted";
  int ended = 0;
  for (const std::string& m : messages) {
    if (MailHeader(m, "Subject").find(" succeeded: ") == std::string::npos) continue;
    ++ended;
    EXPECT_EQ(MailHeader(m, "In-Reply-To"), accepted_id[MailHeader(m, "To")])
        << "threads with its first";
    EXPECT_NE(MailPart(m, "text/plain").find("The log's last lines"), std::string::npos) << m;
  }
  EXPECT_EQ(ended, 2);
  EXPECT_EQ(ids.size(), 2u) << "one Message-ID per message, the same for both recipients";

  json deliveries = Deliveries(id);
  ASSERT_EQ(deliveries.size(), 4u) << deliveries.dump();
  for (const json& d : deliveries) {
    EXPECT_EQ(d["kind"], "email");
    EXPECT_EQ(d["state"], "delivered") << d.dump();
    EXPECT_EQ(d["attempts"], 1);
  }
}

TEST_F(MailDeliveryTest, AServerDownIsTriedAgainAndAKilledMasterSendsAfterItsRestart) {
  ASSERT_TRUE(StartMaster()) << service_->Log();  // the SMTP server is not up yet
  int64_t id = Submit();
  ASSERT_GT(id, 0);
  // Each message tried and failed at least once, the build itself untouched.
  json deliveries;
  for (int i = 0; i < 300; ++i) {
    deliveries = Deliveries(id);
    bool all_tried = deliveries.size() == 4;
    for (const json& d : deliveries) all_tried = all_tried && d["attempts"].get<int>() >= 1;
    if (all_tried) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(deliveries.size(), 4u) << deliveries.dump() << service_->Log();
  for (const json& d : deliveries) {
    EXPECT_EQ(d["state"], "pending");
    EXPECT_NE(d["last_error"].get<std::string>().find("127.0.0.1"), std::string::npos) << d;
    EXPECT_TRUE(d["next_try"].is_string());
  }
  HttpReply build = Http("GET", service_->Url("/api/v1/builds/" + std::to_string(id)), Auth());
  EXPECT_EQ(json::parse(build.body)["state"], "succeeded") << "a delivery never fails a build";

  // kill -9 with all four pending; the server comes up; the master restarts and sends them.
  service_->Kill();
  ASSERT_TRUE(smtp_->Start());
  ASSERT_TRUE(StartMaster()) << service_->Log();
  std::vector<std::string> messages = smtp_->AwaitMessages(4, 90);
  EXPECT_EQ(messages.size(), 4u) << service_->Log();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(smtp_->Messages().size(), 4u) << "none twice";
  for (const json& d : Deliveries(id)) {
    EXPECT_EQ(d["state"], "delivered") << d.dump();
    EXPECT_GE(d["attempts"].get<int>(), 2);
  }
}

// An SMTP server that takes mail only after STARTTLS and a login (aiosmtpd's Controller with a
// TLS context and an authenticator), keeping it in a Maildir.
constexpr char kTlsSmtpServer[] = R"PY(
import signal, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword
port, maildir, cert, key, user, password = sys.argv[1:7]
tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
tls.load_cert_chain(cert, key)
def check(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == user.encode() and \
        data.password == password.encode()
    return AuthResult(success=ok)
Controller(Mailbox(maildir), hostname='127.0.0.1', port=int(port), tls_context=tls,
           require_starttls=True, authenticator=check, auth_required=True,
           auth_require_tls=True).start()
signal.pause()
)PY";

TEST_F(MailDeliveryTest, StartTlsAndALoginAsTheServerRequires) {
  // A test CA and a certificate for 127.0.0.1 that it signed.
  std::string d = dir_.string();
  RunResult made =
      Sh("cd " + d +
         " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
         "-subj /CN=kiln-test-ca 2>/dev/null && openssl req -newkey rsa:2048 -nodes -keyout "
         "server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null && printf "
         "'subjectAltName=IP:127.0.0.1\\n' > san && openssl x509 -req -in server.csr -CA ca.pem "
         "-CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san 2>/dev/null && chmod "
         "644 ca.pem");
  ASSERT_EQ(made.exit_code, 0) << made.out;
  std::ofstream(dir_ / "tls_smtp.py") << kTlsSmtpServer;
  pid_t server = fork();
  if (server == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::string port = std::to_string(smtp_port_), maildir = d + "/maildir";
    std::string script = d + "/tls_smtp.py", cert = d + "/server.pem", key = d + "/server.key";
    execl("/usr/bin/python3", "python3", script.c_str(), port.c_str(), maildir.c_str(),
          cert.c_str(), key.c_str(), "kiln", "s3cret", nullptr);
    _exit(127);
  }
  for (int i = 0; i < 100 && !PortAccepts(smtp_port_); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto configure = [&](const std::string& password) {
    std::ofstream(dir_ / "kiln.conf")
        << "[smtp]\nserver = 127.0.0.1\nport = " << smtp_port_
        << "\nlogin = kiln\npassword = " << password
        << "\nfrom = kiln@example.org\nstarttls = always\nca_file = " << d << "/ca.pem\n";
  };
  configure("s3cret");
  ASSERT_TRUE(StartMaster()) << service_->Log();
  int64_t id = Submit();
  std::vector<std::string> messages = smtp_->AwaitMessages(4, 60);
  EXPECT_EQ(messages.size(), 4u) << Deliveries(id).dump() << service_->Log();

  // The wrong password: not sent, kept, tried again.
  service_->Stop();
  configure("wrong");
  ASSERT_TRUE(StartMaster()) << service_->Log();
  int64_t refused = Submit();
  json deliveries;
  for (int i = 0; i < 300; ++i) {
    deliveries = Deliveries(refused);
    if (!deliveries.empty() && deliveries[0]["attempts"].get<int>() >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(deliveries.empty());
  EXPECT_EQ(deliveries[0]["state"], "pending");
  // (aiosmtpd leaves a refused login hanging rather than answering 535: the error is the
  // time limit's; either way the message waits for the next try.)
  EXPECT_NE(deliveries[0]["last_error"].get<std::string>().find("SMTP 127.0.0.1:"),
            std::string::npos)
      << deliveries.dump();
  EXPECT_EQ(smtp_->Messages().size(), 4u) << "nothing more arrived";
  kill(server, SIGKILL);
  waitpid(server, nullptr, 0);
}

}  // namespace
}  // namespace kiln::testing
