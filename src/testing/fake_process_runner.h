// A process runner that plays a scripted program instead of starting one: the lines it writes,
// the files it leaves in its `--output` directory, and how it ends — or it runs until it is
// canceled. What the worker would run (`kiln job ...`) is recorded.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/mutex.h"
#include "sys/process_runner.h"

namespace kiln::testing {

class FakeProcessRunner : public sys::ProcessRunner {
 public:
  struct Script {
    std::vector<std::string> lines;            // written to on_line, in order
    std::map<std::string, std::string> files;  // name → content, left in --output
    sys::RunResult result = Exited(0);         // how it ends
    bool runs_until_canceled = false;          // then it ends as kCanceled
  };
  static sys::RunResult Exited(int code) {
    sys::RunResult r;
    r.kind = sys::ExitKind::kExited;
    r.code = code;
    return r;
  }

  void SetScript(Script script) {
    MutexLock lock(mu_);
    script_ = std::move(script);
  }
  std::vector<std::vector<std::string>> Started() {
    MutexLock lock(mu_);
    return started_;
  }

  sys::RunResult Run(const sys::RunOptions& options) override {
    Script script;
    {
      MutexLock lock(mu_);
      started_.push_back(options.argv);
      script = script_;
    }
    for (const std::string& line : script.lines) {
      if (options.on_line) options.on_line(line);
    }
    std::filesystem::path out = OutputDir(options.argv);
    for (const auto& [name, content] : script.files) std::ofstream(out / name) << content;
    if (script.runs_until_canceled) {
      // A test that forgets to cancel fails in 30 s instead of hanging.
      for (int i = 0; i < 30'000 && !(options.cancel != nullptr && *options.cancel); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      script.result.kind = sys::ExitKind::kCanceled;
    }
    return script.result;
  }

 private:
  static std::filesystem::path OutputDir(const std::vector<std::string>& argv) {
    for (size_t i = 0; i + 1 < argv.size(); ++i) {
      if (argv[i] == "--output") return argv[i + 1];
    }
    return std::filesystem::temp_directory_path();
  }

  Mutex mu_;
  Script script_ KILN_GUARDED_BY(mu_);
  std::vector<std::vector<std::string>> started_ KILN_GUARDED_BY(mu_);
};

}  // namespace kiln::testing
