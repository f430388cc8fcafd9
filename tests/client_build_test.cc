// The client with a real build (root, network; slow): `kiln submit --follow` in a
// pseudo-terminal shows stage and overall progress bars that advance and finish, then
// `kiln download` fetches every artifact, verified against the server's SHA-256, resumes a
// broken-off file and refuses a corrupt one. The stage cache is the services'
// (kiln-build-tests/service-cache), so the package set bootstraps once per machine.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "service_harness.h"
#include "shell.h"

namespace kiln::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kWork = fs::temp_directory_path() / "kiln-build-tests";
const char* kSmall = kiln::testing::kSmallKickstart;

struct PtyRun {
  int exit_code = -1;
  std::string screen;  // everything written to the terminal
};

// Runs `argv` on a fresh pseudo-terminal (120x40) with `env` added, until it exits.
PtyRun RunInPty(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                int timeout_s) {
  PtyRun run;
  winsize size{};
  size.ws_col = 120;
  size.ws_row = 40;
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, &size);
  if (pid == 0) {
    for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
    unsetenv("NO_COLOR");
    setenv("TERM", "xterm-256color", 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO: the child closed the terminal
    run.screen.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) != pid) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  close(master);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string StripColors(const std::string& text) {
  return std::regex_replace(text, std::regex("\033\\[[0-9;]*m"), "");
}

class ClientBuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "local workers build images: run as root";
    if (Sh("command -v mmdebstrap").exit_code != 0) GTEST_SKIP() << "mmdebstrap is missing";
    curl_global_init(CURL_GLOBAL_ALL);
    dir_ = kWork / ("client-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    service_ = std::make_unique<Service>(KILN_BINARY, dir_, 1, kiln::testing::kServiceCache);
    ASSERT_TRUE(service_->Start()) << service_->Log();
  }
  void TearDown() override {
    if (service_) service_->Stop();
    service_.reset();
    fs::remove_all(dir_);
  }
  std::vector<std::string> Env() const {
    return {"KILN_SERVER=" + service_->Url(""), "KILN_TOKEN=" + service_->AdminToken(),
            "XDG_CONFIG_HOME=" + (dir_ / "cli").string()};
  }
  RunResult Kiln(const std::string& args) const {
    std::string env;
    for (const std::string& e : Env()) env += e + " ";
    return Popen("env " + env + "timeout 600 " + KILN_BINARY + " " + args + " 2>&1");
  }

  fs::path dir_;
  std::unique_ptr<Service> service_;
};

TEST_F(ClientBuildTest, FollowInATerminalThenDownloadVerifiedAndResumed) {
  fs::path ks = dir_ / "small.ks";
  std::ofstream(ks) << kSmall;
  PtyRun run = RunInPty({KILN_BINARY, "submit", "--ks", ks.string(), "--type", "tar", "--follow"},
                        Env(), 900);
  std::string screen = StripColors(run.screen);
  ASSERT_EQ(run.exit_code, 0) << screen.substr(screen.size() > 4000 ? screen.size() - 4000 : 0);
  EXPECT_NE(run.screen.find("\033[32m"), std::string::npos) << "colour on a terminal";
  EXPECT_NE(run.screen.find("\033[J"), std::string::npos) << "the live lines are redrawn";

  // The overall bar advances and finishes; stage bars are shown.
  std::regex total("total +\\[([#-]+)\\] (\\d+)%");
  std::vector<int> seen;
  for (auto it = std::sregex_iterator(screen.begin(), screen.end(), total);
       it != std::sregex_iterator(); ++it) {
    int percent = std::stoi((*it)[2]);
    size_t filled = (*it)[1].str().find('-');
    if (filled == std::string::npos) filled = (*it)[1].length();
    EXPECT_EQ(static_cast<int>(filled), percent * static_cast<int>((*it)[1].length()) / 100)
        << "bar and percentage agree: " << (*it)[0];
    if (seen.empty() || seen.back() != percent) seen.push_back(percent);
  }
  ASSERT_GE(seen.size(), 3u) << screen.substr(0, 4000);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end())) << "progress never goes back";
  EXPECT_EQ(seen.back(), 100);
  EXPECT_TRUE(std::regex_search(screen, std::regex("stage 1/\\d+ \\[[#-]+\\] \\d+%")))
      << screen.substr(0, 4000);
  EXPECT_NE(screen.find("  | "), std::string::npos) << "a log tail";
  std::smatch id;
  ASSERT_TRUE(std::regex_search(screen, id, std::regex("build (\\d+) succeeded"))) << screen;

  // Download: every artifact, checked.
  fs::path out = dir_ / "out";
  RunResult dl = Kiln("download " + id[1].str() + " -o " + out.string() + " --json");
  ASSERT_EQ(dl.exit_code, 0) << dl.out;
  json files = json::parse(dl.out.substr(dl.out.find('{')), nullptr, false);
  ASSERT_TRUE(files.is_object()) << dl.out;
  ASSERT_GE(files["files"].size(), 3u) << dl.out;
  json image;
  for (const json& f : files["files"]) {
    RunResult sum = Popen("sha256sum " + f["path"].get<std::string>());
    EXPECT_EQ(sum.out.substr(0, 64), f["sha256"]) << f.dump();
    if (f["name"].get<std::string>().find(".tar.zst") != std::string::npos) image = f;
  }
  ASSERT_FALSE(image.is_null()) << files.dump(2);

  // A download broken off half-way resumes from where it stopped.
  fs::path path = image["path"].get<std::string>();
  uint64_t size = image["size"];
  fs::path part = path.string() + ".part";
  fs::rename(path, part);
  fs::resize_file(part, size / 2);
  RunResult again = Kiln("download " + id[1].str() + " -o " + out.string() + " --json");
  ASSERT_EQ(again.exit_code, 0) << again.out;
  json resumed = json::parse(again.out.substr(again.out.find('{')));
  for (const json& f : resumed["files"]) {
    if (f["name"] == image["name"]) {
      EXPECT_EQ(f["resumed_from"], size / 2);
      EXPECT_FALSE(f["already_there"].get<bool>());
    } else {
      EXPECT_TRUE(f["already_there"].get<bool>()) << f.dump();
    }
  }
  EXPECT_EQ(Popen("sha256sum " + path.string()).out.substr(0, 64), image["sha256"]);
  EXPECT_FALSE(fs::exists(part));

  // A corrupt partial file fails the check, is removed, and the next run gets it right.
  fs::rename(path, part);
  fs::resize_file(part, size / 2);
  {
    std::fstream f(part, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.write("corrupt!", 8);
  }
  RunResult bad = Kiln("download " + id[1].str() + " -o " + out.string());
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.out.find("SHA-256 mismatch"), std::string::npos) << bad.out;
  EXPECT_FALSE(fs::exists(part));
  RunResult fixed = Kiln("download " + id[1].str() + " -o " + out.string());
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out;
  EXPECT_EQ(Popen("sha256sum " + path.string()).out.substr(0, 64), image["sha256"]);

  // status shows the artifacts with their SHA-256.
  RunResult status = Kiln("status " + id[1].str());
  EXPECT_NE(status.out.find(image["sha256"].get<std::string>()), std::string::npos) << status.out;
}

}  // namespace
}  // namespace kiln::testing
