// The fixture of the distributed-mode tests: a private RabbitMQ node, a `kiln serve
// --broker` master with a worker token, and helpers to start `kiln worker` processes and to
// submit and wait for builds.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "broker_harness.h"
#include "service_harness.h"

namespace kiln::testing {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

inline const char* kKickstart = "lang C\n%packages --excludedocs\njq\n%end\n";

class DistributedTest : public ::testing::Test {
 protected:
  // Arguments of every `kiln worker` and of the master, for a fixture's tests.
  virtual std::vector<std::string> WorkerArgs() const { return {}; }
  virtual std::vector<std::string> MasterArgs() const { return {}; }
  virtual fs::path CacheDir() const { return dir_ / "cache"; }

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "the private RabbitMQ node runs as root (then rabbitmq)";
    if (!Broker::Available()) GTEST_SKIP() << "rabbitmq-server is not installed";
    curl_global_init(CURL_GLOBAL_ALL);
    dir_ = fs::temp_directory_path() / ("kiln-distributed-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    broker_ = std::make_unique<Broker>(dir_ / "broker");
    ASSERT_TRUE(broker_->Start()) << ReadFile(dir_ / "broker" / "server.log");
    broker_url_ = broker_->Url();
    service_ = std::make_unique<Service>(KILN_BINARY, dir_ / "master");
    std::vector<std::string> master = {"--broker", broker_url_};
    for (const std::string& a : MasterArgs()) master.push_back(a);
    ASSERT_TRUE(service_->Start(master)) << service_->Log();
    token_ = service_->AdminToken();
    RunResult t = Popen(service_->Kiln("token create --worker build-hosts"));  // stdout: the token
    ASSERT_EQ(t.exit_code, 0) << t.out;
    std::ofstream(dir_ / "worker.token") << t.out;
  }
  void TearDown() override {
    workers_.clear();
    if (service_) service_->Stop();
    service_.reset();
    broker_.reset();
    fs::remove_all(dir_);
  }
  WorkerProcess& AddWorker(const std::string& id, const std::string& arch,
                           const std::string& releases, std::vector<std::string> extra = {},
                           std::string master_url = "") {
    if (master_url.empty()) master_url = service_->Url("");
    std::vector<std::string> args = {
        "--master",    master_url,         "--token-file", (dir_ / "worker.token").string(),
        "--broker",    broker_url_,        "--arch",       arch,
        "--release",   releases,           "--id",         id,
        "--cache-dir", CacheDir().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    for (const std::string& a : WorkerArgs()) args.push_back(a);
    workers_.push_back(std::make_unique<WorkerProcess>(KILN_BINARY, dir_ / id, args));
    EXPECT_TRUE(workers_.back()->Start()) << workers_.back()->Log();
    return *workers_.back();
  }
  std::vector<std::string> Auth() const {
    return {"Authorization: Bearer " + token_, "Content-Type: application/json"};
  }
  json Submit(const json& request, bool dry_run) {
    HttpReply r =
        Http("POST", service_->Url(dry_run ? "/api/v1/builds?dry_run=1" : "/api/v1/builds"), Auth(),
             request.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  json SubmitDryRun(const std::string& arch, const std::string& release, const std::string& name) {
    return Submit({{"type", "tar"},
                   {"arch", arch},
                   {"release", release},
                   {"name", name},
                   {"kickstart", kKickstart}},
                  true);
  }
  json Get(const std::string& path) {
    return json::parse(Http("GET", service_->Url(path), Auth()).body, nullptr, false);
  }
  // Polls until every build in `urls` is final; returns them.
  std::vector<json> WaitFinal(const std::vector<std::string>& urls, std::chrono::seconds timeout) {
    std::vector<json> out(urls.size());
    for (Clock::time_point end = Clock::now() + timeout; Clock::now() < end;) {
      bool all = true;
      for (size_t i = 0; i < urls.size(); ++i) {
        if (out[i].is_object() && out[i]["state"] != "queued" && out[i]["state"] != "running") {
          continue;
        }
        out[i] = Get(urls[i]);
        all = all && out[i]["state"] != "queued" && out[i]["state"] != "running";
      }
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return out;
  }

  fs::path dir_;
  std::unique_ptr<Broker> broker_;
  std::string broker_url_;
  std::unique_ptr<Service> service_;
  std::string token_;
  std::vector<std::unique_ptr<WorkerProcess>> workers_;
};

}  // namespace kiln::testing
