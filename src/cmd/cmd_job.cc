// kiln job — runs one build for a worker, in its own process (so a crash or a kill never
// takes the worker or the server down). Reads a BuildSpec as JSON, builds it like `kiln
// build`, and writes what happens as JSON lines on stdout, the worker's only input:
//   {"event":"stage","index":0,"count":5,"stage":"bootstrap","why":"cache hit"}
//   {"event":"progress","stage":"bootstrap","fraction":0.4,"message":"..."}
//   {"event":"stage_done","stage":"bootstrap","outcome":"built","ms":1234}
//   {"event":"log","line":"..."}
//   {"event":"result","ok":true,"image":"name.qcow2"}   (or "ok":false with the failure)
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cmd/cancel_signals.h"
#include "cmd/limit_flags.h"
#include "cmd/subcommands.h"
#include "cmd/without_root.h"
#include "core/build_spec_json.h"
#include "engine/reporter.h"
#include "protocol/job_lines.h"
#include "stages/build.h"

namespace kiln::cmd {
namespace {

struct JobOptions {
  std::string spec_file;
  std::string output;
  std::string cache_dir = "/var/cache/kiln";
  double cache_max_gib = 20;
  stages::BuildLimits limits;  // the worker passes its own
};

class JsonLinesReporter : public engine::Reporter {
 public:
  // Stage starts and ends are also log lines, so that the service's log reads like
  // `kiln build`'s.
  void StageStarted(int index, int count, std::string_view stage, std::string_view why) override {
    Log(engine::StageStartedLine(index, count, stage, why));
    Emit(protocol::StageLine(index, count, std::string(stage), std::string(why)));
  }
  void StageProgress(std::string_view stage, double fraction, std::string_view message) override {
    Emit(protocol::ProgressLine(std::string(stage), fraction, std::string(message)));
  }
  void StageFinished(std::string_view stage, engine::StageOutcome outcome,
                     std::chrono::milliseconds elapsed) override {
    Log(engine::StageFinishedLine(stage, outcome, elapsed));
    Emit(protocol::StageDoneLine(std::string(stage), std::string(engine::ToString(outcome)),
                                 elapsed.count()));
  }
  void Log(std::string_view line) override { Emit(protocol::LogLine(std::string(line))); }

  void Emit(const protocol::JobLine& line) {
    std::string text = protocol::EncodeJobLine(line);
    std::lock_guard<std::mutex> lock(mu_);
    std::cout << text << "\n" << std::flush;
  }

 private:
  std::mutex mu_;
};

int RunJob(const JobOptions& o) {
  JsonLinesReporter reporter;
  auto fail = [&](const std::string& code, const std::string& message) {
    reporter.Emit(protocol::FailedLine("job", "internal", code, message, ""));
    return 1;
  };
  std::ifstream in(o.spec_file);
  if (!in) return fail("job-spec-unreadable", "cannot read " + o.spec_file);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) return fail("job-spec-invalid", o.spec_file + " is not JSON");
  BuildSpec spec;
  Diagnostics diags;
  if (!BuildSpecFromJson(j, spec, {o.spec_file, 0}, diags)) {
    std::string first = diags.items().empty() ? "" : FormatDiagnostic(diags.items().front());
    return fail("job-spec-invalid", first);
  }
  stages::BuildOptions options;
  options.output_dir = o.output;
  options.cache_dir = o.cache_dir;
  options.cache_max_bytes = static_cast<uint64_t>(o.cache_max_gib * double(1ull << 30));
  options.cancel = &CancelSignals::Catch();
  options.limits = o.limits;
  stages::BuildOutcome out = stages::BuildImage(spec, options, reporter);
  if (out.ok) {
    reporter.Emit(protocol::SucceededLine(out.image.filename().string(), out.image_sha256));
    return 0;
  }
  reporter.Emit(protocol::FailedLine(out.failed_stage,
                                     std::string(engine::ToString(out.failure.cls)),
                                     out.failure.code, out.failure.message, out.failure.hint));
  return CancelSignals::canceled() ? CancelSignals::ExitCode() : 1;
}

}  // namespace

// A worker that is not root runs each build as root of a user namespace of its own.
int Job(const JobOptions& o) {
  return RunBuildWithoutRoot("kiln job", o.cache_dir, o.output, [&o] { return RunJob(o); });
}

void SetupJob(CLI::App& app, Action& action) {
  auto o = std::make_shared<JobOptions>();
  CLI::App* job = app.add_subcommand(
      "job", "Run one build for a worker and report it as JSON lines (used by workers)");
  job->group("");  // internal: not listed in --help
  job->add_option("--spec", o->spec_file, "BuildSpec JSON file")->required();
  job->add_option("--output", o->output, "output directory")->required();
  job->add_option("--cache-dir", o->cache_dir, "stage and package cache");
  job->add_option("--cache-max-gib", o->cache_max_gib, "bound of the stage cache in GiB");
  AddLimitFlags(job, o->limits);
  job->callback([o, &action] { action = [o] { return Job(*o); }; });
}

}  // namespace kiln::cmd
