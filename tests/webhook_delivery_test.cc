// Webhooks from a real `kiln serve` to a real receiver (python3's http.server on a free
// loopback port, which the master may reach only because the test opens loopback with
// --fetch-allow): a call at every state change, signed with the owner's secret, a receiver
// that answers 500 three times is tried again until it takes them; and what is refused at
// submit — a loopback receiver under the default policy, credentials in the URL.
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

class WebhookDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    curl_global_init(CURL_GLOBAL_ALL);
    dir_ = fs::temp_directory_path() /
           ("kiln-webhook-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    chmod(dir_.c_str(), 0755);
    port_ = FreePort();
    service_ = std::make_unique<Service>(KILN_BINARY, dir_ / "master", 1);
  }
  void TearDown() override {
    receiver_.reset();
    service_.reset();
    fs::remove_all(dir_);
  }
  void StartReceiver(int failures) {
    receiver_ = std::make_unique<WebhookReceiver>(dir_ / "receiver", port_, failures);
    ASSERT_TRUE(receiver_->Start());
  }
  std::vector<std::string> Auth() const {
    return {"Authorization: Bearer " + service_->AdminToken(), "Content-Type: application/json"};
  }
  HttpReply Submit(const std::string& hook) {
    json req = {{"type", "tar"},
                {"arch", "x86_64"},
                {"release", "bookworm"},
                {"kickstart", "lang C\n%packages\njq\n%end\n"},
                {"notify", {{"webhook", {hook}}}}};
    return Http("POST", service_->Url("/api/v1/builds?dry_run=1"), Auth(), req.dump());
  }
  std::vector<json> Received() const {
    std::vector<json> out;
    for (const std::string& call : receiver_->Calls()) {
      json j = json::parse(call, nullptr, false);
      if (j.is_object()) out.push_back(j);
    }
    return out;
  }

  fs::path dir_;
  int port_ = 0;
  std::unique_ptr<WebhookReceiver> receiver_;
  std::unique_ptr<Service> service_;
};

TEST_F(WebhookDeliveryTest, EveryStateChangeSignedAndRetriedPastThreeFailures) {
  StartReceiver(3);
  ASSERT_TRUE(service_->Start({"--fetch-allow", "127.0.0.1/32"})) << service_->Log();
  HttpReply secret_reply = Http("GET", service_->Url("/api/v1/webhook-secret"), Auth());
  ASSERT_EQ(secret_reply.status, 200) << secret_reply.body;
  std::string secret = json::parse(secret_reply.body)["secret"];

  HttpReply submitted = Submit("http://127.0.0.1:" + std::to_string(port_) + "/kiln");
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  int64_t id = json::parse(submitted.body)["id"];

  // queued, running, succeeded: three changes, each delivered once after the 500s.
  std::vector<json> received;
  std::set<std::string> delivered_states;
  for (int i = 0; i < 600 && delivered_states.size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    received = Received();
    delivered_states.clear();
    for (const json& r : received) {
      if (r["status"] == 200) {
        delivered_states.insert(json::parse(r["body"].get<std::string>())["state"]);
      }
    }
  }
  EXPECT_EQ(delivered_states, (std::set<std::string>{"queued", "running", "succeeded"}))
      << service_->Log();
  ASSERT_GE(received.size(), 6u) << "three refused, then each change";
  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  for (const json& r : received) {
    // t=SECONDS,v1=HEX over "SECONDS." + body, with the owner's secret.
    std::string sig = r["signature"], body = r["body"];
    int64_t t = 0;
    EXPECT_TRUE(WebhookSignatureVerifies(secret, sig, body, t))
        << "the receiver can verify " << sig;
    EXPECT_LE(std::abs(now_s - t), 300) << "a fresh timestamp";
    json b = json::parse(body);
    EXPECT_EQ(b["event"], "build.state");
    EXPECT_EQ(b["build"]["id"], id);
    EXPECT_EQ(b["build"]["owner"], "admin");
  }

  HttpReply build = Http("GET", service_->Url("/api/v1/builds/" + std::to_string(id)), Auth());
  json deliveries = json::parse(build.body)["deliveries"];
  int retried = 0;
  for (const json& d : deliveries) {
    EXPECT_EQ(d["kind"], "webhook");
    EXPECT_EQ(d["state"], "delivered") << d.dump();
    if (d["attempts"].get<int>() > 1) ++retried;
  }
  EXPECT_EQ(deliveries.size(), 3u) << deliveries.dump();
  EXPECT_GE(retried, 1) << "the 500s were tried again: " << deliveries.dump();
  EXPECT_EQ(json::parse(build.body)["state"], "succeeded");
}

// examples/kiln-server.conf, that very file, is a config kiln serve takes (the harness's
// flags win over its [server] keys): its staging root is taken, another is refused.
TEST_F(WebhookDeliveryTest, TheExampleServerConfigIsOneKilnServeTakes) {
  ASSERT_TRUE(
      service_->Start({"--config", std::string(KILN_SOURCE_DIR) + "/examples/kiln-server.conf"}))
      << service_->Log();
  auto submit = [&](const std::string& staging) {
    json req = {
        {"type", "tar"}, {"kickstart", "lang C\n%packages\njq\n%end\n"}, {"staging", {staging}}};
    return Http("POST", service_->Url("/api/v1/builds?dry_run=1"), Auth(), req.dump());
  };
  EXPECT_EQ(submit("file:///srv/kiln/staging/team-a").status, 201);
  HttpReply refused = submit("file:///srv/elsewhere");
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_NE(refused.body.find("staging-refused"), std::string::npos) << refused.body;
}

TEST_F(WebhookDeliveryTest, LoopbackReceiversAndCredentialsAreRefusedAtSubmit) {
  ASSERT_TRUE(service_->Start()) << service_->Log();  // the default policy: public only
  for (const auto& [hook, code] : std::vector<std::pair<std::string, std::string>>{
           {"http://127.0.0.1:9/hook", "address-refused"},
           {"http://169.254.169.254/latest", "address-refused"},
           {"http://[::1]:8080/hook", "address-refused"},
           {"https://user:secret@hooks.example.org/kiln", "credentials-in-url"}}) {
    HttpReply r = Submit(hook);
    EXPECT_EQ(r.status, 422) << hook << ": " << r.body;
    json e = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(e.is_object()) << r.body;
    EXPECT_EQ(e["error"]["code"], code) << r.body;
    EXPECT_NE(e["error"]["message"].get<std::string>().find("notify.webhook"), std::string::npos);
  }
  HttpReply list = Http("GET", service_->Url("/api/v1/builds"), Auth());
  EXPECT_TRUE(json::parse(list.body)["builds"].empty()) << "nothing of a refused request stays";
}

}  // namespace
}  // namespace kiln::testing
