// Distributed mode against a real RabbitMQ (a private node per test), a real `kiln serve
// --broker` and real `kiln worker` processes. These tests use dry runs — the same queue path
// as builds, without building — so they are quick: routing by arch and release, a request
// nobody serves, a broker restart and outage with builds queued, a rejected message in the
// dead-letter queue. Real builds through remote workers are in distributed_build_test.cc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "distributed_fixture.h"
#include "queue/amqp.h"

namespace kiln::testing {
namespace {

// Dry-run attempts a worker ran: each logs one line when it ends ("build N attempt A (dry
// run): result recorded", or handed back, or lost).
size_t DryRunsRun(const std::string& log) {
  size_t n = 0;
  for (size_t at = 0; (at = log.find(" (dry run): ", at)) != std::string::npos; ++at) ++n;
  return n;
}

TEST_F(DistributedTest, BuildsGoToTheWorkersOfTheirArchAndRelease) {
  AddWorker("amd64-both", "x86_64", "bookworm,trixie");
  AddWorker("i386-bookworm", "i686", "bookworm");
  AddWorker("i386-trixie", "i686", "trixie");
  struct Want {
    std::string arch, release, worker;
  };
  const std::vector<Want> wants = {{"x86_64", "bookworm", "amd64-both"},
                                   {"x86_64", "trixie", "amd64-both"},
                                   {"i686", "bookworm", "i386-bookworm"},
                                   {"i686", "trixie", "i386-trixie"}};
  std::vector<std::string> urls;
  std::vector<std::string> expected_worker;
  for (int copy = 0; copy < 2; ++copy) {
    for (const Want& w : wants) {
      json b = SubmitDryRun(w.arch, w.release, "route-" + std::to_string(copy));
      urls.push_back(b["url"]);
      // A worker token acts as its own workers: build-hosts/ID.
      expected_worker.push_back("build-hosts/" + std::string(w.worker));
    }
  }
  std::vector<json> done = WaitFinal(urls, std::chrono::seconds(120));
  for (size_t i = 0; i < done.size(); ++i) {
    EXPECT_EQ(done[i]["state"], "succeeded") << done[i].dump(2);
    EXPECT_EQ(done[i]["worker"], expected_worker[i]) << done[i].dump(2);
    EXPECT_EQ(done[i]["attempt"], 1);
  }
  // The answer of a dry run is its plan: every stage, cached or not and why; no artifacts.
  HttpReply events = Http("GET", service_->Url(urls[0] + "/events"), Auth(), "", 30);
  EXPECT_NE(events.body.find("event: plan\n"), std::string::npos) << events.body;
  EXPECT_NE(events.body.find("\"stage\":\"bootstrap\""), std::string::npos);
  EXPECT_NE(events.body.find("\"cached\":false"), std::string::npos);
  EXPECT_TRUE(done[0]["artifacts"].empty()) << done[0].dump(2);
  HttpReply log = Http("GET", service_->Url(urls[0] + "/log"), Auth());
  EXPECT_NE(log.body.find("plan: [1/3] bootstrap: would build"), std::string::npos) << log.body;

  // The workers page: each worker's arch, releases, version, capacity, builds, heartbeat.
  json workers = Get("/api/v1/workers")["workers"];
  std::map<std::string, json> by_id;
  for (const json& w : workers) by_id[w["id"]] = w;
  ASSERT_EQ(by_id.count("build-hosts/amd64-both"), 1u) << workers.dump(2);
  EXPECT_EQ(by_id["build-hosts/amd64-both"]["arches"], "x86_64");
  EXPECT_EQ(by_id["build-hosts/amd64-both"]["releases"], "bookworm,trixie");
  EXPECT_EQ(by_id["build-hosts/amd64-both"]["capacity"], 1);
  EXPECT_EQ(by_id["build-hosts/amd64-both"]["online"], true);
  EXPECT_TRUE(by_id["build-hosts/amd64-both"]["current_builds"].empty());
  EXPECT_FALSE(by_id["build-hosts/i386-trixie"]["version"].get<std::string>().empty());
  EXPECT_TRUE(by_id["build-hosts/i386-trixie"]["last_heartbeat"].is_string());
}

TEST_F(DistributedTest, ARequestNoWorkerServesWaitsAndSaysSo) {
  AddWorker("amd64", "x86_64", "bookworm");
  json b = SubmitDryRun("i686", "trixie", "lonely");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  json waiting = Get(b["url"]);
  EXPECT_EQ(waiting["state"], "queued");
  EXPECT_NE(waiting["queue"]["waiting_for"].get<std::string>().find(
                "no online worker builds i686 trixie"),
            std::string::npos)
      << waiting.dump(2);
  // A worker for it comes online: the message waited in its queue.
  AddWorker("i386", "i686", "trixie");
  json done = WaitFinal({b["url"]}, std::chrono::seconds(60))[0];
  EXPECT_EQ(done["state"], "succeeded") << done.dump(2);
  EXPECT_EQ(done["worker"], "build-hosts/i386");
}

TEST_F(DistributedTest, NothingIsLostWhenTheBrokerRestartsOrIsAway) {
  // 50 builds queued (published: durable queue, persistent messages), then the broker
  // restarts; 10 more are submitted while it is down (they wait in the master's outbox).
  std::vector<std::string> urls;
  for (int i = 0; i < 50; ++i)
    urls.push_back(SubmitDryRun("x86_64", "bookworm", "r" + std::to_string(i))["url"]);
  const std::string queue = "kiln.build.x86_64.bookworm";
  for (int i = 0; i < 100 && broker_->QueueLength("/", queue) < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(broker_->QueueLength("/", queue), 50);
  broker_->Stop();
  for (int i = 0; i < 10; ++i)
    urls.push_back(SubmitDryRun("x86_64", "bookworm", "d" + std::to_string(i))["url"]);
  ASSERT_TRUE(broker_->Start());
  AddWorker("amd64", "x86_64", "bookworm", {"--capacity", "4"});
  std::vector<json> done = WaitFinal(urls, std::chrono::seconds(180));
  std::set<int64_t> ids;
  for (const json& b : done) {
    EXPECT_EQ(b["state"], "succeeded") << b.dump(2);
    EXPECT_EQ(b["attempt"], 1) << "ran once: " << b.dump(2);
    ids.insert(b["id"].get<int64_t>());
  }
  EXPECT_EQ(ids.size(), 60u);
  // Every build ran exactly once on the worker (a duplicate message is dropped at the
  // claim, never run).
  std::string log = workers_[0]->Log();
  EXPECT_EQ(DryRunsRun(log), 60u) << log;
}

TEST_F(DistributedTest, BuildsWhoseMessagesTheBrokerLostArePublishedAgain) {
  std::vector<std::string> urls;
  for (int i = 0; i < 3; ++i) {
    urls.push_back(SubmitDryRun("x86_64", "bookworm", "gone" + std::to_string(i))["url"]);
  }
  const std::string queue = "kiln.build.x86_64.bookworm";
  for (int i = 0; i < 100 && broker_->QueueLength("/", queue) < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(broker_->QueueLength("/", queue), 3);
  // The broker loses them (an operator purges the queue, a disk dies): the store still has
  // the builds queued, and the master notices their queue is empty.
  Sh("rabbitmqctl -q -n " + broker_->node() + " purge_queue -p / " + queue);
  ASSERT_EQ(broker_->QueueLength("/", queue), 0);
  AddWorker("amd64", "x86_64", "bookworm");
  for (const json& b : WaitFinal(urls, std::chrono::seconds(120))) {
    EXPECT_EQ(b["state"], "succeeded") << b.dump(2);
    EXPECT_EQ(b["attempt"], 1);
  }
  EXPECT_NE(service_->Log().find("published again"), std::string::npos) << service_->Log();
}

TEST_F(DistributedTest, AMessageNoWorkerCanHandleIsDeadLetteredAndTheBuildSaysWhy) {
  AddWorker("amd64", "x86_64", "bookworm");
  json b = SubmitDryRun("i686", "trixie", "misrouted");  // nobody serves it: stays queued
  // A message naming it lands on the x86_64 queue (a misconfigured publisher, say): the
  // worker rejects it, the broker dead-letters it, the master fails the build with the reason.
  Result<std::unique_ptr<queue::AmqpConnection>> opened =
      queue::AmqpConnection::Open(broker_url_, std::chrono::milliseconds(3000), 0);
  ASSERT_TRUE(opened.ok()) << opened.message();
  queue::AmqpConnection& conn = **opened;
  Status s = conn.EnableConfirms();
  ASSERT_TRUE(s.ok()) << s.message();
  s = conn.DeclareBuildQueue(queue::BuildQueueName("x86_64", "bookworm"));
  ASSERT_TRUE(s.ok()) << s.message();
  s = conn.Publish(queue::BuildQueueName("x86_64", "bookworm"),
                   queue::EncodeBuildMessage({b["id"].get<int64_t>(), "i686", "trixie", "tar"}));
  ASSERT_TRUE(s.ok()) << s.message();
  s = conn.WaitForConfirms(std::chrono::milliseconds(5000));
  ASSERT_TRUE(s.ok()) << s.message();
  json done = WaitFinal({b["url"]}, std::chrono::seconds(30))[0];
  EXPECT_EQ(done["state"], "failed") << done.dump(2);
  EXPECT_EQ(done["error"]["code"], "dead-lettered") << done.dump(2);
  EXPECT_NE(done["error"]["message"].get<std::string>().find("rejected"), std::string::npos)
      << done.dump(2);
}

TEST_F(DistributedTest, EveryDeliveryOfABusyWorkerIsHandled) {
  // Workers holding several deliveries at once, woken both by the broker and by their own
  // finished jobs: once, a delivery that arrived between the two was read and dropped — its
  // message stayed unacknowledged (a prefetch slot gone for good) and its build waited for
  // the master's 30 s republish. Every build must run promptly, each once.
  AddWorker("amd64-a", "x86_64", "bookworm", {"--capacity", "8"});
  AddWorker("amd64-b", "x86_64", "bookworm", {"--capacity", "8"});
  std::vector<std::string> urls;
  for (int i = 0; i < 1000; ++i) {
    urls.push_back(SubmitDryRun("x86_64", "bookworm", "busy" + std::to_string(i))["url"]);
  }
  Clock::time_point start = Clock::now();
  std::vector<json> done = WaitFinal(urls, std::chrono::seconds(120));
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  int succeeded = 0;
  for (const json& b : done) succeeded += b["state"] == "succeeded" && b["attempt"] == 1;
  EXPECT_EQ(succeeded, 1000);
  EXPECT_EQ(service_->Log().find("published again"), std::string::npos)
      << "a delivery was lost on a worker:\n"
      << service_->Log();
  EXPECT_LT(seconds, 30) << "some builds waited for the republish";
  size_t ran = 0;
  for (const auto& w : workers_) ran += DryRunsRun(w->Log());
  EXPECT_EQ(ran, 1000u) << "each build ran once";
}

// x86_64 builds go to a broker that is down, i686 builds to the running one.
class SplitBrokerTest : public DistributedTest {
 protected:
  std::vector<std::string> MasterArgs() const override {
    return {"--broker", "x86_64=amqp://guest@127.0.0.1:1//"};
  }
};

TEST_F(SplitBrokerTest, ABacklogForABrokerThatIsAwayDoesNotHoldUpTheOthers) {
  // More x86_64 builds than the publisher takes in one round wait for their broker...
  for (int i = 0; i < 520; ++i) SubmitDryRun("x86_64", "bookworm", "w" + std::to_string(i));
  // ...and an i686 build submitted after them still goes out to its broker and runs.
  json b = SubmitDryRun("i686", "trixie", "behind-the-backlog");
  AddWorker("i386", "i686", "trixie");
  json done = WaitFinal({b["url"]}, std::chrono::seconds(60))[0];
  EXPECT_EQ(done["state"], "succeeded") << done.dump(2);
  json waiting = Get("/api/v1/builds?state=queued&limit=1");
  ASSERT_EQ(waiting["builds"].size(), 1u);
  EXPECT_EQ(waiting["builds"][0]["arch"], "x86_64") << "the x86_64 builds still wait";
}

}  // namespace
}  // namespace kiln::testing
