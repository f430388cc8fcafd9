// kiln build — builds an image on this machine (the seed's local mode).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <mutex>

#include "cmd/cancel_signals.h"
#include "cmd/limit_flags.h"
#include "cmd/request_flags.h"
#include "cmd/subcommands.h"
#include "cmd/without_root.h"
#include "core/text.h"
#include "engine/reporter.h"
#include "spec/kickstart_loader.h"
#include "spec/spec_builder.h"
#include "stages/build.h"

namespace kiln::cmd {
namespace {

constexpr char kRootCacheDir[] = "/var/cache/kiln";

struct BuildCliOptions {
  std::string config;
  std::string ks;
  spec::RequestFields fields;
  std::string output = "kiln-out";
  std::string cache_dir;  // "" = kRootCacheDir as root, UserCacheDir() otherwise
  double cache_max_gib = 20;
  stages::BuildLimits limits;  // none but the process count: the user builds their own file
  bool verbose = false;
};

std::string Clock(std::chrono::steady_clock::duration d) {
  long s = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
  char buf[48];
  std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
  return buf;
}

// On a terminal: one live line with a bar, the stage and the elapsed time; each finished
// stage leaves a line. Piped: plain timestamped lines.
class ConsoleReporter : public engine::Reporter {
 public:
  ConsoleReporter(bool tty, bool verbose) : tty_(tty), verbose_(verbose) {}

  void StageStarted(int index, int count, std::string_view stage, std::string_view why) override {
    std::lock_guard<std::mutex> lock(mu_);
    index_ = index;
    count_ = count;
    stage_ = std::string(stage);
    fraction_ = 0;
    message_ = std::string(why);
    Line(engine::StageStartedLine(index, count, stage, why));
  }
  void StageProgress(std::string_view, double fraction, std::string_view message) override {
    std::lock_guard<std::mutex> lock(mu_);
    fraction_ = fraction;
    message_ = std::string(message);
    if (tty_) Draw();
  }
  void StageFinished(std::string_view stage, engine::StageOutcome outcome,
                     std::chrono::milliseconds elapsed) override {
    std::lock_guard<std::mutex> lock(mu_);
    Line(engine::StageFinishedLine(stage, outcome, elapsed));
  }
  void Log(std::string_view line) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (verbose_ || StartsWith(line, "warning:") || StartsWith(line, "error:")) {
      Line(std::string(line));
    } else if (tty_) {
      Draw();
    }
  }

 private:
  void Line(const std::string& text) {
    if (tty_) {
      std::cerr << "\r\033[K" << Clock(std::chrono::steady_clock::now() - start_) << " " << text
                << "\n";
      Draw();
    } else {
      std::cerr << IsoTime(std::time(nullptr)) << " " << text << "\n";
    }
  }
  void Draw() {
    if (count_ == 0) return;
    double overall = (index_ + fraction_) / count_;
    int filled = static_cast<int>(overall * 30);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(30, '-');
    std::string msg = message_.substr(0, 60);
    std::cerr << "\r\033[K[" << bar << "] " << static_cast<int>(overall * 100) << "% "
              << Clock(std::chrono::steady_clock::now() - start_) << " " << stage_ << ": " << msg
              << std::flush;
  }

  std::mutex mu_;
  bool tty_, verbose_;
  int index_ = 0, count_ = 0;
  double fraction_ = 0;
  std::string stage_, message_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Where an ordinary user's builds keep their cache: $XDG_CACHE_HOME/kiln or ~/.cache/kiln.
std::string UserCacheDir() {
  const char* xdg = getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && *xdg == '/') return std::string(xdg) + "/kiln";
  const char* home = getenv("HOME");
  return std::string(home != nullptr && *home == '/' ? home : "/nonexistent") + "/.cache/kiln";
}

int BuildHere(const BuildCliOptions& o);

int Build(BuildCliOptions o) {
  if (o.cache_dir.empty())
    o.cache_dir = sys::NeedsBuildNamespace() ? UserCacheDir() : kRootCacheDir;
  return RunBuildWithoutRoot("kiln build", o.cache_dir, o.output, [&o] { return BuildHere(o); });
}

int BuildHere(const BuildCliOptions& o) {
  const spec::RequestFields& fields = o.fields;
  spec::FileResolver resolver;
  Diagnostics diags;
  std::optional<BuildSpec> spec;
  if (!o.config.empty()) {
    spec = spec::SpecFromImagebuildConf(o.config, fields, resolver, diags);
    if (spec && !o.ks.empty()) {
      std::cerr << "kiln build: give either CONFIG or --ks, not both\n";
      return 1;
    }
  } else if (!o.ks.empty()) {
    spec = spec::SpecFromKickstart(o.ks, fields, resolver, diags);
  } else {
    spec = spec::SpecFromKickstartText("", "defaults", fields, resolver, diags);
  }
  for (const Diagnostic& d : diags.items()) std::cerr << FormatDiagnostic(d) << "\n";
  if (!spec) return 1;

  stages::BuildOptions options;
  options.output_dir = o.output;
  options.cache_dir = o.cache_dir;
  options.cache_max_bytes = static_cast<uint64_t>(o.cache_max_gib * double(1ull << 30));
  options.cancel = &CancelSignals::Catch();
  options.limits = o.limits;
  ConsoleReporter reporter(isatty(STDERR_FILENO) != 0, o.verbose);
  stages::BuildOutcome out = stages::BuildImage(*spec, options, reporter);
  if (!out.ok) {
    std::cerr << "kiln build: failed in stage " << out.failed_stage << " ["
              << engine::ToString(out.failure.cls) << "/" << out.failure.code
              << "]: " << out.failure.message;
    if (!out.failure.hint.empty()) std::cerr << " (" << out.failure.hint << ")";
    std::cerr << "; log: " << (std::filesystem::path(o.output) / "build.log").string() << "\n";
    return CancelSignals::canceled() ? CancelSignals::ExitCode() : 1;
  }
  std::cout << out.image.string() << "\n";
  return 0;
}

}  // namespace

void SetupBuild(CLI::App& app, Action& action) {
  auto o = std::make_shared<BuildCliOptions>();
  CLI::App* build = app.add_subcommand(
      "build",
      "Build an image on this machine from an imagebuild.conf or a kickstart (as root, or as "
      "a user with a subordinate id range: see docs/security.md)");
  build->add_option("CONFIG", o->config, "the seed's imagebuild.conf");
  build->add_option("--ks", o->ks, "kickstart file or URL");
  AddRequestFlags(build, o->fields);
  build->add_option("--output", o->output, "output directory (default kiln-out)");
  build->add_option("--cache-dir", o->cache_dir,
                    "stage and package cache (default /var/cache/kiln as root, "
                    "~/.cache/kiln otherwise)");
  build
      ->add_option("--cache-max-gib", o->cache_max_gib,
                   "bound of the stage cache in GiB; least recently used stages go first "
                   "(default 20)")
      ->check(CLI::PositiveNumber);
  AddLimitFlags(build, o->limits);
  build->add_flag("-v,--verbose", o->verbose, "show every log line");
  build->callback([o, &action] { action = [o] { return Build(*o); }; });
}

}  // namespace kiln::cmd
