// The master's side of the worker protocol on a real store and data directory: the log file,
// events and progress from reports, artifacts moved in with their SHA-256, stale attempts
// refused, hand-back, and retention.
#include "server/coordinator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "core/sha256.h"
#include "sys/files.h"
#include "testing/fake_clock.h"

namespace kiln::server {
namespace {
namespace fs = std::filesystem;

JobResult Succeeded() {
  JobResult r;
  r.state = BuildState::kSucceeded;
  return r;
}

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kiln-coordinator-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = store::Store::Open(dir_ / "kiln.db", clock_);
    co_ = std::make_unique<Coordinator>(*store_, dir_, clock_);
    owner_ = store_->AddUser("alice", Role::kUser, "");
  }
  void TearDown() override {
    co_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  int64_t Submit(const std::string& hash) {
    store::NewBuild b;
    b.owner_id = owner_;
    b.spec_json = "{}";
    b.spec_hash = hash;
    b.type = "tar";
    b.arch = "x86_64";
    b.release = "bookworm";
    b.name = "n";
    return co_->Submit(b).id;
  }
  // Claims, writes one output file of `bytes` bytes, adds it as an artifact, succeeds.
  int64_t BuildWithArtifact(const std::string& hash, size_t bytes) {
    int64_t id = Submit(hash);
    JobTicket t = *co_->ClaimNext({"w", "", "", ""}, 30'000);
    fs::create_directories(co_->AttemptDir(id, t.attempt));
    fs::path file = co_->AttemptDir(id, t.attempt) / "image.tar.zst";
    std::ofstream(file) << std::string(bytes, 'x');
    Status added = co_->AddArtifact(id, t.attempt, file);
    EXPECT_TRUE(added.ok()) << added.message();
    EXPECT_TRUE(co_->Finish(id, t.attempt, "w", Succeeded()));
    clock_.Advance(std::chrono::milliseconds(1));  // the next one finishes later
    return id;
  }

  // Time stands still unless a test moves it.
  ::kiln::testing::FakeClock clock_;
  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Coordinator> co_;
  int64_t owner_ = 0;
};

TEST_F(CoordinatorTest, ReportsBecomeLogEventsAndProgress) {
  int64_t id = Submit("a");
  JobTicket t = *co_->ClaimNext({"w", "", "", ""}, 30'000);
  EXPECT_EQ(t.build_id, id);
  int woken = 0;
  uint64_t h = co_->hub().Subscribe(id, [&] { ++woken; });
  EXPECT_TRUE(co_->Report(id, t.attempt,
                          {{"log", R"({"line":"first line"})"}, {"log", R"({"line":"second"})"}},
                          Coordinator::Progress{"bootstrap", 0.25}));
  co_->hub().Unsubscribe(id, h);
  EXPECT_EQ(woken, 1);
  std::string log = sys::ReadFileText(co_->LogPath(id));
  EXPECT_NE(log.find("=== attempt 1 on w ===\nfirst line\nsecond\n"), std::string::npos) << log;
  std::optional<store::Build> b = store_->GetBuild(id);
  EXPECT_EQ(b->stage, "bootstrap");
  EXPECT_DOUBLE_EQ(b->progress, 0.25);
  std::vector<store::Event> events = store_->EventsAfter(id, 0, 100);
  ASSERT_GE(events.size(), 4u) << "queued, running, two log lines";
  EXPECT_EQ(events[0].kind, "state");
  EXPECT_EQ(events.back().kind, "log");
}

TEST_F(CoordinatorTest, ADryRunKeepsNoLogFileEvenAfterTheMasterRestarts) {
  store::NewBuild b;
  b.owner_id = owner_;
  b.spec_json = R"({"arch":"x86_64","dry_run":true,"type":"tar"})";
  b.spec_hash = "dry";
  b.type = "tar";
  b.arch = "x86_64";
  b.release = "bookworm";
  b.name = "plan";
  b.dry_run = true;
  int64_t id = co_->Submit(b).id;
  JobTicket t = *co_->ClaimNext({"w", "", "", ""}, 30'000);
  EXPECT_TRUE(t.dry_run);
  co_ = std::make_unique<Coordinator>(*store_, dir_);  // the master restarted meanwhile
  EXPECT_TRUE(co_->Finish(id, t.attempt, "w", Succeeded(),
                          {{"log", R"({"line":"plan: 0 of 5 stages from the cache"})"}}));
  EXPECT_FALSE(fs::exists(co_->LogPath(id))) << "a dry run's log is its events";
  std::vector<store::Event> events = store_->EventsAfter(id, 0, 100);
  bool logged = false;
  for (const store::Event& e : events) logged |= e.kind == "log";
  EXPECT_TRUE(logged);
}

TEST_F(CoordinatorTest, AStaleAttemptIsRefused) {
  int64_t id = Submit("b");
  JobTicket t = *co_->ClaimNext({"w1", "", "", ""}, 30'000);
  EXPECT_TRUE(co_->HandBack(id, t.attempt, "w1"));
  EXPECT_EQ(store_->GetBuild(id)->state, BuildState::kQueued);
  JobTicket again = *co_->ClaimNext({"w2", "", "", ""}, 30'000);
  EXPECT_EQ(again.attempt, 2);
  EXPECT_FALSE(co_->Report(id, 1, {{"log", R"({"line":"late"})"}}, std::nullopt));
  fs::path file = dir_ / "late.txt";
  std::ofstream(file) << "x";
  EXPECT_FALSE(co_->AddArtifact(id, 1, file).ok());
  EXPECT_FALSE(co_->Finish(id, 1, "w1", Succeeded()));
  EXPECT_EQ(sys::ReadFileText(co_->LogPath(id)).find("late"), std::string::npos);
}

TEST_F(CoordinatorTest, ArtifactsAreMovedInWithTheirHash) {
  int64_t id = BuildWithArtifact("c", 1000);
  std::vector<store::Artifact> a = store_->Artifacts(id);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].size, 1000);
  EXPECT_EQ(a[0].sha256, Sha256Hex(std::string(1000, 'x')));
  EXPECT_TRUE(fs::exists(co_->ArtifactDir(id) / "image.tar.zst"));
}

TEST_F(CoordinatorTest, RetentionRemovesTheOldestFirstAndSaysSo) {
  int64_t old1 = BuildWithArtifact("d1", 4000);
  int64_t old2 = BuildWithArtifact("d2", 4000);
  int64_t recent = BuildWithArtifact("d3", 4000);
  EXPECT_EQ(co_->ApplyRetention(0, 0), 0) << "no policy, nothing removed";
  EXPECT_EQ(co_->ApplyRetention(0, 9000), 1) << "12000 bytes over a 9000 budget: one goes";
  EXPECT_GT(store_->GetBuild(old1)->artifacts_removed_ms, 0);
  EXPECT_FALSE(fs::exists(co_->ArtifactDir(old1)));
  EXPECT_EQ(store_->GetBuild(old2)->artifacts_removed_ms, 0);
  EXPECT_EQ(store_->GetBuild(recent)->artifacts_removed_ms, 0);
  std::vector<store::Event> events = store_->EventsAfter(old1, 0, 100);
  EXPECT_EQ(events.back().kind, "artifacts_removed");
  // Everything finished more than 1 ms ago is too old.
  clock_.Advance(std::chrono::milliseconds(5));
  EXPECT_EQ(co_->ApplyRetention(1, 0), 2);
  EXPECT_TRUE(store_->BuildsWithArtifacts().empty());
}

// Lease expiry, the retry limit and hand-back on the fake clock: minutes of leases in
// microseconds of test, no sleeping.
class CoordinatorClockTest : public CoordinatorTest {
 protected:
  void SetUp() override {
    CoordinatorTest::SetUp();
    id_ = Submit("h");
  }
  std::string StateOf() { return std::string(ToString(store_->GetBuild(id_)->state)); }

  int64_t id_ = 0;
};

TEST_F(CoordinatorClockTest, ALeaseExpiresOnlyAfterItsTimeAndEachHeartbeatExtendsIt) {
  using namespace std::chrono_literals;
  std::optional<JobTicket> t = co_->ClaimNext({"w1", "", "", ""}, 30'000);
  ASSERT_TRUE(t);
  EXPECT_EQ(store_->GetBuild(id_)->started_ms, clock_.NowMs()) << "stamped by the fake clock";
  clock_.Advance(29s);
  EXPECT_EQ(co_->RequeueExpired(3), 0) << "29 s into a 30 s lease";
  EXPECT_EQ(co_->Heartbeat(id_, t->attempt, "w1", 30'000), store::LeaseStatus::kHeld);
  clock_.Advance(29s);
  EXPECT_EQ(co_->RequeueExpired(3), 0) << "the heartbeat gave it 30 s more";
  clock_.Advance(2s);
  EXPECT_EQ(co_->RequeueExpired(3), 1);
  EXPECT_EQ(StateOf(), "queued");
  EXPECT_EQ(co_->Heartbeat(id_, t->attempt, "w1", 30'000), store::LeaseStatus::kLost)
      << "the old attempt is over";
}

TEST_F(CoordinatorClockTest, AfterTheRetryLimitAnExpiredLeaseFailsTheBuild) {
  using namespace std::chrono_literals;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    std::optional<JobTicket> t = co_->ClaimNext({"w" + std::to_string(attempt), "", "", ""}, 1000);
    ASSERT_TRUE(t) << "attempt " << attempt;
    EXPECT_EQ(t->attempt, attempt);
    clock_.Advance(1001ms);
    EXPECT_EQ(co_->RequeueExpired(3), 1);
    EXPECT_EQ(StateOf(), attempt < 3 ? "queued" : "failed") << "attempt " << attempt;
  }
  EXPECT_FALSE(co_->ClaimNext({"w4", "", "", ""}, 1000)) << "a failed build is not claimed";
}

TEST_F(CoordinatorClockTest, AHandedBackBuildIsQueuedAtOnceAndItsLeaseNoLongerCounts) {
  using namespace std::chrono_literals;
  std::optional<JobTicket> t = co_->ClaimNext({"w1", "", "", ""}, 30'000);
  ASSERT_TRUE(t);
  clock_.Advance(1s);
  EXPECT_TRUE(co_->HandBack(id_, t->attempt, "w1"));
  EXPECT_EQ(StateOf(), "queued");
  clock_.Advance(1h);
  EXPECT_EQ(co_->RequeueExpired(3), 0) << "nothing is running";
  std::optional<JobTicket> again = co_->ClaimNext({"w2", "", "", ""}, 30'000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attempt, t->attempt + 1);
}

}  // namespace
}  // namespace kiln::server
