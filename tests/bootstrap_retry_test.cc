// The bootstrap retries a repository it cannot reach, then fails with a network failure that
// names it. Runs mmdebstrap for real against a closed local port (root; label slow).
#include <gtest/gtest.h>
#include <unistd.h>

#include "engine/executor.h"
#include "stages/bootstrap_deb.h"

namespace kiln::stages {
namespace {

namespace fs = std::filesystem;

struct LogRecorder : engine::Reporter {
  std::vector<std::string> lines;
  void StageStarted(int, int, std::string_view, std::string_view) override {}
  void StageProgress(std::string_view, double, std::string_view) override {}
  void StageFinished(std::string_view, engine::StageOutcome, std::chrono::milliseconds) override {}
  void Log(std::string_view line) override { lines.emplace_back(line); }
  bool Has(const std::string& needle) const {
    for (const std::string& l : lines) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }
};

TEST(BootstrapRetryTest, UnreachableRepositoryIsRetriedThenReported) {
  if (geteuid() != 0) GTEST_SKIP() << "mmdebstrap in root mode needs root";
  if (system("command -v mmdebstrap >/dev/null") != 0) GTEST_SKIP() << "mmdebstrap missing";
  fs::path dir = fs::temp_directory_path() / ("kiln-retry-" + std::to_string(getpid()));
  fs::remove_all(dir);
  DebianBootstrapOptions o;
  o.suite = "bookworm";
  o.arch = "amd64";
  o.mirror = "http://127.0.0.1:9/debian";  // the discard port: nothing listens there
  o.mirror_state = "unreachable";
  o.retry_pause_s = 1;
  std::vector<std::unique_ptr<engine::Stage>> plan;
  plan.push_back(std::make_unique<DebianBootstrapStage>(o));
  engine::StageCache cache(dir / "cache", 0);
  LogRecorder log;
  engine::PlanResult r = engine::RunPlan(plan, cache, log);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure.cls, engine::FailureClass::kNetwork) << r.failure.message;
  EXPECT_EQ(r.failure.code, "repository-unreachable");
  EXPECT_TRUE(log.Has("retrying in 1 s (attempt 2 of 3)"));
  EXPECT_TRUE(log.Has("retrying in 2 s (attempt 3 of 3)"));
  EXPECT_TRUE(fs::is_empty(dir / "cache" / "work")) << "nothing half-built is left";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kiln::stages
