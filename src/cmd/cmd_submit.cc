// kiln submit — sends a build request (the seed's imagebuild.conf, or a kickstart with
// request flags) to a kiln server, prints the build's id and link, and with --follow or
// --wait stays until the build ends (exit 0 succeeded, 1 failed, 2 canceled, 3 usage or
// connection error).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "client/api_client.h"
#include "client/follow.h"
#include "client/submission.h"
#include "client/terminal.h"
#include "cmd/client_command.h"
#include "cmd/request_flags.h"
#include "cmd/subcommands.h"
#include "core/text.h"

namespace kiln::cmd {
namespace {
using client::ApiClient;
using client::Reply;
using nlohmann::json;

struct SubmitOptions {
  client::SubmitInput input;
  bool wait = false, follow = false, dry_run = false, json = false;
  std::optional<int> priority;
};

// Ctrl-C (or SIGTERM) while following stops the client, not the build: the handler says how
// to get back to it, with a note written before it is installed (only write(2) is safe here).
char interrupt_note[256];
size_t interrupt_note_size = 0;

void OnInterrupt(int sig) {
  ssize_t n = write(STDERR_FILENO, interrupt_note, interrupt_note_size);
  (void)n;
  _exit(128 + sig);
}

void ExplainInterruptFor(int64_t id) {
  std::string note = "\nkiln: build " + std::to_string(id) +
                     " keeps running; follow it again with `kiln logs -f " + std::to_string(id) +
                     "`, stop it with `kiln cancel " + std::to_string(id) + "`\n";
  interrupt_note_size = std::min(note.size(), sizeof interrupt_note);
  std::memcpy(interrupt_note, note.data(), interrupt_note_size);
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// A random key for Idempotency-Key: a submit retried after a lost answer makes one build.
std::string NewIdempotencyKey() {
  std::random_device rd;
  std::string key = "kiln-cli-";
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) key += kHex[rd() % 16];
  return key;
}

int Submit(const SubmitOptions& o) {
  Result<std::vector<FormPart>> parts = client::SubmissionParts(o.input);
  if (!parts.ok()) {
    std::cerr << "kiln submit: " << parts.message() << "\n";
    return kExitUsage;
  }
  return RunClient("submit", [&](ApiClient& api) {
    std::string path = "/api/v1/builds";
    std::string sep = "?";
    if (o.dry_run) {
      path += sep + "dry_run=1";
      sep = "&";
    }
    if (o.priority) path += sep + "priority=" + std::to_string(*o.priority);
    std::vector<std::string> headers = {"Idempotency-Key: " + NewIdempotencyKey()};
    Reply r;
    try {
      r = api.PostForm(path, *parts, headers);
    } catch (const client::Unreachable&) {
      // The answer may have been lost after the server made the build: the same key makes
      // the second try return that build instead of a second one.
      r = api.PostForm(path, *parts, headers);
    }
    if (r.status != 201 && r.status != 200) return ReportFailure("submit", r, api.connection());
    json b = json::parse(r.body, nullptr, false);
    if (!b.is_object()) {
      std::cerr << "kiln submit: the server's answer is not JSON\n";
      return kExitError;
    }
    int64_t id = b.value("id", int64_t{0});
    std::string link = api.Url(b.value("url", "/api/v1/builds/" + std::to_string(id)));
    bool following = o.follow || o.wait;
    if (o.json && !following) {
      std::cout << b.dump(2) << "\n";
      return kExitOk;
    }
    // Warnings first (file and line), then the build.
    for (const json& w : b.value("warnings", json::array())) {
      std::string where = w.value("file", "");
      if (w.value("line", 0) > 0) where += ":" + std::to_string(w.value("line", 0));
      std::cerr << (where.empty() ? "" : where + ": ") << w.value("severity", "warning") << ": "
                << w.value("message", "") << "\n";
    }
    if (!o.json) {
      std::string message = b.value("message", "build " + std::to_string(id) + " queued");
      std::cout << message << (o.dry_run ? " (dry run: the plan only)" : "") << "\n"
                << link << "\n"
                << std::flush;
    }
    if (!following) return kExitOk;
    bool tty = client::IsTerminal(STDERR_FILENO);
    client::FollowMode mode = o.wait ? client::FollowMode::kQuiet
                              : tty  ? client::FollowMode::kLive
                                     : client::FollowMode::kPlain;
    ExplainInterruptFor(id);
    // Progress goes to stderr (stdout keeps the id, link and result for scripts).
    client::FollowOutcome out =
        client::FollowBuild(api, id, mode, client::ColorFor(STDERR_FILENO), std::cerr);
    if (o.json) {
      Reply last = api.Get("/api/v1/builds/" + std::to_string(id));
      std::cout << (last.status == 200 ? last.body : b.dump(2)) << "\n";
    } else {
      bool color = client::ColorFor(STDOUT_FILENO);
      std::cout << "build " << id << " "
                << client::Paint(out.state.empty() ? "ended" : out.state,
                                 client::StateColor(out.state), color)
                << "\n";
      if (!out.error.empty()) std::cout << "  " << out.error << "\n";
      if (out.state == "succeeded" && !o.dry_run) {
        std::cout << "  download: kiln download " << id << "\n";
      }
    }
    return client::ExitCodeForState(out.state);
  });
}

}  // namespace

void SetupSubmit(CLI::App& app, Action& action) {
  auto o = std::make_shared<SubmitOptions>();
  CLI::App* sub = app.add_subcommand(
      "submit", "Send a build request to the kiln server (imagebuild.conf or a kickstart)");
  sub->add_option("CONFIG", o->input.config, "the seed's imagebuild.conf");
  sub->add_option("--ks", o->input.ks,
                  "kickstart file (sent with the files it includes) or URL (the server fetches "
                  "it)");
  AddRequestFlags(sub, o->input.fields);
  sub->add_option("--staging", o->input.fields.staging, "where to copy the image (repeatable)");
  sub->add_option("--email", o->input.fields.email, "whom to tell when it ends (repeatable)");
  sub->add_option_function<std::string>(
         "--script-network", [o](const std::string& v) { o->input.fields.script_network = v; },
         "what the kickstart's %post may reach: none or outbound (default: what the server "
         "gives)")
      ->check(CLI::IsMember({"none", "outbound"}));
  sub->add_option("--priority", o->priority, "-100..100 (above 0: admins only)")
      ->check(CLI::Range(-100, 100));
  sub->add_flag("--dry-run", o->dry_run,
                "plan only: which stages would come from the cache and why, nothing built");
  CLI::Option* wait = sub->add_flag("--wait", o->wait, "wait quietly until the build ends");
  sub->add_flag("-f,--follow", o->follow,
                "show progress and the log until the build ends (exit 0 succeeded, 1 failed, 2 "
                "canceled)")
      ->excludes(wait);
  ClientCommandBasics(sub, o->json,
                      "kiln submit examples/live_imagebuild.conf --follow\n"
                      "  kiln submit --ks examples/debian-minimal.ks --type qcow2 --release "
                      "trixie\n"
                      "  kiln submit --ks https://example.org/ks.cfg --type tar --dry-run");
  sub->callback([o, &action] { action = [o] { return Submit(*o); }; });
}

}  // namespace kiln::cmd
