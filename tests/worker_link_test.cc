// One conformance suite for the worker protocol, run against both of its links: the
// in-process CoordinatorLink of `kiln serve --workers N`, and the HttpLink of `kiln worker`
// talking to a real HttpServer on a free loopback port, with a worker token. Whatever a
// worker can observe (claims, leases, stale attempts, events, artifacts, results,
// hand-back, cancel) must be the same through both.
#include "protocol/worker_link.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <thread>

#include "core/sha256.h"
#include "server/api.h"
#include "server/coordinator_link.h"
#include "server/http_server.h"
#include "server/tokens.h"
#include "testing/fake_clock.h"
#include "worker/http_link.h"

namespace kiln::worker {
namespace {
namespace fs = std::filesystem;

enum class LinkKind { kInProcess, kHttp };

class WorkerLinkTest : public ::testing::TestWithParam<LinkKind> {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_ALL); }

  void SetUp() override {
    std::string name = "kiln-worker-link-test-" + std::to_string(getpid()) + "-" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name) {
      if (c == '/') c = '-';  // "Test/Http"
    }
    dir_ = fs::temp_directory_path() / name;
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = store::Store::Open(dir_ / "kiln.db", clock_);
    co_ = std::make_unique<server::Coordinator>(*store_, dir_, clock_);
    owner_ = store_->AddUser("alice", Role::kUser, "");
    if (GetParam() == LinkKind::kInProcess) {
      link_ = std::make_unique<server::CoordinatorLink>(*co_);
      return;
    }
    api_ = std::make_unique<server::Api>(*co_, server::ApiOptions{});
    server::HttpServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<server::HttpServer>(*api_, options);
    Status listening = server_->Listen();
    ASSERT_TRUE(listening.ok()) << listening.message();
    serving_ = std::thread([this] { server_->Run(); });
    Result<server::IssuedToken> token = server::IssueToken(*store_, {"", "host1", "test"});
    ASSERT_TRUE(token.ok()) << token.message();
    link_ = std::make_unique<HttpLink>("http://127.0.0.1:" + std::to_string(server_->port()),
                                       token->token, kWorker, dir_ / "work");
  }

  void TearDown() override {
    link_.reset();
    if (server_) server_->Stop();
    if (serving_.joinable()) serving_.join();
    server_.reset();
    api_.reset();
    co_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  int64_t Submit(const std::string& hash, const std::string& release = "bookworm") {
    store::NewBuild b;
    b.owner_id = owner_;
    b.spec_json = R"({"type":"tar"})";
    b.spec_hash = hash;
    b.type = "tar";
    b.arch = "x86_64";
    b.release = release;
    b.name = "n";
    return co_->Submit(b).id;
  }
  static store::WorkerCaps Caps(const std::string& releases = "") {
    return {kWorker, "x86_64", releases, ""};
  }
  std::string StateOf(int64_t id) { return std::string(ToString(store_->GetBuild(id)->state)); }

  // A worker id under the token's name: the HTTP link's calls keep it as it is.
  static constexpr const char* kWorker = "host1/1";

  ::kiln::testing::FakeClock clock_;
  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<server::Coordinator> co_;
  std::unique_ptr<server::Api> api_;
  std::unique_ptr<server::HttpServer> server_;
  std::thread serving_;
  std::unique_ptr<protocol::WorkerLink> link_;
  int64_t owner_ = 0;
};

TEST_P(WorkerLinkTest, ABuildIsClaimedOnceAndOnlyByAWorkerThatServesIt) {
  protocol::WorkerInfo me;
  me.id = kWorker;
  me.arches = "x86_64";
  me.releases = "bookworm";
  me.version = "test";
  link_->Register(me);
  std::vector<store::Worker> workers = store_->ListWorkers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].id, kWorker);
  EXPECT_EQ(workers[0].releases, "bookworm");
  int64_t trixie = Submit("t", "trixie");
  EXPECT_FALSE(link_->ClaimNext(Caps("bookworm"), 30'000))
      << "a trixie build for a bookworm worker";
  std::optional<server::JobTicket> t = link_->ClaimNext(Caps(), 30'000);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->build_id, trixie);
  EXPECT_EQ(t->attempt, 1);
  EXPECT_NE(t->spec_json.find("\"tar\""), std::string::npos) << t->spec_json;
  EXPECT_FALSE(link_->ClaimNext(Caps(), 30'000)) << "nothing else is queued";
  EXPECT_FALSE(link_->ClaimBuild(trixie, Caps(), 30'000)) << "a redelivered message";
  int64_t named = Submit("n");
  std::optional<server::JobTicket> by_name = link_->ClaimBuild(named, Caps(), 30'000);
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->build_id, named);
  EXPECT_EQ(StateOf(named), "running");
}

TEST_P(WorkerLinkTest, TheAttemptReportsEventsAndAnArtifactAndSucceeds) {
  int64_t id = Submit("a");
  std::optional<server::JobTicket> t = link_->ClaimNext(Caps(), 30'000);
  ASSERT_TRUE(t);
  EXPECT_EQ(link_->Heartbeat(id, t->attempt, kWorker, 30'000), store::LeaseStatus::kHeld);
  EXPECT_TRUE(link_->Report(id, t->attempt, {{"log", R"({"line":"hello from the link"})"}},
                            server::Coordinator::Progress{"bootstrap", 0.25}));
  EXPECT_EQ(store_->GetBuild(id)->stage, "bootstrap");
  EXPECT_DOUBLE_EQ(store_->GetBuild(id)->progress, 0.25);

  fs::path out = link_->AttemptDir(id, t->attempt);
  fs::create_directories(out);
  std::string content(70000, 'z');
  std::ofstream(out / "image.tar") << content;
  Status added = link_->AddArtifact(id, t->attempt, out / "image.tar");
  ASSERT_TRUE(added.ok()) << added.message();
  server::JobResult ok;
  ok.state = BuildState::kSucceeded;
  EXPECT_TRUE(link_->Finish(id, t->attempt, kWorker, ok, {{"stage_done", R"({"stage":"x"})"}}));
  EXPECT_EQ(StateOf(id), "succeeded");
  std::vector<store::Artifact> artifacts = store_->Artifacts(id);
  ASSERT_EQ(artifacts.size(), 1u);
  EXPECT_EQ(artifacts[0].name, "image.tar");
  EXPECT_EQ(artifacts[0].sha256, Sha256Hex(content));
  bool logged = false, last = false;
  for (const store::Event& e : store_->EventsAfter(id, 0, 100)) {
    logged |= e.kind == "log" && e.data.find("hello from the link") != std::string::npos;
    last |= e.kind == "stage_done";
  }
  EXPECT_TRUE(logged);
  EXPECT_TRUE(last) << "the result's last events are recorded with it";
}

TEST_P(WorkerLinkTest, AStaleAttemptIsRefusedEverywhere) {
  int64_t id = Submit("s");
  std::optional<server::JobTicket> t = link_->ClaimNext(Caps(), 30'000);
  ASSERT_TRUE(t);
  int stale = t->attempt + 1;
  EXPECT_EQ(link_->Heartbeat(id, stale, kWorker, 30'000), store::LeaseStatus::kLost);
  EXPECT_FALSE(link_->Report(id, stale, {{"log", R"({"line":"x"})"}}, std::nullopt));
  server::JobResult failed;
  failed.state = BuildState::kFailed;
  EXPECT_FALSE(link_->Finish(id, stale, kWorker, failed, {}));
  EXPECT_FALSE(link_->HandBack(id, stale, kWorker));
  EXPECT_EQ(StateOf(id), "running") << "nothing the stale attempt said counted";
}

TEST_P(WorkerLinkTest, AHandedBackBuildGoesToTheNextClaimAsANewAttempt) {
  int64_t id = Submit("h");
  std::optional<server::JobTicket> t = link_->ClaimNext(Caps(), 30'000);
  ASSERT_TRUE(t);
  EXPECT_TRUE(link_->HandBack(id, t->attempt, kWorker));
  EXPECT_EQ(StateOf(id), "queued");
  std::optional<server::JobTicket> again = link_->ClaimNext(Caps(), 30'000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attempt, t->attempt + 1);
  EXPECT_EQ(link_->Heartbeat(id, t->attempt, kWorker, 30'000), store::LeaseStatus::kLost);
}

TEST_P(WorkerLinkTest, ACancelComesBackOnTheHeartbeat) {
  int64_t id = Submit("c");
  std::optional<server::JobTicket> t = link_->ClaimNext(Caps(), 30'000);
  ASSERT_TRUE(t);
  ASSERT_TRUE(co_->Cancel(id));
  EXPECT_EQ(link_->Heartbeat(id, t->attempt, kWorker, 30'000),
            store::LeaseStatus::kCancelRequested);
  server::JobResult canceled;
  canceled.state = BuildState::kCanceled;
  EXPECT_TRUE(link_->Finish(id, t->attempt, kWorker, canceled, {}));
  EXPECT_EQ(StateOf(id), "canceled");
}

TEST_P(WorkerLinkTest, AnExpiredLeaseIsLostToTheWorker) {
  int64_t id = Submit("e");
  std::optional<server::JobTicket> t = link_->ClaimNext(Caps(), 5'000);
  ASSERT_TRUE(t);
  clock_.Advance(std::chrono::seconds(6));
  EXPECT_EQ(co_->RequeueExpired(3), 1);
  EXPECT_EQ(link_->Heartbeat(id, t->attempt, kWorker, 5'000), store::LeaseStatus::kLost);
  EXPECT_FALSE(link_->Report(id, t->attempt, {{"log", R"({"line":"late"})"}}, std::nullopt));
}

INSTANTIATE_TEST_SUITE_P(BothLinks, WorkerLinkTest,
                         ::testing::Values(LinkKind::kInProcess, LinkKind::kHttp),
                         [](const ::testing::TestParamInfo<LinkKind>& param) {
                           return param.param == LinkKind::kInProcess ? std::string("InProcess")
                                                                      : std::string("Http");
                         });

}  // namespace
}  // namespace kiln::worker
