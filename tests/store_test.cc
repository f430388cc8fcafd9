// The store on a real SQLite file: migrations, users and tokens, the embedded queue's
// claiming, leases, fairness, idempotency and events.
#include "store/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "auth/credentials.h"
#include "server/queue_publisher.h"
#include "store/sqlite.h"

namespace kiln::store {
namespace {
namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kiln-store-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = Store::Open(dir_ / "kiln.db");
    alice_ = store_->AddUser("alice", Role::kUser, "");
    bob_ = store_->AddUser("bob", Role::kUser, "");
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  NewBuild Spec(int64_t owner, const std::string& hash, const std::string& arch = "x86_64") {
    NewBuild b;
    b.owner_id = owner;
    b.spec_json = "{}";
    b.spec_hash = hash;
    b.type = "qcow2";
    b.arch = arch;
    b.release = "bookworm";
    b.name = "n";
    return b;
  }
  WorkerCaps Caps(const std::string& id, const std::string& arches = "") {
    return {id, arches, "", ""};
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  int64_t alice_ = 0, bob_ = 0;
};

TEST_F(StoreTest, ReopeningKeepsDataAndSchema) {
  SubmitResult r = store_->SubmitBuild(Spec(alice_, "h1"), 1000);
  store_.reset();
  store_ = Store::Open(dir_ / "kiln.db");
  std::optional<Build> b = store_->GetBuild(r.id);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->owner, "alice");
  EXPECT_EQ(b->state, BuildState::kQueued);
  EXPECT_EQ(b->queued_ms, 1000);
}

TEST_F(StoreTest, RefusesADatabaseFromANewerKiln) {
  store_.reset();
  {
    auto db = Database::Open(dir_ / "kiln.db");
    db->Exec("PRAGMA user_version=" + std::to_string(Store::SchemaVersion() + 1));
  }
  EXPECT_THROW(Store::Open(dir_ / "kiln.db"), StoreError);
}

TEST_F(StoreTest, TokensAreFoundByHashAndRevocable) {
  std::string token = auth::NewToken();
  EXPECT_EQ(token.rfind("kiln_", 0), 0u);
  int64_t id = store_->AddToken(alice_, "ci", auth::SecretHash(token));
  std::optional<User> u = store_->UserForToken(auth::SecretHash(token), 5000);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->name, "alice");
  EXPECT_FALSE(store_->UserForToken(auth::SecretHash(token + "x"), 5000));
  EXPECT_TRUE(store_->RevokeToken(id));
  EXPECT_FALSE(store_->UserForToken(auth::SecretHash(token), 5000)) << "revoked";
  EXPECT_FALSE(store_->RevokeToken(id)) << "already revoked";
}

TEST_F(StoreTest, PasswordsAreArgon2id) {
  std::string hash = auth::HashPassword("correct horse");
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(auth::VerifyPassword(hash, "correct horse"));
  EXPECT_FALSE(auth::VerifyPassword(hash, "correct hors"));
  EXPECT_FALSE(auth::VerifyPassword("", "x"));
  EXPECT_FALSE(auth::VerifyPassword("garbage", "x"));
}

TEST_F(StoreTest, SessionsExpire) {
  store_->AddSession("s1", alice_, "csrf1", 10'000);
  auto s = store_->UserForSession("s1", 9'000);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->csrf, "csrf1");
  EXPECT_FALSE(store_->UserForSession("s1", 10'001));
}

TEST_F(StoreTest, TheWalIsCheckpointedAndStaysBoundedUnderSustainedWrites) {
  // ~100 MiB of events in commits of 1,000: three times the ~32 MiB a checkpoint waits for.
  int64_t id = store_->SubmitBuild(Spec(alice_, "wal"), 1).id;
  const std::string line(1000, 'x');
  std::vector<Store::NewEvent> events(1000, {"log", R"({"line":")" + line + R"("})"});
  fs::path wal = dir_ / "kiln.db-wal";
  uintmax_t largest = 0;
  for (int i = 0; i < 100; ++i) {
    store_->AppendEvents(id, events, 2 + i);
    std::error_code ec;
    largest = std::max(largest, fs::file_size(wal, ec));
  }
  // A checkpoint every ~32 MiB (8192 pages) and the WAL starts over: it never holds much
  // more than that and one commit. (A statement left stepping inside AppendEvents once made
  // every checkpoint after its commits fail: the WAL grew without end.)
  EXPECT_LT(largest, 2u * 8192 * 4096) << "WAL bytes at most";
  EXPECT_GT(fs::file_size(dir_ / "kiln.db"), 50u << 20) << "the events reached the database file";
  EXPECT_EQ(store_->EventsAfter(id, 99'990, 100).size(), 10u);
  store_.reset();
  store_ = Store::Open(dir_ / "kiln.db");
  EXPECT_EQ(store_->EventsAfter(id, 99'990, 100).size(), 10u) << "all there after reopening";
}

TEST_F(StoreTest, IdempotencyKeyAndInFlightSpecGiveOneBuild) {
  NewBuild b = Spec(alice_, "same");
  b.idempotency_key = "k1";
  SubmitResult first = store_->SubmitBuild(b, 1);
  EXPECT_EQ(first.outcome, SubmitOutcome::kCreated);
  SubmitResult again = store_->SubmitBuild(b, 2);
  EXPECT_EQ(again.outcome, SubmitOutcome::kSameIdempotencyKey);
  EXPECT_EQ(again.id, first.id);
  NewBuild other_key = Spec(alice_, "same");
  SubmitResult attached = store_->SubmitBuild(other_key, 3);
  EXPECT_EQ(attached.outcome, SubmitOutcome::kAttachedToInFlight);
  EXPECT_EQ(attached.id, first.id);
  // Another user's identical request is their own build.
  EXPECT_NE(store_->SubmitBuild(Spec(bob_, "same"), 4).id, first.id);
  // Once the first is final, the same spec builds again.
  ASSERT_TRUE(store_->RequestCancel(first.id, 5));
  SubmitResult second = store_->SubmitBuild(Spec(alice_, "same"), 6);
  EXPECT_EQ(second.outcome, SubmitOutcome::kCreated);
  // Running still counts as in flight; succeeded does not.
  ASSERT_TRUE(store_->Claim(second.id, Caps("w1"), 30'000, 7));
  EXPECT_EQ(store_->SubmitBuild(Spec(alice_, "same"), 8).id, second.id);
  ASSERT_TRUE(store_->Finish(second.id, 1, "w1", BuildState::kSucceeded, "", "", "", "", 9));
  EXPECT_EQ(store_->SubmitBuild(Spec(alice_, "same"), 10).outcome, SubmitOutcome::kCreated);
}

TEST_F(StoreTest, ClaimOrderIsPriorityThenFairnessThenAge) {
  int64_t a1 = store_->SubmitBuild(Spec(alice_, "a1"), 1).id;
  int64_t a2 = store_->SubmitBuild(Spec(alice_, "a2"), 2).id;
  int64_t b1 = store_->SubmitBuild(Spec(bob_, "b1"), 3).id;
  NewBuild urgent = Spec(bob_, "b2");
  urgent.priority = 5;
  int64_t b2 = store_->SubmitBuild(urgent, 4).id;
  EXPECT_EQ(store_->ClaimNext(Caps("w1"), 30'000, 10)->id, b2) << "priority first";
  // bob now has one running build, alice none: alice's oldest goes before bob's.
  EXPECT_EQ(store_->ClaimNext(Caps("w2"), 30'000, 10)->id, a1);
  // alice 1 running, bob 1 running: the oldest.
  EXPECT_EQ(store_->ClaimNext(Caps("w3"), 30'000, 10)->id, a2);
  EXPECT_EQ(store_->ClaimNext(Caps("w4"), 30'000, 10)->id, b1);
  EXPECT_FALSE(store_->ClaimNext(Caps("w5"), 30'000, 10)) << "queue empty";
}

TEST_F(StoreTest, WorkersClaimOnlyWhatTheyCanBuild) {
  int64_t i686 = store_->SubmitBuild(Spec(alice_, "x", "i686"), 1).id;
  EXPECT_FALSE(store_->ClaimNext(Caps("w", "x86_64"), 1000, 2));
  std::optional<Build> b = store_->ClaimNext(Caps("w", "x86_64,i686"), 1000, 2);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id, i686);
  EXPECT_EQ(b->attempt, 1);
  EXPECT_EQ(b->state, BuildState::kRunning);
}

TEST_F(StoreTest, ABuildThatKeepsLosingItsWorkerFailsAfterMaxAttempts) {
  int64_t id = store_->SubmitBuild(Spec(alice_, "x"), 1).id;
  int64_t now = 10;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    Build b = *store_->ClaimNext(Caps("w"), 100, now);
    EXPECT_EQ(b.attempt, attempt);
    now += 200;  // the worker died: its lease runs out
    Store::Expired e = store_->RequeueExpired(now, 3);
    if (attempt < 3) {
      EXPECT_EQ(e.requeued, std::vector<int64_t>{id});
    } else {
      EXPECT_TRUE(e.requeued.empty());
      EXPECT_EQ(e.failed, std::vector<int64_t>{id});
    }
  }
  Build failed = *store_->GetBuild(id);
  EXPECT_EQ(failed.state, BuildState::kFailed);
  EXPECT_EQ(failed.error_code, "worker-lost");
  EXPECT_NE(failed.error_message.find("3 times"), std::string::npos) << failed.error_message;
}

TEST_F(StoreTest, TheOutboxHasARowEachTimeABuildBecomesQueued) {
  int64_t before = store_->SubmitBuild(Spec(alice_, "before"), 1).id;
  store_->EnableOutbox();  // builds queued earlier get a row too
  int64_t id = store_->SubmitBuild(Spec(alice_, "x"), 2).id;
  std::vector<OutboxEntry> rows = store_->OutboxBatch(10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].build_id, before);
  EXPECT_EQ(rows[1].build_id, id);
  EXPECT_TRUE(rows[1].still_queued);
  EXPECT_EQ(rows[1].arch, "x86_64");
  store_->OutboxDone({rows[0].seq, rows[1].seq});
  EXPECT_EQ(store_->OutboxSize(), 0);
  Build b = *store_->Claim(id, Caps("w"), 100, 3);
  EXPECT_EQ(store_->OutboxSize(), 0) << "a claim queues nothing";
  EXPECT_TRUE(store_->HandBack(id, b.attempt, "w", 4));
  rows = store_->OutboxBatch(10);
  ASSERT_EQ(rows.size(), 1u) << "handed back: announced again";
  EXPECT_EQ(rows[0].build_id, id);
  store_->Claim(id, Caps("w"), 100, 5);
  EXPECT_FALSE(store_->OutboxBatch(10)[0].still_queued) << "claimed since: nothing to send";
}

TEST_F(StoreTest, OutboxBatchesLeaveOutOrKeepOnlyTheNamedArches) {
  store_->EnableOutbox();
  int64_t amd = store_->SubmitBuild(Spec(alice_, "a", "x86_64"), 1).id;
  int64_t i386 = store_->SubmitBuild(Spec(alice_, "b", "i686"), 2).id;
  auto ids = [](const std::vector<OutboxEntry>& rows) {
    std::vector<int64_t> out;
    for (const OutboxEntry& r : rows) out.push_back(r.build_id);
    return out;
  };
  EXPECT_EQ(ids(store_->OutboxBatch(10)), (std::vector<int64_t>{amd, i386}));
  EXPECT_EQ(ids(store_->OutboxBatch(10, {{"x86_64"}, false})), std::vector<int64_t>{i386});
  EXPECT_EQ(ids(store_->OutboxBatch(10, {{"x86_64"}, true})), std::vector<int64_t>{amd});
  EXPECT_TRUE(store_->OutboxBatch(10, {{}, true}).empty()) << "no broker up: nothing goes";
}

TEST(BrokerRoutesTest, ABrokerThatIsAwayHoldsBackOnlyItsOwnArches) {
  server::BrokerRoutes routes;
  ASSERT_TRUE(routes.Add("amqp://guest@main//").ok());
  ASSERT_TRUE(routes.Add("i686=amqp://guest@old//").ok());
  OutboxArchFilter none = routes.Publishable({});
  EXPECT_FALSE(none.only);
  EXPECT_TRUE(none.arches.empty());
  OutboxArchFilter old_away = routes.Publishable({"amqp://guest@old//"});
  EXPECT_FALSE(old_away.only);
  EXPECT_EQ(old_away.arches, std::vector<std::string>{"i686"});
  OutboxArchFilter main_away = routes.Publishable({"amqp://guest@main//"});
  EXPECT_TRUE(main_away.only) << "only the arches of brokers that are up";
  EXPECT_EQ(main_away.arches, std::vector<std::string>{"i686"});
}

TEST_F(StoreTest, AnExpiredLeaseRequeuesAndTheOldAttemptIsRefused) {
  int64_t id = store_->SubmitBuild(Spec(alice_, "x"), 1).id;
  Build b = *store_->ClaimNext(Caps("w1"), 1000, 100);
  EXPECT_EQ(store_->Heartbeat(id, b.attempt, "w1", 1000, 500), LeaseStatus::kHeld);
  EXPECT_TRUE(store_->RequeueExpired(1400).requeued.empty()) << "lease extended to 1500";
  EXPECT_EQ(store_->RequeueExpired(1600).requeued, std::vector<int64_t>{id});
  EXPECT_EQ(store_->GetBuild(id)->state, BuildState::kQueued);
  EXPECT_EQ(store_->Heartbeat(id, b.attempt, "w1", 1000, 1700), LeaseStatus::kLost);
  Build again = *store_->ClaimNext(Caps("w2"), 1000, 1800);
  EXPECT_EQ(again.attempt, 2);
  EXPECT_FALSE(store_->Finish(id, 1, "w1", BuildState::kSucceeded, "", "", "", "", 1900))
      << "a stale attempt cannot finish the build";
  EXPECT_TRUE(store_->Finish(id, 2, "w2", BuildState::kSucceeded, "", "", "", "", 1900));
  EXPECT_EQ(store_->GetBuild(id)->state, BuildState::kSucceeded);
  EXPECT_EQ(store_->GetBuild(id)->progress, 1.0);
}

TEST_F(StoreTest, TheRunningAttemptSaysWhoRunsItAndWhetherItIsADryRun) {
  int64_t build = store_->SubmitBuild(Spec(alice_, "b"), 1).id;
  NewBuild plan = Spec(alice_, "p");
  plan.spec_json = R"({"dry_run":true,"type":"tar"})";
  plan.dry_run = true;
  int64_t dry = store_->SubmitBuild(plan, 2).id;
  EXPECT_FALSE(store_->RunningAttemptOf(build)) << "queued, not running";
  store_->Claim(build, Caps("w1"), 1000, 3);
  store_->Claim(dry, Caps("w2"), 1000, 3);
  std::optional<Store::RunningAttempt> a = store_->RunningAttemptOf(build);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->attempt, 1);
  EXPECT_EQ(a->worker, "w1");
  EXPECT_FALSE(a->dry_run);
  std::optional<Store::RunningAttempt> d = store_->RunningAttemptOf(dry);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->worker, "w2");
  EXPECT_TRUE(d->dry_run);
  EXPECT_TRUE(store_->Finish(dry, 1, "w2", BuildState::kSucceeded, "", "", "", "", 4));
  EXPECT_FALSE(store_->RunningAttemptOf(dry)) << "finished";
}

TEST_F(StoreTest, CancelQueuedIsImmediateCancelRunningGoesThroughTheHeartbeat) {
  int64_t queued = store_->SubmitBuild(Spec(alice_, "q"), 1).id;
  int64_t running = store_->SubmitBuild(Spec(alice_, "r"), 2).id;
  Build r = *store_->Claim(running, Caps("w"), 1000, 3);
  EXPECT_TRUE(store_->RequestCancel(queued, 4));
  EXPECT_EQ(store_->GetBuild(queued)->state, BuildState::kCanceled);
  EXPECT_TRUE(store_->RequestCancel(running, 4));
  EXPECT_EQ(store_->GetBuild(running)->state, BuildState::kRunning);
  EXPECT_EQ(store_->Heartbeat(running, r.attempt, "w", 1000, 5), LeaseStatus::kCancelRequested);
  EXPECT_FALSE(store_->RequestCancel(queued, 6)) << "already final";
  EXPECT_TRUE(store_->Retry(queued, 7));
  EXPECT_EQ(store_->GetBuild(queued)->state, BuildState::kQueued);
  EXPECT_FALSE(store_->Retry(running, 8)) << "running builds are not retried";
}

TEST_F(StoreTest, EventsAreNumberedPerBuild) {
  int64_t a = store_->SubmitBuild(Spec(alice_, "a"), 1).id;
  int64_t b = store_->SubmitBuild(Spec(alice_, "b"), 1).id;
  auto first = store_->AppendEvents(a, {{"log", R"({"line":"x"})"}, {"log", R"({"line":"y"})"}}, 5);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[1].seq, 2);
  EXPECT_EQ(store_->AppendEvents(b, {{"state", "{}"}}, 6)[0].seq, 1);
  std::vector<Event> after = store_->EventsAfter(a, 1, 100);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].data, R"({"line":"y"})");
}

TEST_F(StoreTest, AUserWithBuildsIsKeptUnlessAsked) {
  store_->SubmitBuild(Spec(alice_, "a"), 1);
  EXPECT_EQ(store_->DeleteUser("alice", false), Store::DeleteUserResult::kHasBuilds);
  EXPECT_TRUE(store_->FindUser("alice"));
  EXPECT_EQ(store_->DeleteUser("alice", true), Store::DeleteUserResult::kDeleted);
  EXPECT_FALSE(store_->FindUser("alice"));
  EXPECT_EQ(store_->DeleteUser("nobody", false), Store::DeleteUserResult::kNotFound);
}

TEST_F(StoreTest, QueuePlaceAndTypicalDuration) {
  int64_t a = store_->SubmitBuild(Spec(alice_, "a"), 1).id;
  int64_t b = store_->SubmitBuild(Spec(alice_, "b"), 2).id;
  EXPECT_EQ(store_->PlaceInQueue(b).position, 2);
  EXPECT_EQ(store_->PlaceInQueue(b).queued_total, 2);
  EXPECT_FALSE(store_->TypicalDurationSeconds("qcow2", "x86_64", "bookworm"));
  Build run = *store_->Claim(a, Caps("w"), 100'000, 10'000);
  store_->Finish(a, run.attempt, "w", BuildState::kSucceeded, "", "", "", "", 70'000);
  EXPECT_DOUBLE_EQ(*store_->TypicalDurationSeconds("qcow2", "x86_64", "bookworm"), 60.0);
  EXPECT_EQ(store_->PlaceInQueue(b).position, 1);
}

}  // namespace
}  // namespace kiln::store
