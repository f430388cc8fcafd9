// Real builds through remote workers (`kiln worker`, RabbitMQ, a `kiln serve --broker`
// master), and what happens when parts fail mid-build: a worker killed, the master killed and
// restarted, a worker cut off from the master, a cancel, a SIGTERM. The builds are small tar
// images whose %post sleeps, so each test can act while one runs; the stage and package
// cache is the services' (kiln-build-tests/service-cache), so the bootstrap is shared.
#include <csignal>

#include "core/sha256.h"
#include "distributed_fixture.h"

namespace kiln::testing {
namespace {

const fs::path kSharedCache = fs::temp_directory_path() / "kiln-build-tests" / "service-cache";

class DistributedBuildTest : public DistributedTest {
 protected:
  // Short leases: a lost worker is noticed in seconds.
  std::vector<std::string> WorkerArgs() const override { return {"--lease", "5"}; }
  fs::path CacheDir() const override { return kSharedCache; }

  struct Running {
    json build;              // as it was when its %post ran
    std::string find_sleep;  // a pgrep command that finds the %post
  };
  // Submits a build whose %post runs "sleep SECONDS.PIDn" (a command line no other process
  // has) and waits until it runs.
  Running StartSleepingBuild(const std::string& seconds) {
    static int n = 0;
    std::string sleep = "sleep " + seconds + "." + std::to_string(getpid()) + std::to_string(++n);
    Running out{json(), "pgrep -f '[s]" + sleep.substr(1) + "'"};
    json b = Submit({{"type", "tar"},
                     {"arch", "x86_64"},
                     {"release", "bookworm"},
                     {"kickstart", std::string(kKickstart) + "%post\n" + sleep + "\n%end\n"}},
                    false);
    std::string url = b["url"];
    for (Clock::time_point end = Clock::now() + std::chrono::seconds(900); Clock::now() < end;) {
      if (!Sh(out.find_sleep).out.empty()) break;
      std::string state = Get(url)["state"];
      if (state != "queued" && state != "running") break;  // failed on the way
      if (state == "queued" && workers_.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    out.build = Get(url);
    EXPECT_FALSE(Sh(out.find_sleep).out.empty()) << out.build.dump(2);
    return out;
  }
  static bool Gone(const std::string& find, std::chrono::seconds within) {
    for (Clock::time_point end = Clock::now() + within; Clock::now() < end;) {
      if (Sh(find).out.empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  WorkerProcess* ByName(const std::string& id) {
    for (auto& w : workers_) {
      if (w->Log().find(" as " + id + " ") != std::string::npos) return w.get();
    }
    return nullptr;
  }
  // The artifacts are one set: each name once, the image's checksum as downloaded.
  void ExpectOneArtifactSet(const json& build) {
    std::set<std::string> names;
    json image;
    for (const json& a : build["artifacts"]) {
      EXPECT_TRUE(names.insert(a["name"].get<std::string>()).second) << build.dump(2);
      std::string name = a["name"];
      if (name.size() > 8 && name.substr(name.size() - 8) == ".tar.zst") image = a;
    }
    ASSERT_FALSE(image.is_null()) << build.dump(2);
    HttpReply file = Http("GET", service_->Url(image["url"]), Auth(), "", 120);
    EXPECT_EQ(Sha256Hex(file.body), image["sha256"]);
  }
};

TEST_F(DistributedBuildTest, AKilledWorkersBuildFinishesOnAnotherWithOneArtifactSet) {
  AddWorker("host-a", "x86_64", "bookworm");
  AddWorker("host-b", "x86_64", "bookworm");
  Running r = StartSleepingBuild("8");
  std::string first = r.build["worker"];  // a worker token's workers are build-hosts/ID
  ASSERT_TRUE(first == "build-hosts/host-a" || first == "build-hosts/host-b") << r.build.dump(2);
  ByName(first.substr(first.find('/') + 1))->Kill();  // kill -9: the message goes back
  EXPECT_TRUE(Gone(r.find_sleep, std::chrono::seconds(15)))
      << "the killed worker's build stops with it";
  json done = WaitFinal({r.build["url"]}, std::chrono::seconds(300))[0];
  ASSERT_EQ(done["state"], "succeeded") << done.dump(2);
  EXPECT_EQ(done["attempt"], 2);
  EXPECT_NE(done["worker"], first);
  ExpectOneArtifactSet(done);
}

TEST_F(DistributedBuildTest, CancelReachesARemoteWorkerWithinSeconds) {
  AddWorker("host-a", "x86_64", "bookworm");
  Running r = StartSleepingBuild("300");
  Clock::time_point asked = Clock::now();
  ASSERT_EQ(
      Http("POST", service_->Url(r.build["url"].get<std::string>() + "/cancel"), Auth()).status,
      202);
  json done = WaitFinal({r.build["url"]}, std::chrono::seconds(30))[0];
  double seconds = std::chrono::duration<double>(Clock::now() - asked).count();
  EXPECT_EQ(done["state"], "canceled") << done.dump(2);
  EXPECT_LT(seconds, 5.0);
  EXPECT_TRUE(Gone(r.find_sleep, std::chrono::seconds(5))) << "no process of the build is left";
}

TEST_F(DistributedBuildTest, TheResultIsRecordedWhenTheMasterComesBack) {
  AddWorker("host-a", "x86_64", "bookworm");
  Running r = StartSleepingBuild("10");
  service_->Kill();  // kill -9 mid-build
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_TRUE(service_->Start({"--broker", broker_url_})) << service_->Log();
  json done = WaitFinal({r.build["url"]}, std::chrono::seconds(300))[0];
  EXPECT_EQ(done["state"], "succeeded") << done.dump(2);
  EXPECT_EQ(done["attempt"], 1) << "the build went on while the master was away";
  ExpectOneArtifactSet(done);
}

TEST_F(DistributedBuildTest, AWorkerCutOffFromTheMasterLosesItsBuildToAnother) {
  TcpProxy proxy(service_->port());
  AddWorker("host-cut", "x86_64", "bookworm", {},
            "http://127.0.0.1:" + std::to_string(proxy.port()));
  Running r = StartSleepingBuild("20");
  ASSERT_EQ(r.build["worker"], "build-hosts/host-cut");
  AddWorker("host-b", "x86_64", "bookworm");
  proxy.Cut();  // the broker still reaches host-cut; the master does not
  json done = WaitFinal({r.build["url"]}, std::chrono::seconds(300))[0];
  EXPECT_EQ(done["state"], "succeeded") << done.dump(2);
  EXPECT_EQ(done["worker"], "build-hosts/host-b");
  EXPECT_EQ(done["attempt"], 2);
  WorkerProcess* cut = ByName("host-cut");
  ASSERT_NE(cut, nullptr);
  EXPECT_NE(cut->Log().find(": lost"), std::string::npos) << cut->Log();
}

TEST_F(DistributedBuildTest, ADroppedUploadResumesWithoutBuildingAgain) {
  // Between worker and master: 4 MB/s, so the image's upload takes seconds.
  TcpProxy proxy(service_->port(), 4u << 20);
  WorkerProcess& w = AddWorker("host-slow", "x86_64", "bookworm", {},
                               "http://127.0.0.1:" + std::to_string(proxy.port()));
  json b = Submit({{"type", "tar"},
                   {"arch", "x86_64"},
                   {"release", "bookworm"},
                   {"name", "resume-" + std::to_string(getpid())},
                   {"kickstart", kKickstart}},
                  false);
  fs::path upload = dir_ / "master" / "data" / "builds" / std::to_string(b["id"].get<int64_t>()) /
                    "attempt-1" / "upload";
  bool broke = false;
  for (Clock::time_point end = Clock::now() + std::chrono::seconds(900); Clock::now() < end;) {
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(upload, ec)) {
      if (e.path().string().find(".tar.zst.part") != std::string::npos &&
          e.file_size(ec) > (2u << 20)) {
        proxy.DropConnections();  // mid-upload
        broke = true;
      }
    }
    if (broke) break;
    std::string state = Get(b["url"])["state"];
    if (state != "running" && state != "queued") break;  // finished before it was caught
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(broke) << "the upload was not caught in flight: " << Get(b["url"]).dump(2);
  EXPECT_EQ(
      Http("GET", "http://127.0.0.1:" + std::to_string(proxy.port()) + "/api/v1/health", {}, "", 10)
          .status,
      200)
      << "new connections get through";
  json done = WaitFinal({b["url"]}, std::chrono::seconds(300))[0];
  EXPECT_EQ(done["state"], "succeeded") << done.dump(2);
  EXPECT_EQ(done["attempt"], 1) << "the image was not built again";
  ExpectOneArtifactSet(done);
  std::string log = w.Log();
  EXPECT_EQ(log.find(": started"), log.rfind(": started")) << log;
  // The master took part of the image (202), then the rest from where it was (201).
  std::string metrics = Http("GET", service_->Url("/metrics"), Auth()).body;
  EXPECT_NE(metrics.find("route=\"/api/v1/worker/{id}/artifacts/{name}\",code=\"202\""),
            std::string::npos)
      << metrics;
}

TEST_F(DistributedBuildTest, SigtermLetsTheRunningBuildFinish) {
  WorkerProcess& w = AddWorker("host-a", "x86_64", "bookworm");
  Running r = StartSleepingBuild("5");
  Clock::time_point sent = Clock::now();
  EXPECT_EQ(w.Term(std::chrono::seconds(300)), 0) << w.Log();
  json done = Get(r.build["url"]);
  EXPECT_EQ(done["state"], "succeeded") << done.dump(2);
  EXPECT_EQ(done["attempt"], 1);
  EXPECT_GT(std::chrono::duration<double>(Clock::now() - sent).count(), 2.0)
      << "it waited for the build";
}

TEST_F(DistributedBuildTest, SigtermHandsTheBuildBackAfterTheGrace) {
  WorkerProcess& w = AddWorker("host-a", "x86_64", "bookworm", {"--stop-grace", "1"});
  Running r = StartSleepingBuild("600");
  EXPECT_EQ(w.Term(std::chrono::seconds(60)), 0) << w.Log();
  EXPECT_TRUE(Gone(r.find_sleep, std::chrono::seconds(15)));
  json back = Get(r.build["url"]);
  EXPECT_EQ(back["state"], "queued") << back.dump(2);
  EXPECT_NE(w.Log().find("handed back"), std::string::npos) << w.Log();
}

}  // namespace
}  // namespace kiln::testing
