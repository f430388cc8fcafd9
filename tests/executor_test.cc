// RunPlan with small real stages (they write files): order, cache hits, reruns from the
// changed stage on, failures, cancel, exceptions.
#include "engine/executor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "testing/recording_reporter.h"

namespace kiln::engine {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A stage that appends its value to the previous stage's "chain" file.
class AppendStage : public Stage {
 public:
  AppendStage(std::string name, std::string value, int* runs)
      : name_(std::move(name)), value_(std::move(value)), runs_(runs) {}
  std::string name() const override { return name_; }
  StageInputs Inputs() const override { return {name_, 1, "", {{"value", value_}}}; }
  bool Run(const StageContext& ctx, StageFailure& failure) override {
    ++*runs_;
    if (value_ == "fail") {
      failure = {FailureClass::kInput, "test-failure", name_ + ": told to fail", "change it"};
      std::ofstream(ctx.output / "chain") << "half-written";
      return false;
    }
    if (value_ == "throw") throw std::runtime_error("boom");
    ctx.reporter->StageProgress(name_, 0.5, "halfway");
    std::string before = ctx.input.empty() ? "" : ReadAll(ctx.input / "chain");
    std::ofstream(ctx.output / "chain") << before << value_ << ";";
    return true;
  }

 private:
  std::string name_, value_;
  int* runs_;
};

using Recorder = testing::RecordingReporter;

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kiln-exec-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::unique_ptr<Stage>> Plan(const std::string& a, const std::string& b,
                                           const std::string& c) {
    std::vector<std::unique_ptr<Stage>> plan;
    plan.push_back(std::make_unique<AppendStage>("bootstrap", a, &runs_[0]));
    plan.push_back(std::make_unique<AppendStage>("configure", b, &runs_[1]));
    plan.push_back(std::make_unique<AppendStage>("scripts", c, &runs_[2]));
    return plan;
  }

  fs::path dir_;
  int runs_[3] = {0, 0, 0};
};

TEST_F(ExecutorTest, BuildsThenServesFromCache) {
  StageCache cache(dir_, 0);
  Recorder first;
  PlanResult r = RunPlan(Plan("a", "b", "c"), cache, first);
  ASSERT_TRUE(r.ok) << r.failure.message;
  EXPECT_EQ(ReadAll(r.output / "chain"), "a;b;c;");
  EXPECT_EQ(first.timeline.front(), "start 1/3 bootstrap: miss because first build of this stage");
  EXPECT_EQ(first.timeline.back(), "end scripts: built");

  Recorder second;
  PlanResult again = RunPlan(Plan("a", "b", "c"), cache, second);
  ASSERT_TRUE(again.ok);
  EXPECT_EQ(again.output, r.output);
  EXPECT_EQ(second.timeline,
            (std::vector<std::string>{"start 1/3 bootstrap: cache hit", "end bootstrap: cache hit",
                                      "start 2/3 configure: cache hit", "end configure: cache hit",
                                      "start 3/3 scripts: cache hit", "end scripts: cache hit"}));
  EXPECT_EQ(runs_[0] + runs_[1] + runs_[2], 3) << "nothing ran twice";
}

TEST_F(ExecutorTest, AChangeRerunsFromThatStageOn) {
  StageCache cache(dir_, 0);
  Recorder first;
  ASSERT_TRUE(RunPlan(Plan("a", "b", "c"), cache, first).ok);
  Recorder second;
  PlanResult r = RunPlan(Plan("a", "B", "c"), cache, second);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(ReadAll(r.output / "chain"), "a;B;c;");
  EXPECT_EQ(second.timeline[0], "start 1/3 bootstrap: cache hit");
  EXPECT_EQ(second.timeline[2], "start 2/3 configure: miss because value changed");
  EXPECT_EQ(second.timeline[4], "start 3/3 scripts: miss because the stage before it changed");
  EXPECT_EQ(runs_[0], 1);
  EXPECT_EQ(runs_[1], 2);
  EXPECT_EQ(runs_[2], 2);
}

TEST_F(ExecutorTest, FailureStopsAndLeavesNoEntry) {
  StageCache cache(dir_, 0);
  Recorder rec;
  PlanResult r = RunPlan(Plan("a", "fail", "c"), cache, rec);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_stage, "configure");
  EXPECT_EQ(r.failure.code, "test-failure");
  EXPECT_EQ(rec.timeline.back(), "end configure: failed");
  EXPECT_EQ(runs_[2], 0) << "later stages do not run";
  EXPECT_TRUE(fs::is_empty(dir_ / "work")) << "the half-built output is gone";
  EXPECT_EQ(cache.Entries().size(), 1u) << "only bootstrap was committed";
}

TEST_F(ExecutorTest, ExceptionsBecomeInternalFailures) {
  StageCache cache(dir_, 0);
  Recorder rec;
  PlanResult r = RunPlan(Plan("a", "b", "throw"), cache, rec);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure.cls, FailureClass::kInternal);
  EXPECT_NE(r.failure.message.find("boom"), std::string::npos);
}

TEST_F(ExecutorTest, CancelBeforeAStage) {
  StageCache cache(dir_, 0);
  Recorder rec;
  std::atomic<bool> cancel{true};
  PlanResult r = RunPlan(Plan("a", "b", "c"), cache, rec, &cancel);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure.cls, FailureClass::kCanceled);
  EXPECT_EQ(runs_[0], 0);
}

}  // namespace
}  // namespace kiln::engine
