// RunAttempt, one claimed attempt to its end, against a master in memory
// (testing::FakeWorkerLink) and a scripted `kiln job` (testing::FakeProcessRunner): what is
// delivered and in which order, the failure classes, cancel, stop, a lost lease, and
// delivery retried while the master fails. No process, no network, no root.
#include "worker/job_runner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "protocol/job_lines.h"
#include "testing/fake_process_runner.h"
#include "testing/fake_worker_link.h"

namespace kiln::worker {
namespace {
namespace fs = std::filesystem;
using protocol::LeaseStatus;
using testing::FakeProcessRunner;
using testing::FakeWorkerLink;

class JobRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kiln-job-runner-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    link_ = std::make_unique<FakeWorkerLink>(dir_);
    options_.worker_id = "w1";
    options_.kiln_binary = "/usr/bin/kiln";
    options_.cache_dir = dir_ / "cache";
    options_.heartbeat = std::chrono::milliseconds(1);  // a heartbeat every beat (50 ms)
    options_.processes = &job_;
    options_.log = [this](const std::string& line) { logged_.push_back(line); };
  }
  void TearDown() override { fs::remove_all(dir_); }

  AttemptEnd Run() {
    protocol::JobTicket ticket{7, 2, R"({"name":"t"})", false};
    return RunAttempt(*link_, options_, ticket, stop_);
  }
  static FakeProcessRunner::Script Succeeds(std::map<std::string, std::string> files) {
    FakeProcessRunner::Script s;
    s.lines = {protocol::EncodeJobLine(protocol::StageLine(0, 2, "bootstrap", "cache miss")),
               "a tool's own output",
               protocol::EncodeJobLine(protocol::ProgressLine("bootstrap", 0.5, "unpacking")),
               protocol::EncodeJobLine(protocol::StageDoneLine("bootstrap", "built", 1200)),
               protocol::EncodeJobLine(protocol::SucceededLine("kiln.raw", std::string(64, 'a')))};
    s.files = std::move(files);
    return s;
  }
  static std::vector<std::string> Kinds(const std::vector<protocol::Event>& events) {
    std::vector<std::string> kinds;
    for (const protocol::Event& e : events) kinds.push_back(e.kind);
    return kinds;
  }

  fs::path dir_;
  std::unique_ptr<FakeWorkerLink> link_;
  FakeProcessRunner job_;
  RunnerOptions options_;
  std::atomic<bool> stop_{false};
  std::vector<std::string> logged_;
};

TEST_F(JobRunnerTest, ASucceededJobDeliversItsEventsThenItsFilesThenItsResult) {
  job_.SetScript(Succeeds({{"kiln.raw", "the image"}, {"kiln.raw.sha256", "abc"}}));
  EXPECT_EQ(Run(), AttemptEnd::kRecorded);

  FakeWorkerLink::Sent sent = link_->sent();
  EXPECT_EQ(Kinds(sent.events),
            (std::vector<std::string>{"stage", "log", "progress", "stage_done"}));
  ASSERT_TRUE(sent.progress.has_value());
  EXPECT_EQ(sent.progress->stage, "bootstrap");
  EXPECT_DOUBLE_EQ(sent.progress->fraction, 0.5);  // stage 1 of 2 done
  EXPECT_EQ(sent.artifacts, (std::map<std::string, std::string>{{"kiln.raw", "the image"},
                                                                {"kiln.raw.sha256", "abc"}}));
  ASSERT_TRUE(sent.result.has_value());
  EXPECT_EQ(sent.result->state, BuildState::kSucceeded);

  std::vector<std::vector<std::string>> started = job_.Started();
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0][0], "/usr/bin/kiln");
  EXPECT_EQ(started[0][1], "job");
  EXPECT_FALSE(fs::exists(link_->AttemptDir(7, 2))) << "the attempt's directory is removed";
}

TEST_F(JobRunnerTest, AFailedJobReportsItsOwnCodeClassAndHint) {
  FakeProcessRunner::Script s;
  s.lines = {protocol::EncodeJobLine(protocol::FailedLine("scripts", "user", "post-script-failed",
                                                          "%post exited with 3", "see the log"))};
  s.result = FakeProcessRunner::Exited(1);
  s.files = {{"half.raw", "x"}};
  job_.SetScript(s);
  EXPECT_EQ(Run(), AttemptEnd::kRecorded);
  FakeWorkerLink::Sent sent = link_->sent();
  ASSERT_TRUE(sent.result.has_value());
  EXPECT_EQ(sent.result->state, BuildState::kFailed);
  EXPECT_EQ(sent.result->error_code, "post-script-failed");
  EXPECT_EQ(sent.result->error_class, "user");
  EXPECT_EQ(sent.result->error_message, "%post exited with 3");
  EXPECT_EQ(sent.result->error_hint, "see the log");
  EXPECT_TRUE(sent.artifacts.empty()) << "a failed build delivers no files";
}

TEST_F(JobRunnerTest, AJobThatDiesWithoutAResultIsACrashWithItsLastWords) {
  FakeProcessRunner::Script s;
  s.lines = {"last words"};
  s.result.kind = sys::ExitKind::kSignaled;
  s.result.signal = 9;
  s.result.tail = {"last words"};
  job_.SetScript(s);
  EXPECT_EQ(Run(), AttemptEnd::kRecorded);
  std::optional<protocol::JobResult> result = link_->sent().result;
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error_code, "job-crashed");
  EXPECT_EQ(result->error_class, "internal");
  EXPECT_NE(result->error_message.find("signal 9"), std::string::npos) << result->error_message;
  EXPECT_NE(result->error_message.find("last words"), std::string::npos);
}

TEST_F(JobRunnerTest, ACancelFromTheMasterStopsTheJobAndIsReportedAsCanceled) {
  FakeProcessRunner::Script s;
  s.runs_until_canceled = true;
  job_.SetScript(s);
  link_->SetLease(LeaseStatus::kCancelRequested);
  EXPECT_EQ(Run(), AttemptEnd::kRecorded);
  FakeWorkerLink::Sent sent = link_->sent();
  ASSERT_TRUE(sent.result.has_value());
  EXPECT_EQ(sent.result->state, BuildState::kCanceled);
  EXPECT_EQ(sent.result->error_code, "canceled");
  EXPECT_GE(sent.heartbeats, 1);
}

TEST_F(JobRunnerTest, AStoppingWorkerHandsTheAttemptBackUnfinished) {
  FakeProcessRunner::Script s;
  s.runs_until_canceled = true;
  job_.SetScript(s);
  stop_ = true;
  EXPECT_EQ(Run(), AttemptEnd::kHandedBack);
  FakeWorkerLink::Sent sent = link_->sent();
  EXPECT_EQ(sent.hand_backs, 1);
  EXPECT_FALSE(sent.result.has_value());
}

TEST_F(JobRunnerTest, ALostLeaseStopsTheJobAndSendsNoResult) {
  FakeProcessRunner::Script s;
  s.runs_until_canceled = true;
  job_.SetScript(s);
  link_->SetLease(LeaseStatus::kLost);
  EXPECT_EQ(Run(), AttemptEnd::kLost);
  FakeWorkerLink::Sent sent = link_->sent();
  EXPECT_FALSE(sent.result.has_value());
  EXPECT_EQ(sent.finish_calls, 0);
  EXPECT_EQ(sent.hand_backs, 0);
}

TEST_F(JobRunnerTest, TheResultIsSentAgainWhileTheMasterCannotBeReached) {
  job_.SetScript(Succeeds({{"kiln.raw", "img"}}));
  link_->FailFinishes(2);
  EXPECT_EQ(Run(), AttemptEnd::kRecorded);
  FakeWorkerLink::Sent sent = link_->sent();
  EXPECT_EQ(sent.finish_calls, 3);
  ASSERT_TRUE(sent.result.has_value());
  EXPECT_EQ(sent.result->state, BuildState::kSucceeded);
  EXPECT_EQ(sent.artifacts.size(), 1u) << "the image is not built or sent twice";
  ASSERT_EQ(logged_.size(), 2u);
  EXPECT_NE(logged_[0].find("build 7 attempt 2: the master is not answering; trying again in 250"),
            std::string::npos)
      << logged_[0];
  EXPECT_NE(logged_[1].find("trying again in 500 ms"), std::string::npos) << logged_[1];
}

TEST_F(JobRunnerTest, AnArtifactTheMasterRefusesFailsTheBuild) {
  job_.SetScript(Succeeds({{"kiln.raw", "img"}}));
  link_->RefuseArtifacts("no space left on the master");
  EXPECT_EQ(Run(), AttemptEnd::kRecorded);
  std::optional<protocol::JobResult> result = link_->sent().result;
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->state, BuildState::kFailed);
  EXPECT_EQ(result->error_code, "artifact-failed");
  EXPECT_EQ(result->error_message, "storing kiln.raw failed: no space left on the master");
}

TEST_F(JobRunnerTest, DeliveryGivesUpAfterDeliverForAndSaysWhy) {
  job_.SetScript(Succeeds({{"kiln.raw", "img"}}));
  link_->FailArtifacts(1000);
  options_.deliver_for = std::chrono::milliseconds(600);
  EXPECT_EQ(Run(), AttemptEnd::kRecorded);
  std::optional<protocol::JobResult> result = link_->sent().result;
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error_code, "artifact-failed");
  EXPECT_EQ(result->error_message, "storing kiln.raw failed: the master is not answering");
}

}  // namespace
}  // namespace kiln::worker
