// The bootstrap retries a repository it cannot reach, then fails with a network failure that
// names it. Runs mmdebstrap for real against a closed local port (root; label slow).
#include <gtest/gtest.h>
#include <unistd.h>

#include "engine/executor.h"
#include "stages/bootstrap_deb.h"
#include "testing/recording_reporter.h"

namespace kiln::stages {
namespace {

namespace fs = std::filesystem;

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
  testing::RecordingReporter log;
  engine::PlanResult r = engine::RunPlan(plan, cache, log);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure.cls, engine::FailureClass::kNetwork) << r.failure.message;
  EXPECT_EQ(r.failure.code, "repository-unreachable");
  EXPECT_TRUE(log.Logged("retrying in 1 s (attempt 2 of 3)"));
  EXPECT_TRUE(log.Logged("retrying in 2 s (attempt 3 of 3)"));
  EXPECT_TRUE(fs::is_empty(dir / "cache" / "work")) << "nothing half-built is left";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kiln::stages
