// kiln status|logs|list|cancel|retry|deliver|download|workers|releases|settings|login|completion —
// the client commands that talk to a kiln server over its HTTP API (kiln submit is in
// cmd_submit.cc).
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "client/api_client.h"
#include "client/client_config.h"
#include "client/follow.h"
#include "client/terminal.h"
#include "cmd/client_command.h"
#include "cmd/subcommands.h"
#include "core/text.h"
#include "core/untrusted_json.h"
#include "sys/files.h"

namespace kiln::cmd {
namespace {
namespace fs = std::filesystem;
using client::ApiClient;
using client::Reply;
using nlohmann::json;

// Parses a reply body that must be JSON; prints why not and returns null otherwise.
json BodyJson(const std::string& name, const Reply& r) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) std::cerr << "kiln " << name << ": the server's answer is not JSON\n";
  return j;
}

// "2026-11-28T16:42:38Z" -> "2026-11-28 16:42".
std::string ShortTime(const std::string& iso) {
  if (iso.size() < 16) return iso;
  return iso.substr(0, 10) + " " + iso.substr(11, 5);
}

int PrintJson(const json& j) {
  std::cout << j.dump(2) << "\n";
  return kExitOk;
}

std::string BuildPath(int64_t id) { return "/api/v1/builds/" + std::to_string(id); }

// ---- status

// What the master sent out for the build (e-mails, staged copies) and how each went.
void PrintDeliveries(const json& b, bool color) {
  if (!b.contains("deliveries") || !b["deliveries"].is_array() || b["deliveries"].empty()) return;
  client::Table t{{"DELIVERY", "TO", "STATE", "TRIES", "LAST ERROR / NEXT TRY"}, {}};
  for (const json& d : b["deliveries"]) {
    std::string state = StringField(d, "state");
    std::string note = StringField(d, "last_error");
    if (state == "pending" && !StringField(d, "next_try").empty()) {
      note +=
          (note.empty() ? "" : "; ") + std::string("next ") + ShortTime(StringField(d, "next_try"));
    }
    t.rows.push_back({StringField(d, "kind") + " " + StringField(d, "what"),
                      StringField(d, "target"), state, std::to_string(d.value("attempts", 0)),
                      note});
  }
  std::cout << "\n" << t.Render(color);
}

int Status(int64_t id, bool as_json) {
  return RunClient("status", [&](ApiClient& api) {
    Reply r = api.Get(BuildPath(id));
    if (r.status != 200) return ReportFailure("status", r, api.connection());
    json b = BodyJson("status", r);
    if (b.is_discarded()) return kExitError;
    if (as_json) return PrintJson(b);
    bool color = client::ColorFor(STDOUT_FILENO);
    std::string state = StringField(b, "state");
    std::cout << client::Paint("build " + std::to_string(id), client::Color::kBold, color) << "  "
              << client::Paint(state, client::StateColor(state), color) << "  "
              << StringField(b, "type") << " " << StringField(b, "arch") << " "
              << StringField(b, "release");
    if (!StringField(b, "name").empty()) std::cout << "  " << StringField(b, "name");
    std::cout << "\n";
    std::cout << "  owner " << StringField(b, "owner") << ", attempt " << b.value("attempt", 0);
    if (!StringField(b, "worker").empty()) std::cout << ", worker " << StringField(b, "worker");
    std::cout << "\n  created " << ShortTime(StringField(b, "created_at"));
    if (!StringField(b, "started_at").empty())
      std::cout << ", started " << ShortTime(StringField(b, "started_at"));
    if (!StringField(b, "finished_at").empty()) {
      std::cout << ", finished " << ShortTime(StringField(b, "finished_at"));
    }
    std::cout << "\n";
    if (state == "running") {
      std::cout << "  stage " << StringField(b, "stage") << "  "
                << client::Bar(b.value("progress", 0.0), 30) << " "
                << static_cast<int>(b.value("progress", 0.0) * 100) << "%\n";
    }
    if (b.contains("queue") && b["queue"].is_object()) {
      const json& q = b["queue"];
      std::cout << "  queued: position " << q.value("position", 0) << " of " << q.value("queued", 0)
                << "; waiting for " << StringField(q, "waiting_for") << "\n";
    }
    if (b.contains("error") && b["error"].is_object()) {
      const json& e = b["error"];
      std::cout << "  " << client::Paint("error", client::Color::kRed, color) << " ["
                << StringField(e, "code") << "]: " << StringField(e, "message") << "\n";
      if (!StringField(e, "hint").empty())
        std::cout << "  hint: " << StringField(e, "hint") << "\n";
    }
    if (b.contains("artifacts") && b["artifacts"].is_array() && !b["artifacts"].empty()) {
      client::Table t{{"ARTIFACT", "SIZE", "SHA256"}, {}};
      for (const json& a : b["artifacts"]) {
        t.rows.push_back({StringField(a, "name"), client::HumanBytes(a.value("size", uint64_t{0})),
                          StringField(a, "sha256")});
      }
      std::cout << "\n" << t.Render(color);
    }
    PrintDeliveries(b, color);
    return kExitOk;
  });
}

// ---- logs

int Logs(int64_t id, bool follow, bool as_json) {
  return RunClient("logs", [&](ApiClient& api) {
    uint64_t offset = 0;
    while (true) {
      Reply r = api.Get(BuildPath(id) + "/log?offset=" + std::to_string(offset));
      if (r.status != 200) return ReportFailure("logs", r, api.connection());
      if (as_json) {
        for (const std::string& line : SplitNonEmpty(r.body, '\n')) {
          if (!line.empty()) std::cout << json({{"line", line}}).dump() << "\n";
        }
      } else {
        std::cout << r.body;
      }
      std::cout << std::flush;
      std::string next = r.Header("x-log-next-offset");
      if (!next.empty()) offset = std::stoull(next);
      if (!follow || r.Header("x-log-complete") == "true") return kExitOk;
      if (r.body.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  });
}

// ---- list

struct ListOptions {
  std::string state, type, arch, release;
  bool mine = false, all = false;
  int limit = 20;
  bool json = false;
};

int List(const ListOptions& o) {
  return RunClient("list", [&](ApiClient& api) {
    std::string query = "?limit=" + std::to_string(o.limit);
    auto add = [&](const char* key, const std::string& v) {
      if (!v.empty()) query += std::string("&") + key + "=" + v;
    };
    add("state", o.state);
    add("type", o.type);
    add("arch", o.arch);
    add("release", o.release);
    if (!o.all) {
      // Yours by default (admins see everyone's with --all).
      Reply me = api.Get("/api/v1/session");
      if (me.status != 200) return ReportFailure("list", me, api.connection());
      add("owner", StringField(BodyJson("list", me), "user"));
    }
    Reply r = api.Get("/api/v1/builds" + query);
    if (r.status != 200) return ReportFailure("list", r, api.connection());
    json page = BodyJson("list", r);
    if (page.is_discarded()) return kExitError;
    if (o.json) return PrintJson(page);
    bool color = client::ColorFor(STDOUT_FILENO);
    client::Table t{
        {"ID", "STATE", "TYPE", "ARCH", "RELEASE", "NAME", "OWNER", "CREATED", "PROGRESS"}, {}};
    for (const json& b : page.value("builds", json::array())) {
      std::string progress =
          StringField(b, "state") == "running"
              ? std::to_string(static_cast<int>(b.value("progress", 0.0) * 100)) + "% " +
                    StringField(b, "stage")
              : "";
      t.rows.push_back({std::to_string(b.value("id", 0)), StringField(b, "state"),
                        StringField(b, "type"), StringField(b, "arch"), StringField(b, "release"),
                        StringField(b, "name"), StringField(b, "owner"),
                        ShortTime(StringField(b, "created_at")), progress});
    }
    if (t.rows.empty()) {
      std::cout << "no builds" << (o.state.empty() ? "" : " in state " + o.state) << "\n";
      return kExitOk;
    }
    std::cout << t.Render(color, {nullptr, client::StateColor});
    return kExitOk;
  });
}

// ---- cancel, retry

int Act(const std::string& name, int64_t id, bool as_json) {
  return RunClient(name, [&](ApiClient& api) {
    Reply r = api.Send("POST", BuildPath(id) + "/" + name);
    if (r.status != 202) return ReportFailure(name, r, api.connection());
    json b = BodyJson(name, r);
    if (b.is_discarded()) return kExitError;
    if (as_json) return PrintJson(b);
    std::string state = StringField(b, "state");
    if (name == "deliver") {
      std::cout << "build " << id << ": " << b.value("queued", 0)
                << " e-mail(s) and staging target(s) queued again; see them with: kiln status "
                << id << "\n";
    } else if (name == "cancel") {
      std::cout << "build " << id << ": "
                << (state == "canceled" ? "canceled" : "cancel requested (it stops within seconds)")
                << "\n";
    } else {
      std::cout << "build " << id << " queued again (attempt " << b.value("attempt", 0)
                << "); follow it with: kiln logs -f " << id << "\n";
    }
    return kExitOk;
  });
}

// ---- download

// Downloads one artifact into `dir`: through NAME.part (kept when broken off, so the next
// run resumes it), checked against the server's SHA-256, then renamed into place. An
// existing file with the right hash is kept as it is.
bool DownloadArtifact(ApiClient& api, const json& a, const fs::path& dir, bool progress,
                      std::string& error, bool& skipped, uint64_t& resumed_from) {
  std::string name = StringField(a, "name");
  std::string sha = StringField(a, "sha256");
  uint64_t size = a.value("size", uint64_t{0});
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    error = "the server named an artifact '" + name + "'";
    return false;
  }
  fs::path target = dir / name;
  fs::path part = dir / (name + ".part");
  std::string have;
  std::error_code ec;
  skipped = false;
  if (fs::exists(target, ec) && fs::file_size(target, ec) == size &&
      sys::Sha256File(target, have) && have == sha) {
    skipped = true;
    return true;
  }
  uint64_t offset = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
  if (ec || offset > size) offset = 0;
  resumed_from = offset;
  auto start = std::chrono::steady_clock::now();
  auto draw = [&](uint64_t done) {
    if (!progress) return;
    double f = size > 0 ? static_cast<double>(done) / static_cast<double>(size) : 1.0;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "\r\033[K" << client::Bar(f, 30) << " " << static_cast<int>(f * 100) << "% "
              << client::HumanBytes(done) << "/" << client::HumanBytes(size);
    if (secs > 0.5) {
      std::cerr << " "
                << client::HumanBytes(
                       static_cast<uint64_t>(static_cast<double>(done - offset) / secs))
                << "/s";
    }
    std::cerr << "  " << name << std::flush;
  };
  if (offset < size || size == 0) {
    Reply r = api.Download(StringField(a, "url"), part, offset, "\"" + sha + "\"", draw);
    if (progress) std::cerr << "\r\033[K" << std::flush;
    if (r.status != 200 && r.status != 206) {
      error = name + ": " + client::DescribeError(r, api.connection());
      return false;
    }
  }
  std::string got;
  if (!sys::Sha256File(part, got) || got != sha) {
    fs::remove(part, ec);  // a bad copy is not resumed
    error = name + ": SHA-256 mismatch (got " + got + ", the server says " + sha +
            "); the partial file was removed, run the command again";
    return false;
  }
  fs::rename(part, target, ec);
  if (ec) {
    error = "cannot rename " + part.string() + ": " + ec.message();
    return false;
  }
  return true;
}

int Download(int64_t id, const std::string& out_dir, bool as_json) {
  return RunClient("download", [&](ApiClient& api) {
    Reply r = api.Get(BuildPath(id));
    if (r.status != 200) return ReportFailure("download", r, api.connection());
    json b = BodyJson("download", r);
    if (b.is_discarded()) return kExitError;
    json artifacts = b.value("artifacts", json::array());
    if (artifacts.empty()) {
      std::cerr << "kiln download: build " << id << " has no artifacts (state "
                << StringField(b, "state") << ")";
      if (StringField(b, "state") == "running" || StringField(b, "state") == "queued") {
        std::cerr << "\n  hint: wait for it: kiln logs -f " << id;
      }
      std::cerr << "\n";
      return kExitError;
    }
    fs::path dir = out_dir.empty() ? fs::path("kiln-" + std::to_string(id)) : fs::path(out_dir);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      std::cerr << "kiln download: cannot create " << dir << ": " << ec.message() << "\n";
      return kExitError;
    }
    bool progress = client::IsTerminal(STDERR_FILENO) && !as_json;
    json done = json::array();
    int failures = 0;
    for (const json& a : artifacts) {
      std::string error;
      bool skipped = false;
      bool ok = false;
      uint64_t resumed_from = 0;
      try {
        ok = DownloadArtifact(api, a, dir, progress, error, skipped, resumed_from);
      } catch (const client::Unreachable&) {
        throw;
      } catch (const std::exception& e) {
        error = e.what();
      }
      fs::path file = dir / StringField(a, "name");
      if (!ok) {
        ++failures;
        std::cerr << "kiln download: " << error << "\n";
        continue;
      }
      done.push_back({{"name", StringField(a, "name")},
                      {"path", file.string()},
                      {"size", a.value("size", uint64_t{0})},
                      {"sha256", StringField(a, "sha256")},
                      {"verified", true},
                      {"already_there", skipped},
                      {"resumed_from", resumed_from}});
      if (!as_json) {
        std::cout << file.string() << "  " << client::HumanBytes(a.value("size", uint64_t{0}))
                  << "  sha256 ok" << (skipped ? " (already there)" : "");
        if (resumed_from > 0)
          std::cout << " (resumed at " << client::HumanBytes(resumed_from) << ")";
        std::cout << "\n";
      }
    }
    if (as_json) PrintJson({{"build", id}, {"directory", dir.string()}, {"files", done}});
    return failures == 0 ? kExitOk : kExitError;
  });
}

// ---- workers, releases

std::string JoinList(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  std::string out;
  if (!j.is_array()) return out;
  for (const json& v : j) {
    if (!out.empty()) out += ",";
    out += v.is_string() ? v.get<std::string>() : v.dump();
  }
  return out;
}

// A worker that names no arch or release builds every one.
std::string OrAny(const std::string& list) { return list.empty() ? "any" : list; }

int Workers(bool as_json) {
  return RunClient("workers", [&](ApiClient& api) {
    Reply r = api.Get("/api/v1/workers");
    if (r.status != 200) return ReportFailure("workers", r, api.connection());
    json j = BodyJson("workers", r);
    if (j.is_discarded()) return kExitError;
    if (as_json) return PrintJson(j);
    client::Table t{
        {"WORKER", "ONLINE", "ARCH", "RELEASES", "CAPACITY", "BUILDS", "VERSION", "LAST HEARTBEAT"},
        {}};
    for (const json& w : j.value("workers", json::array())) {
      t.rows.push_back(
          {StringField(w, "id"), w.value("online", false) ? "yes" : "no",
           OrAny(JoinList(w.value("arches", json()))), OrAny(JoinList(w.value("releases", json()))),
           std::to_string(w.value("capacity", 0)),
           // An admin sees which builds; a user how many.
           w.contains("current_builds") ? JoinList(w["current_builds"])
                                        : std::to_string(w.value("load", 0)) + " running",
           StringField(w, "version"), ShortTime(StringField(w, "last_heartbeat"))});
    }
    if (t.rows.empty()) {
      std::cout << "no workers have registered\n";
      return kExitOk;
    }
    auto online = [](std::string_view v) {
      return v == "yes" ? client::Color::kGreen : client::Color::kDim;
    };
    std::cout << t.Render(client::ColorFor(STDOUT_FILENO), {nullptr, online});
    return kExitOk;
  });
}

// ---- settings

struct SettingsOptions {
  std::optional<std::string> email;
  bool opt_out = false, opt_in = false, no_webhooks = false;
  std::vector<std::string> webhooks;
  bool json = false;
};

// Shows the caller's notification settings, after changing what the options name.
int Settings(const SettingsOptions& o) {
  return RunClient("settings", [&](ApiClient& api) {
    json change = json::object();
    if (o.email) change["email"] = *o.email;
    if (o.opt_out || o.opt_in) change["email_opt_out"] = o.opt_out;
    if (o.no_webhooks || !o.webhooks.empty()) change["webhooks"] = o.webhooks;
    Reply r = change.empty() ? api.Get("/api/v1/settings")
                             : api.Send("PATCH", "/api/v1/settings", change.dump());
    if (r.status != 200) return ReportFailure("settings", r, api.connection());
    json j = BodyJson("settings", r);
    if (j.is_discarded()) return kExitError;
    if (o.json) return PrintJson(j);
    std::string email = StringField(j, "email");
    std::cout << "e-mail:   "
              << (j.value("email_opt_out", false)
                      ? "off (you opted out: no build of yours e-mails anyone)"
                      : "on" + (email.empty() ? std::string(", no address of your own")
                                              : ", also to " + email))
              << "\nwebhooks: "
              << (j.value("webhooks", json::array()).empty() ? "none of your own"
                                                             : JoinList(j["webhooks"]))
              << "\n";
    return kExitOk;
  });
}

int Releases(bool as_json) {
  return RunClient("releases", [&](ApiClient& api) {
    Reply r = api.Get("/api/v1/releases");
    if (r.status != 200) return ReportFailure("releases", r, api.connection());
    json j = BodyJson("releases", r);
    if (j.is_discarded()) return kExitError;
    if (as_json) return PrintJson(j);
    client::Table t{{"RELEASE", "FAMILY", "VERSION", "ARCHES", "TYPES", "ONLINE WORKERS"}, {}};
    for (const json& rel : j.value("releases", json::array())) {
      std::string workers = JoinList(rel.value("online_workers", json::array()));
      t.rows.push_back({StringField(rel, "name"), StringField(rel, "family"),
                        StringField(rel, "version"), JoinList(rel.value("arches", json())),
                        JoinList(rel.value("types", json())), workers.empty() ? "none" : workers});
    }
    std::cout << t.Render(client::ColorFor(STDOUT_FILENO));
    return kExitOk;
  });
}

// ---- login

// Reads a token from the terminal without echo (or a line from a pipe).
std::string ReadSecret(const char* prompt) {
  bool tty = isatty(STDIN_FILENO) != 0;
  termios old{};
  if (tty) {
    std::cerr << prompt << std::flush;
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  return std::string(Trim(line));
}

int Login(std::string server, std::string token, bool as_json) {
  client::Connection c = client::ResolveConnectionIgnoringBadConfig();
  if (server.empty()) server = c.url;
  if (server.empty()) {
    std::cerr << "kiln login: which server? give --server URL (e.g. http://127.0.0.1:5000)\n";
    return kExitUsage;
  }
  while (!server.empty() && server.back() == '/') server.pop_back();
  if (!StartsWith(server, "http://") && !StartsWith(server, "https://")) {
    std::cerr << "kiln login: --server must be an http:// or https:// URL, not '" << server
              << "'\n";
    return kExitUsage;
  }
  if (token.empty()) token = ReadSecret("API token (from `kiln token create`): ");
  if (token.empty()) {
    std::cerr << "kiln login: no token given (--token TOKEN or type it when asked)\n";
    return kExitUsage;
  }
  client::Connection login{server, token, "--server", "--token"};
  ApiClient api(login);
  Reply me;
  try {
    me = api.Get("/api/v1/session");
  } catch (const client::Unreachable& e) {
    std::cerr << "kiln login: " << e.what() << "\n";
    return kExitUsage;
  }
  if (me.status != 200) {
    std::cerr << "kiln login: " << client::DescribeError(me, login) << "\n";
    return kExitUsage;
  }
  json who = json::parse(me.body, nullptr, false);
  fs::path path = client::ClientConfigPath();
  // kiln::Status: in this file, Status is the `kiln status` command.
  if (kiln::Status written = client::WriteClientConfig(path, {server, token}); !written.ok()) {
    std::cerr << "kiln login: cannot write " << path.string() << ": " << written.message() << "\n";
    return kExitError;
  }
  if (as_json) {
    return PrintJson({{"server", server},
                      {"user", StringField(who, "user")},
                      {"role", StringField(who, "role")},
                      {"config", path.string()}});
  }
  std::cout << "logged in to " << server << " as " << StringField(who, "user") << " ("
            << StringField(who, "role") << "); saved in " << path.string() << " (mode 0600)\n";
  return kExitOk;
}

// ---- completion

// A bash completion script made from the command tree itself, so it never drifts from it.
std::string BashCompletion(const CLI::App& root) {
  std::string commands, cases;
  for (const CLI::App* sub : root.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_group().empty()) continue;  // hidden (internal) commands
    commands += (commands.empty() ? "" : " ") + sub->get_name();
    std::string words;
    for (const CLI::App* nested : sub->get_subcommands([](const CLI::App*) { return true; })) {
      words += " " + nested->get_name();
    }
    for (const CLI::Option* opt : sub->get_options()) {
      for (const std::string& l : opt->get_lnames()) words += " --" + l;
      for (const std::string& s : opt->get_snames()) words += " -" + s;
    }
    cases += "    " + sub->get_name() + ") opts=\"" + std::string(Trim(words)) + "\" ;;\n";
  }
  return "# bash completion for kiln; load it with: source <(kiln completion bash)\n"
         "_kiln() {\n"
         "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
         "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
         "    COMPREPLY=($(compgen -W \"" +
         commands +
         " --help --version\" -- \"$cur\"))\n"
         "    return\n"
         "  fi\n"
         "  case \"$prev\" in\n"
         "    -o|--output|--ks|--token-file|--data-dir|--cache-dir|--config)\n"
         "      COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
         "  esac\n"
         "  local opts=\"\"\n"
         "  case \"${COMP_WORDS[1]}\" in\n" +
         cases +
         "  esac\n"
         "  if [[ \"$cur\" == -* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$opts --help\" -- \"$cur\"))\n"
         "  else\n"
         "    COMPREPLY=($(compgen -W \"$opts\" -f -- \"$cur\"))\n"
         "  fi\n"
         "}\n"
         "complete -F _kiln kiln\n";
}

// Adds `kiln status ID`.
void SetupStatus(CLI::App& app, Action& action) {
  auto id = std::make_shared<int64_t>(0);
  auto as_json = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand("status", "Show a build: state, stage, error, artifacts");
  sub->add_option("ID", *id, "build id")->required();
  ClientCommandBasics(sub, *as_json, "kiln status 42\n  kiln status 42 --json | jq .state");
  sub->callback([=, &action] { action = [=] { return Status(*id, *as_json); }; });
}

// Adds `kiln logs ID [-f]`.
void SetupLogs(CLI::App& app, Action& action) {
  auto id = std::make_shared<int64_t>(0);
  auto follow = std::make_shared<bool>(false);
  auto as_json = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand("logs", "Print a build's log (-f: until it ends)");
  sub->add_option("ID", *id, "build id")->required();
  sub->add_flag("-f,--follow", *follow, "keep printing new lines until the build ends");
  ClientCommandBasics(sub, *as_json, "kiln logs 42\n  kiln logs -f 42");
  sub->callback([=, &action] { action = [=] { return Logs(*id, *follow, *as_json); }; });
}

// Adds `kiln list` and its filters.
void SetupList(CLI::App& app, Action& action) {
  auto o = std::make_shared<ListOptions>();
  CLI::App* sub =
      app.add_subcommand("list", "List builds, newest first (yours; --all: every one you may see)");
  sub->add_option("--state", o->state, "queued, running, succeeded, failed or canceled")
      ->check(CLI::IsMember({"queued", "running", "succeeded", "failed", "canceled"}));
  sub->add_flag("--mine", o->mine, "only your builds (the default)");
  sub->add_flag("--all", o->all, "every build you may see (admins: everyone's)");
  sub->add_option("--type", o->type, "only this image type");
  sub->add_option("--arch", o->arch, "only this architecture");
  sub->add_option("--release", o->release, "only this release");
  sub->add_option("--limit", o->limit, "at most this many (default 20, up to 500)")
      ->check(CLI::Range(1, 500));
  ClientCommandBasics(sub, o->json,
                      "kiln list --state running --all\n  kiln list --limit 5 --json");
  sub->callback([=, &action] {
    if (o->mine && o->all) throw CLI::ValidationError("--mine and --all exclude each other");
    action = [=] { return List(*o); };
  });
}

// Adds `kiln cancel ID`, `kiln retry ID` and `kiln deliver ID`.
void SetupCancelRetry(CLI::App& app, Action& action) {
  for (const char* name : {"cancel", "retry", "deliver"}) {
    auto id = std::make_shared<int64_t>(0);
    auto as_json = std::make_shared<bool>(false);
    std::string n = name;
    CLI::App* sub = app.add_subcommand(
        n, n == "cancel"  ? "Cancel a build (queued: at once; running: within seconds)"
           : n == "retry" ? "Queue a failed or canceled build again (cached stages are reused)"
                          : "Send a finished build's e-mails and staged copies again (no rebuild)");
    sub->add_option("ID", *id, "build id")->required();
    ClientCommandBasics(sub, *as_json, "kiln " + n + " 42");
    sub->callback([=, &action] { action = [=] { return Act(n, *id, *as_json); }; });
  }
}

// Adds `kiln download ID [-o DIR]`.
void SetupDownload(CLI::App& app, Action& action) {
  auto id = std::make_shared<int64_t>(0);
  auto out = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(
      "download", "Download every artifact of a build, resumable, SHA-256 verified");
  sub->add_option("ID", *id, "build id")->required();
  sub->add_option("-o,--output", *out, "directory (default kiln-ID)");
  ClientCommandBasics(sub, *as_json, "kiln download 42 -o images/");
  sub->callback([=, &action] { action = [=] { return Download(*id, *out, *as_json); }; });
}

// Adds `kiln workers`.
void SetupWorkers(CLI::App& app, Action& action) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* sub =
      app.add_subcommand("workers", "The build workers: online, arch, releases, builds");
  ClientCommandBasics(sub, *as_json, "kiln workers");
  sub->callback([=, &action] { action = [=] { return Workers(*as_json); }; });
}

// Adds `kiln releases`.
void SetupReleases(CLI::App& app, Action& action) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand("releases", "What the server can build, and who builds it");
  ClientCommandBasics(sub, *as_json, "kiln releases");
  sub->callback([=, &action] { action = [=] { return Releases(*as_json); }; });
}

// Adds `kiln settings`.
void SetupSettings(CLI::App& app, Action& action) {
  auto o = std::make_shared<SettingsOptions>();
  CLI::App* sub = app.add_subcommand(
      "settings", "Your notification settings: your address, e-mail opt-out, your webhooks");
  sub->add_option("--email", o->email, "an address of yours, e-mailed for each build (\"\": none)");
  sub->add_flag("--email-opt-out", o->opt_out, "no e-mail at all for your builds");
  sub->add_flag("--email-opt-in", o->opt_in, "e-mail again (your address and the requests')");
  sub->add_option("--webhook", o->webhooks,
                  "a URL called at every state change of each build "
                  "(repeat it; replaces the list)");
  sub->add_flag("--no-webhooks", o->no_webhooks, "remove your webhooks");
  ClientCommandBasics(sub, o->json,
                      "kiln settings\n  kiln settings --email me@example.org\n"
                      "  kiln settings --email-opt-out\n"
                      "  kiln settings --webhook https://ci.example.org/kiln-hook");
  sub->callback([=, &action] {
    if (o->opt_out && o->opt_in) {
      throw CLI::ValidationError("--email-opt-out and --email-opt-in exclude each other");
    }
    if (o->no_webhooks && !o->webhooks.empty()) {
      throw CLI::ValidationError("--webhook and --no-webhooks exclude each other");
    }
    action = [=] { return Settings(*o); };
  });
}

// Adds `kiln login`.
void SetupLogin(CLI::App& app, Action& action) {
  auto server = std::make_shared<std::string>();
  auto token = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(
      "login", "Save the server URL and your API token in ~/.config/kiln/client.conf (0600)");
  sub->add_option("--server", *server, "the server's URL, e.g. http://build.example.org:5000");
  sub->add_option("--token", *token, "an API token (asked for when left out)");
  ClientCommandBasics(sub, *as_json,
                      "kiln login --server http://127.0.0.1:5000 --token kiln_...\n"
                      "  KILN_SERVER and KILN_TOKEN override the saved settings.");
  sub->callback([=, &action] { action = [=] { return Login(*server, *token, *as_json); }; });
}

// Adds `kiln completion SHELL`; its script covers every command of `app`.
void SetupCompletion(CLI::App& app, Action& action) {
  auto shell = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("completion", "Print the shell completion script");
  sub->add_option("SHELL", *shell, "bash")->required()->check(CLI::IsMember({"bash"}));
  sub->footer(
      "Example:\n  source <(kiln completion bash)\n  kiln completion bash > "
      "/etc/bash_completion.d/kiln");
  CLI::App* root = &app;
  sub->callback([shell, root, &action] {  // `shell` owns the option's storage
    action = [root] {
      std::cout << BashCompletion(*root);
      return kExitOk;
    };
  });
}

}  // namespace

void SetupClient(CLI::App& app, Action& action) {
  SetupStatus(app, action);
  SetupLogs(app, action);
  SetupList(app, action);
  SetupCancelRetry(app, action);
  SetupDownload(app, action);
  SetupWorkers(app, action);
  SetupReleases(app, action);
  SetupSettings(app, action);
  SetupLogin(app, action);
  SetupCompletion(app, action);
}

}  // namespace kiln::cmd
