// The command-line client against a real `kiln serve`: submitting the example
// imagebuild.conf files (with their includes) and kickstarts, following builds to their end
// with the documented exit codes, list filters, cancel and retry, --json everywhere, login,
// errors a person can act on, and bash completion. Builds here are dry runs (the worker reads
// the mirror's release file and plans; nothing is built): client_build_test.cc builds and
// downloads a real image and watches it in a pseudo-terminal.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>

#include "server_process.h"
#include "service_harness.h"

namespace kiln::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kWork =
    fs::temp_directory_path() / ("kiln-client-tests-" + std::to_string(getpid()));
const std::string kExamples = std::string(KILN_SOURCE_DIR) + "/examples/";
const std::string kShared = std::string(KILN_SOURCE_DIR) + "/../shared/examples/";

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

// One server for the whole suite (starting one costs a second; each test makes its own
// builds and looks only at those).
class ClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    curl_global_init(CURL_GLOBAL_ALL);
    fs::remove_all(kWork);
    service_ = new Service(KILN_BINARY, kWork / "server", 1);
    // Its admin lets it fetch kickstarts from this host's loopback (the test's http.server),
    // and stage where the example confs ask (their builds here are dry runs: nothing is copied).
    fs::create_directories(kWork);
    std::ofstream(kWork / "kiln.conf") << "[staging]\nfile_roots = /srv/kiln/staging\n";
    if (!service_->Start(
            {"--fetch-allow", "127.0.0.1/32", "--config", (kWork / "kiln.conf").string()})) {
      ADD_FAILURE() << "kiln serve did not start: " << service_->Log();
    }
  }
  static void TearDownTestSuite() {
    delete service_;
    service_ = nullptr;
    fs::remove_all(kWork);
  }

  // Runs `kiln ARGS` with the server in KILN_SERVER/KILN_TOKEN (unless `env` says otherwise)
  // and a private config directory.
  // `interrupt`: Ctrl-C (SIGINT) it after `timeout_s` instead of killing it.
  static CliResult Kiln(const std::string& args, const std::string& env = "", int timeout_s = 120,
                        bool interrupt = false) {
    static std::atomic<int> n{0};  // concurrent calls (a follower and its canceller)
    fs::path err = kWork / ("err-" + std::to_string(++n));
    std::string vars =
        env.empty() ? "KILN_SERVER=" + service_->Url("") + " KILN_TOKEN=" + service_->AdminToken()
                    : env;
    std::string cmd = "cd " + std::string(KILN_SOURCE_DIR) +
                      " && env XDG_CONFIG_HOME=" + (kWork / "cli-config").string() + " " + vars +
                      " timeout " + (interrupt ? "--preserve-status -s INT " : "") +
                      std::to_string(timeout_s) + " " + KILN_BINARY + " " + args + " 2>" +
                      err.string();
    RunResult r = Popen(cmd);
    return {r.exit_code, r.out, ReadFile(err)};
  }
  static json Json(const CliResult& r) {
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    return j;
  }
  static fs::path Write(const std::string& name, const std::string& text) {
    fs::path p = kWork / "files" / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }

  static inline Service* service_ = nullptr;
};

TEST_F(ClientTest, TheExampleConfsSubmitOrAreRefusedClearly) {
  for (const std::string& dir : {kExamples, kShared}) {
    if (!fs::exists(dir)) {
      std::cout << "skipping " << dir << ": not present\n";
      continue;
    }
    int seen = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
      std::string name = e.path().filename().string();
      if (name.size() < 16 || name.substr(name.size() - 16) != "_imagebuild.conf") continue;
      ++seen;
      CliResult r = Kiln("submit " + e.path().string() + " --dry-run --json");
      std::smatch declared;
      std::string text = ReadFile(e.path());
      ASSERT_TRUE(std::regex_search(text, declared, std::regex("\ntype *= *(\\w+)"))) << name;
      std::string type = declared[1];
      if (type == "boot" || type == "dvd") {
        EXPECT_EQ(r.exit_code, 1) << name << r.out << r.err;
        EXPECT_NE(r.err.find("kiln cannot build " + type + " images yet"), std::string::npos)
            << r.err;
        EXPECT_NE(r.err.find("hint:"), std::string::npos) << r.err;
        continue;
      }
      ASSERT_EQ(r.exit_code, 0) << name << "\n" << r.err;
      json b = Json(r);
      EXPECT_GT(b.value("id", 0), 0);
      EXPECT_EQ(b["type"], type);
      EXPECT_EQ(b["spec"]["dry_run"], true);
      EXPECT_FALSE(b["spec"]["kickstart"].get<std::string>().empty());
    }
    EXPECT_EQ(seen, 4) << dir;
  }
  // The live example's kickstart includes common/base.ks: the client sent it along, and the
  // server spliced it in (its packages and its %post).
  CliResult live = Kiln("submit " + kExamples + "live_imagebuild.conf --dry-run --json");
  ASSERT_EQ(live.exit_code, 0) << live.err;
  ASSERT_NE(ReadFile(kExamples + "common/base.ks").find("timezone Europe/Paris"),
            std::string::npos);
  ASSERT_EQ(ReadFile(kExamples + "debian-live.ks").find("timezone"), std::string::npos);
  std::string ks = Json(live)["spec"]["kickstart"];
  EXPECT_NE(ks.find("timezone Europe/Paris"), std::string::npos) << ks;
}

TEST_F(ClientTest, ValidationErrorsNameTheUsersFileAndLine) {
  Write("bad/main.ks", "lang C\n%include parts/extra.ks\n");
  Write("bad/parts/extra.ks", "timezone UTC\nfrobnicate --now\n");
  CliResult r = Kiln("submit --ks " + (kWork / "files/bad/main.ks").string() + " --type tar");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("bad/parts/extra.ks:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
  // A file that is not there is the user's mistake, said before anything is sent.
  CliResult missing = Kiln("submit --ks /nonexistent/x.ks --type tar");
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.err.find("cannot read '/nonexistent/x.ks'"), std::string::npos) << missing.err;
  // Two inputs at once is a usage error.
  CliResult both = Kiln("submit " + kExamples + "live_imagebuild.conf --ks x.ks");
  EXPECT_EQ(both.exit_code, 3) << both.err;
}

TEST_F(ClientTest, AKickstartUrlIsFetchedByTheServer) {
  fs::path dir = kWork / "served";
  fs::create_directories(dir / "parts");
  std::ofstream(dir / "remote.ks") << "lang C\n%include parts/tz.ks\n";
  std::ofstream(dir / "parts/tz.ks") << "timezone Asia/Tokyo\n";
  ServerProcess http({"/usr/bin/python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                      "--directory", dir.string()},
                     " port ");
  ASSERT_GT(http.port(), 0) << "http.server did not start";
  std::string url = "http://127.0.0.1:" + std::to_string(http.port()) + "/remote.ks";
  CliResult r = Kiln("submit --ks " + url + " --type tar --dry-run --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The server fetched it and its relative include.
  EXPECT_NE(Json(r)["spec"]["kickstart"].get<std::string>().find("timezone Asia/Tokyo"),
            std::string::npos)
      << r.out;
  CliResult missing = Kiln("submit --ks " + url + ".gone --type tar --dry-run");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("404"), std::string::npos) << missing.err;
}

TEST_F(ClientTest, FollowEndsWithTheBuildsOutcome) {
  // Piped: plain lines, the plan, and exit 0.
  CliResult ok =
      Kiln("submit --ks " + kExamples + "debian-minimal.ks --type raw --dry-run --follow");
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  std::smatch id;
  ASSERT_TRUE(std::regex_search(ok.out, id, std::regex("build (\\d+) queued"))) << ok.out;
  EXPECT_NE(ok.out.find("/api/v1/builds/" + id[1].str()), std::string::npos) << ok.out;
  EXPECT_NE(ok.err.find("kiln: state running"), std::string::npos) << ok.err;
  EXPECT_NE(ok.err.find("plan: [1/4] bootstrap"), std::string::npos) << ok.err;
  EXPECT_EQ(ok.err.find("\033["), std::string::npos) << "no escapes on a pipe";
  EXPECT_NE(ok.out.find("build " + id[1].str() + " succeeded"), std::string::npos) << ok.out;

  // A build that fails (its mirror does not answer): exit 1 with the reason.
  CliResult bad = Kiln("submit --type tar --mirror http://127.0.0.1:9/debian --dry-run --wait");
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("failed"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("127.0.0.1:9"), std::string::npos) << bad.out;
  // --wait prints nothing while it waits.
  EXPECT_EQ(bad.err.find("kiln: state"), std::string::npos) << bad.err;

  // --json with --follow: the finished build.
  CliResult js = Kiln("submit --type tar --dry-run --follow --json");
  EXPECT_EQ(js.exit_code, 0) << js.err;
  EXPECT_EQ(Json(js)["state"], "succeeded");
}

TEST_F(ClientTest, CancelAWaitingBuildExitsTwo) {
  // A server with no workers: the build waits in the queue while the client follows it.
  Service idle(KILN_BINARY, kWork / "idle", 0);
  ASSERT_TRUE(idle.Start()) << idle.Log();
  std::string env = "KILN_SERVER=" + idle.Url("") + " KILN_TOKEN=" + idle.AdminToken();
  auto waiting = std::async(std::launch::async,
                            [&] { return Kiln("submit --type tar --dry-run --follow", env); });
  // The build exists once the submit answered; cancel it with the CLI.
  std::string id;
  for (int i = 0; i < 100 && id.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CliResult list = Kiln("list --json", env);
    json page = json::parse(list.out, nullptr, false);
    if (page.is_object() && !page["builds"].empty())
      id = std::to_string(page["builds"][0]["id"].get<int>());
  }
  ASSERT_FALSE(id.empty());
  CliResult status = Kiln("status " + id, env);
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_NE(status.out.find("queued"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("waiting for no online worker"), std::string::npos) << status.out;
  CliResult cancel = Kiln("cancel " + id, env);
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_NE(cancel.out.find("canceled"), std::string::npos) << cancel.out;
  CliResult followed = waiting.get();
  EXPECT_EQ(followed.exit_code, 2) << followed.out << followed.err;
  EXPECT_NE(followed.out.find("canceled"), std::string::npos) << followed.out;
  // Ctrl-C stops the follower, not the build, and says how to get back to it.
  CliResult retry_q = Kiln("retry " + id, env);
  ASSERT_EQ(retry_q.exit_code, 0) << retry_q.err;
  CliResult interrupted = Kiln("submit --type tar --dry-run --follow", env, 2, /*interrupt=*/true);
  EXPECT_EQ(interrupted.exit_code, 130) << interrupted.err;
  EXPECT_NE(interrupted.err.find("keeps running; follow it again with `kiln logs -f " + id),
            std::string::npos)
      << interrupted.err;
  EXPECT_EQ(Json(Kiln("status " + id + " --json", env))["state"], "queued");
  ASSERT_EQ(Kiln("cancel " + id, env).exit_code, 0);
  // Cancelling again is refused (it has ended): exit 1 with the server's reason.
  CliResult again = Kiln("cancel " + id, env);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_FALSE(again.err.empty());
  // Retry queues it again; the JSON says so.
  CliResult retry = Kiln("retry " + id + " --json", env);
  // (a second retry of a canceled build, after the first one above was canceled again)
  EXPECT_EQ(retry.exit_code, 0) << retry.err;
  EXPECT_EQ(Json(retry)["state"], "queued");
  EXPECT_EQ(Kiln("status 999999", env).exit_code, 1);
}

TEST_F(ClientTest, FollowReconnectsAfterTheServerRestarts) {
  // A queued build on a server without workers; the follower is connected when the server
  // is killed, and must pick the stream up again (Last-Event-ID) once it is back.
  Service idle(KILN_BINARY, kWork / "restart", 0);
  ASSERT_TRUE(idle.Start()) << idle.Log();
  std::string env = "KILN_SERVER=" + idle.Url("") + " KILN_TOKEN=" + idle.AdminToken();
  CliResult submitted = Kiln("submit --type tar --dry-run --json", env);
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  std::string id = std::to_string(Json(submitted)["id"].get<int>());
  auto follower = std::async(std::launch::async, [&] {
    return Kiln("submit --type tar --dry-run --follow", env);  // attaches to the same build
  });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  idle.Kill();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  ASSERT_TRUE(idle.Start()) << idle.Log();  // same port, same data
  CliResult cancel = Kiln("cancel " + id, env);
  ASSERT_EQ(cancel.exit_code, 0) << cancel.err;
  CliResult followed = follower.get();
  EXPECT_EQ(followed.exit_code, 2) << followed.out << followed.err;
  EXPECT_NE(followed.out.find("build " + id + " canceled"), std::string::npos) << followed.out;
  EXPECT_NE(followed.err.find("reconnecting"), std::string::npos) << followed.err;
  // Each event once: the resumed stream started after the last event seen.
  size_t first = followed.err.find("kiln: state queued");
  ASSERT_NE(first, std::string::npos) << followed.err;
  EXPECT_EQ(followed.err.find("kiln: state queued", first + 1), std::string::npos) << followed.err;
}

TEST_F(ClientTest, ListFiltersLimitsAndLogs) {
  CliResult a = Kiln("submit --type tar --dry-run --wait");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  CliResult f = Kiln("submit --type tar --mirror http://127.0.0.1:9/debian --dry-run --wait");
  ASSERT_EQ(f.exit_code, 1);

  json ok = Json(Kiln("list --state succeeded --json"));
  ASSERT_FALSE(ok["builds"].empty());
  for (const json& b : ok["builds"]) EXPECT_EQ(b["state"], "succeeded");
  json failed = Json(Kiln("list --state failed --all --json"));
  ASSERT_FALSE(failed["builds"].empty());
  for (const json& b : failed["builds"]) EXPECT_EQ(b["state"], "failed");
  EXPECT_EQ(Json(Kiln("list --limit 1 --json"))["builds"].size(), 1u);
  json mine = Json(Kiln("list --mine --json"));  // kept: the loop below walks into it
  for (const json& b : mine["builds"]) EXPECT_EQ(b["owner"], "admin");

  // The table: a header and aligned columns (every row's STATE starts where the header's does).
  CliResult table = Kiln("list --limit 5");
  ASSERT_EQ(table.exit_code, 0);
  std::istringstream lines(table.out);
  std::string header, row;
  std::getline(lines, header);
  size_t col = header.find("STATE");
  ASSERT_NE(col, std::string::npos) << table.out;
  while (std::getline(lines, row)) {
    EXPECT_TRUE(row.compare(col, 3, "suc") == 0 || row.compare(col, 3, "fai") == 0 ||
                row.compare(col, 3, "que") == 0 || row.compare(col, 3, "can") == 0 ||
                row.compare(col, 3, "run") == 0)
        << table.out;
  }
  EXPECT_EQ(table.out.find("\033["), std::string::npos) << "no colour on a pipe";
  CliResult usage = Kiln("list --state bogus");
  EXPECT_EQ(usage.exit_code, 3);

  // Logs, whole and followed (an ended build: -f returns at once), and as JSON lines.
  std::string id = std::to_string(ok["builds"][0]["id"].get<int>());
  CliResult log = Kiln("logs " + id);
  EXPECT_EQ(log.exit_code, 0);
  EXPECT_NE(log.out.find("plan:"), std::string::npos) << log.out;
  EXPECT_EQ(Kiln("logs -f " + id).out, log.out);
  CliResult jl = Kiln("logs " + id + " --json");
  std::istringstream jlines(jl.out);
  std::string first;
  std::getline(jlines, first);
  EXPECT_TRUE(json::parse(first, nullptr, false).contains("line")) << jl.out;
}

TEST_F(ClientTest, WorkersAndReleasesAsTablesAndJson) {
  CliResult w = Kiln("workers");
  EXPECT_EQ(w.exit_code, 0);
  EXPECT_NE(w.out.find("WORKER"), std::string::npos) << w.out;
  EXPECT_NE(w.out.find("yes"), std::string::npos) << w.out;
  json wj = Json(Kiln("workers --json"));
  ASSERT_EQ(wj["workers"].size(), 1u);
  EXPECT_TRUE(wj["workers"][0]["online"].get<bool>());
  CliResult r = Kiln("releases");
  EXPECT_NE(r.out.find("bookworm"), std::string::npos);
  EXPECT_NE(r.out.find("trixie"), std::string::npos);
  json rj = Json(Kiln("releases --json"));
  EXPECT_GE(rj["releases"].size(), 2u);
}

TEST_F(ClientTest, SettingsShowAndChangeOnlyWhatTheyName) {
  CliResult fresh = Kiln("settings");
  EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_NE(fresh.out.find("on, no address of your own"), std::string::npos) << fresh.out;
  EXPECT_NE(fresh.out.find("none of your own"), std::string::npos) << fresh.out;

  CliResult set = Kiln("settings --email me@example.org --webhook https://ci.example.org/hook");
  EXPECT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("also to me@example.org"), std::string::npos) << set.out;
  EXPECT_NE(set.out.find("https://ci.example.org/hook"), std::string::npos) << set.out;
  json off = Json(Kiln("settings --email-opt-out --json"));
  EXPECT_EQ(off["email_opt_out"], true);
  EXPECT_EQ(off["email"], "me@example.org") << "what was not named stays";
  EXPECT_EQ(off["webhooks"].size(), 1u);

  CliResult bad = Kiln("settings --email 'not an address'");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("is not an e-mail address"), std::string::npos) << bad.err;
  CliResult both = Kiln("settings --email-opt-out --email-opt-in");
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.err.find("exclude each other"), std::string::npos) << both.err;

  // Back as they were: the suite's other builds are this admin's too.
  json reset = Json(Kiln("settings --email '' --email-opt-in --no-webhooks --json"));
  EXPECT_EQ(reset["email"], "");
  EXPECT_EQ(reset["email_opt_out"], false);
  EXPECT_EQ(reset["webhooks"], json::array());
}

TEST_F(ClientTest, ErrorsSayWhatToDo) {
  // Unreachable: which URL, which setting, exit 3.
  CliResult down = Kiln("list", "KILN_SERVER=http://127.0.0.1:9 KILN_TOKEN=x");
  EXPECT_EQ(down.exit_code, 3);
  EXPECT_NE(down.err.find("http://127.0.0.1:9"), std::string::npos) << down.err;
  EXPECT_NE(down.err.find("KILN_SERVER"), std::string::npos) << down.err;
  // A wrong token: 401 and how to log in.
  CliResult refused =
      Kiln("status 1", "KILN_SERVER=" + service_->Url("") + " KILN_TOKEN=kiln_bogus");
  EXPECT_EQ(refused.exit_code, 3);
  EXPECT_NE(refused.err.find("kiln login"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("KILN_TOKEN"), std::string::npos) << refused.err;
  // Nothing set at all.
  CliResult unset = Kiln("list", "HOME=/nonexistent KILN_SERVER= KILN_TOKEN=");
  EXPECT_EQ(unset.exit_code, 3);
  EXPECT_NE(unset.err.find("no kiln server is set"), std::string::npos) << unset.err;
}

TEST_F(ClientTest, LoginSavesTheServerAndTokenPrivately) {
  fs::path config = kWork / "cli-config" / "kiln" / "client.conf";
  fs::remove(config);
  std::string server = service_->Url("");
  CliResult bad = Kiln("login --server " + server + " --token kiln_wrong", "KILN_SERVER=");
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_FALSE(fs::exists(config)) << "a refused token is not saved";
  CliResult ok =
      Kiln("login --server " + server + " --token " + service_->AdminToken(), "KILN_SERVER=");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("as admin"), std::string::npos) << ok.out;
  struct stat st {};
  ASSERT_EQ(stat(config.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(ReadFile(config).find(service_->AdminToken()), std::string::npos);
  // The saved settings are used when the environment says nothing.
  CliResult list = Kiln("list --json", "KILN_SERVER= KILN_TOKEN=");
  EXPECT_EQ(list.exit_code, 0) << list.err;
  // The token can come on stdin (so it is not in the shell history or the process list).
  fs::path token_file = Write("token", service_->AdminToken() + "\n");
  fs::remove(config);
  CliResult piped =
      Kiln("login --server " + server + " --json < " + token_file.string(), "KILN_SERVER=");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(Json(piped)["user"], "admin");
  EXPECT_TRUE(fs::exists(config));
  // A server URL that is not one is a usage error.
  EXPECT_EQ(Kiln("login --server 127.0.0.1:5000 --token x", "KILN_SERVER=").exit_code, 3);
  fs::remove(config);
}

TEST_F(ClientTest, HelpHasExamplesAndCompletionIsValidBash) {
  for (const char* cmd : {"submit", "status", "logs", "list", "cancel", "retry", "download",
                          "workers", "releases", "login", "completion"}) {
    CliResult h = Kiln(std::string(cmd) + " --help");
    EXPECT_EQ(h.exit_code, 0) << cmd;
    EXPECT_NE(h.out.find("Example:"), std::string::npos) << cmd << "\n" << h.out;
  }
  CliResult c = Kiln("completion bash");
  ASSERT_EQ(c.exit_code, 0);
  fs::path script = Write("kiln.bash", c.out);
  EXPECT_EQ(Sh("bash -n " + script.string()).exit_code, 0) << c.out;
  // Completing "kiln sub" and "kiln submit --fo" in a real bash.
  std::string probe = "source " + script.string() +
                      "; COMP_WORDS=(kiln sub); COMP_CWORD=1; _kiln; echo \"${COMPREPLY[@]}\";"
                      " COMP_WORDS=(kiln submit --fo); COMP_CWORD=2; _kiln; echo "
                      "\"${COMPREPLY[@]}\"";
  RunResult r = Popen("bash -c '" + probe + "'");
  EXPECT_NE(r.out.find("submit"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--follow"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("job"), std::string::npos) << "internal commands are not offered";
  EXPECT_EQ(Kiln("completion fish").exit_code, 3);
}

}  // namespace
}  // namespace kiln::testing
