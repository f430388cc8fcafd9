// End-to-end tests of the kiln binary: exit codes, output files, and URL includes served by
// real HTTP and FTP servers (python3 http.server, pyftpdlib) on free loopback ports.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "server_process.h"
#include "shell.h"

namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs kiln with `args` (a shell-quoted string), with a time limit so a hang fails the test.
RunResult Kiln(const std::string& args) {
  fs::path err_file = fs::temp_directory_path() / ("kiln-cli-err-" + std::to_string(getpid()));
  std::string cmd =
      "timeout 60 " + std::string(KILN_BINARY) + " " + args + " 2>" + err_file.string();
  kiln::testing::RunResult run = kiln::testing::Popen(cmd);
  RunResult r{run.exit_code, run.out, ""};
  std::ifstream in(err_file);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  fs::remove(err_file);
  return r;
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("kiln-cli-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  fs::path Write(const std::string& name, const std::string& text) const {
    fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

const std::string kExamples = std::string(KILN_SOURCE_DIR) + "/examples/";

TEST(CliTest, VersionAndHelp) {
  RunResult v = Kiln("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("kiln " KILN_VERSION_FOR_TEST), std::string::npos) << v.out;
  RunResult h = Kiln("--help");
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("ks"), std::string::npos);
  EXPECT_NE(h.out.find("spec"), std::string::npos);
  RunResult none = Kiln("");
  EXPECT_NE(none.exit_code, 0) << "a subcommand is required";
  RunResult bad = Kiln("frobnicate");
  EXPECT_NE(bad.exit_code, 0);
}

// A worker whose admin gives scripts no network refuses a build that asks for outbound, as an
// input error naming the fix, before it downloads or builds anything.
TEST(CliTest, AJobAskingForMoreNetworkThanItsHostGivesIsRefused) {
  TempDir dir;
  fs::path spec = dir.Write(
      "spec.json", R"({"type": "tar", "kickstart": "lang C\n", "script_network": "outbound"})");
  RunResult r = Kiln("job --spec " + spec.string() + " --output " + (dir.path() / "out").string() +
                     " --cache-dir " + (dir.path() / "cache").string() + " --script-network none");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find(R"("code":"script-network-forbidden")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("class":"input")"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("bootstrap"), std::string::npos) << "nothing was built\n" << r.out;
}

TEST(CliTest, ValidateExamples) {
  for (const char* f : {"debian-minimal.ks", "debian-live.ks"}) {
    RunResult r = Kiln("ks validate " + kExamples + f);
    EXPECT_EQ(r.exit_code, 0) << f << "\n" << r.err;
    EXPECT_EQ(r.err, "") << f;
  }
}

TEST(CliTest, ValidateReportsEveryErrorWithFileAndLine) {
  TempDir dir;
  fs::path ks = dir.Write("bad.ks",
                          "lang C\nnetwrok --bootproto=dhcp\npart / --size=big\n"
                          "%post\necho unterminated\n");
  RunResult r = Kiln("ks validate " + ks.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(ks.string() + ":2: Unknown command: netwrok (did you mean network?)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(ks.string() + ":3: part: option --size: invalid integer value 'big'"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(ks.string() + ":4: Section %post does not end with %end."),
            std::string::npos)
      << r.err;
}

TEST(CliTest, StrictTurnsWarningsIntoFailure) {
  TempDir dir;
  fs::path ks = dir.Write("warn.ks", "timezone Etc/UTC --isUtc\n");
  RunResult normal = Kiln("ks validate " + ks.string());
  EXPECT_EQ(normal.exit_code, 0);
  EXPECT_NE(normal.err.find("warning:"), std::string::npos) << normal.err;
  RunResult strict = Kiln("ks validate --strict " + ks.string());
  EXPECT_EQ(strict.exit_code, 1);
}

TEST(CliTest, ValidateNeverHangsOrCrashes) {
  TempDir dir;
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919) % 256);
  fs::path bin = dir.Write("garbage.ks", garbage);
  for (const std::string& target : {bin.string(), std::string("/dev/zero"), dir.path().string(),
                                    (dir.path() / "absent.ks").string()}) {
    RunResult r = Kiln("ks validate " + target);
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << target << " exit " << r.exit_code;
  }
  RunResult dev = Kiln("ks validate /dev/zero");
  EXPECT_NE(dev.err.find("not a regular file"), std::string::npos) << dev.err;
}

TEST(CliTest, FlattenToFile) {
  TempDir dir;
  fs::path out = dir.path() / "flat.ks";
  RunResult r = Kiln("ks flatten " + kExamples + "debian-live.ks -o " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string flat = ss.str();
  EXPECT_EQ(flat.find("%include"), std::string::npos) << flat;
  EXPECT_NE(flat.find("timezone Europe/Paris"), std::string::npos) << flat;
  EXPECT_NE(flat.find("network --bootproto=dhcp --hostname=kiln-live"), std::string::npos);
  EXPECT_NE(flat.find("%post --nochroot"), std::string::npos);
  // The flattened file validates on its own.
  RunResult again = Kiln("ks validate " + out.string());
  EXPECT_EQ(again.exit_code, 0) << again.err;
  // A failing flatten leaves no output file behind.
  fs::path bad = dir.Write("bad.ks", "bogus\n");
  fs::path out2 = dir.path() / "none.ks";
  EXPECT_EQ(Kiln("ks flatten " + bad.string() + " -o " + out2.string()).exit_code, 1);
  EXPECT_FALSE(fs::exists(out2));
}

TEST(CliTest, SpecShowFromConfKickstartAndJson) {
  RunResult conf = Kiln("spec show " + kExamples + "qcow2_imagebuild.conf");
  ASSERT_EQ(conf.exit_code, 0) << conf.err;
  auto j = nlohmann::json::parse(conf.out);
  EXPECT_EQ(j["type"], "qcow2");
  EXPECT_EQ(j["arch"], "i686");
  EXPECT_EQ(j["extra_packages"], nlohmann::json({"jq", "htop=3.2.2-2"}));

  RunResult ks =
      Kiln("spec show " + kExamples + "debian-minimal.ks --type raw --arch amd64 --release trixie");
  ASSERT_EQ(ks.exit_code, 0) << ks.err;
  j = nlohmann::json::parse(ks.out);
  EXPECT_EQ(j["arch"], "x86_64");
  EXPECT_EQ(j["release"], "trixie");

  RunResult json = Kiln("spec show " + kExamples + "request.json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["label"], "KilnLive");

  RunResult dvd = Kiln("spec show " + kExamples + "dvd_imagebuild.conf");
  ASSERT_EQ(dvd.exit_code, 0) << dvd.err;
  EXPECT_NE(dvd.err.find("dvd.destdir is a 2012 key and is ignored"), std::string::npos) << dvd.err;

  RunResult bad = Kiln("spec show " + kExamples + "debian-minimal.ks --arch sparc --release sid");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("unknown architecture 'sparc'"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("unknown release 'sid'"), std::string::npos) << bad.err;
}

bool HavePython(const char* module) {
  std::string cmd = std::string("/usr/bin/python3 -c 'import ") + module + "' >/dev/null 2>&1";
  return system(cmd.c_str()) == 0;
}

TEST(CliTest, IncludesOverHttp) {
  if (!HavePython("http.server")) GTEST_SKIP() << "python3 is not installed";
  TempDir dir;
  dir.Write("top.ks", "lang C\n%include parts/disk.ks\n%include http-missing.ks\n");
  dir.Write("parts/disk.ks", "part / --size=1024\n%ksappend ../extra.ks\n");
  dir.Write("ok.ks", "lang C\n%include parts/disk.ks\n%ksappend extra.ks\n");
  dir.Write("extra.ks", "keyboard us\n");
  kiln::testing::ServerProcess server({"/usr/bin/python3", "-u", "-m", "http.server", "0", "--bind",
                                       "127.0.0.1", "--directory", dir.path().string()},
                                      " port ");
  ASSERT_GT(server.port(), 0) << "http.server did not start";
  std::string base = "http://127.0.0.1:" + std::to_string(server.port()) + "/";

  RunResult ok = Kiln("ks flatten " + base + "ok.ks");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("part / --size=1024"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("keyboard us"), std::string::npos) << "%ksappend over HTTP" << ok.out;

  RunResult missing = Kiln("ks validate " + base + "top.ks");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find(base + "top.ks:3:"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("404"), std::string::npos) << missing.err;
}

TEST(CliTest, IncludesOverFtp) {
  // scripts/install-deps.sh test installs python3-pyftpdlib; without it, say so and skip.
  if (!HavePython("pyftpdlib")) GTEST_SKIP() << "python3-pyftpdlib is not installed";
  TempDir dir;
  dir.Write("top.ks", "lang C\n%include sub/inc.ks\n");
  dir.Write("sub/inc.ks", "keyboard us\n");
  kiln::testing::ServerProcess server({"/usr/bin/python3", "-u", "-m", "pyftpdlib", "-i",
                                       "127.0.0.1", "-p", "0", "-d", dir.path().string()},
                                      "starting FTP server on 127.0.0.1:");
  ASSERT_GT(server.port(), 0) << "pyftpdlib did not start";
  std::string base = "ftp://127.0.0.1:" + std::to_string(server.port()) + "/";
  RunResult ok = Kiln("ks flatten " + base + "top.ks");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("keyboard us"), std::string::npos) << ok.out;
  RunResult missing = Kiln("ks validate " + base + "absent.ks");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("absent.ks"), std::string::npos) << missing.err;
}

}  // namespace
