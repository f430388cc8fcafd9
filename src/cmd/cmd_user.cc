// kiln user add|list|del|unlock and kiln token create|list|revoke — administration of the master's
// users and API tokens, on its database directly (so: run them on the master, as the user
// that owns the data directory). `kiln token create` also works over the API, from anywhere,
// with an admin's token: for a build host's worker token, say.
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "auth/credentials.h"
#include "client/api_client.h"
#include "client/client_config.h"
#include "cmd/subcommands.h"
#include "core/text.h"
#include "server/tokens.h"
#include "store/sqlite.h"
#include "store/store.h"

namespace kiln::cmd {
namespace fs = std::filesystem;
namespace {

struct AdminOptions {
  std::string data_dir = "/var/lib/kiln";
  std::string name;
  bool admin = false;
  bool password_stdin = false;
  bool with_builds = false;
  std::string user;    // token create --user
  std::string worker;  // token create --worker: a build host's own user
  std::string label = "cli";
  int64_t token_id = 0;
  std::string server;  // token create over the API of this master
  bool data_dir_given = false;
};

std::unique_ptr<store::Store> OpenStore(const AdminOptions& o) {
  fs::path db = fs::path(o.data_dir) / "kiln.db";
  if (!fs::exists(db)) {
    std::cerr << "kiln: no kiln database in " << o.data_dir
              << " (start `kiln serve` once, or pass --data-dir)\n";
    return nullptr;
  }
  try {
    return store::Store::Open(db);
  } catch (const store::StoreError& e) {
    std::cerr << "kiln: " << e.what() << "\n";
    return nullptr;
  }
}

using server::ValidUserName;

int UserAdd(const AdminOptions& o) {
  if (!ValidUserName(o.name)) {
    std::cerr << "kiln user add: '" << o.name
              << "' is not a valid user name (letters, digits, '-', '_', '.'; up to 64)\n";
    return 2;
  }
  auto store = OpenStore(o);
  if (!store) return 1;
  if (store->FindUser(o.name)) {
    std::cerr << "kiln user add: user '" << o.name << "' exists already\n";
    return 1;
  }
  std::string hash;
  if (o.password_stdin) {
    std::string password;
    std::getline(std::cin, password);
    if (password.size() < 8) {
      std::cerr << "kiln user add: the password must have at least 8 characters\n";
      return 2;
    }
    hash = auth::HashPassword(password);
  }
  int64_t id = store->AddUser(o.name, o.admin ? Role::kAdmin : Role::kUser, hash);
  std::cout << "user " << o.name << " (" << (o.admin ? "admin" : "user") << ", id " << id
            << ") added"
            << (hash.empty()
                    ? "; no password: give them a token (kiln token create --user " + o.name + ")"
                    : "")
            << "\n";
  return 0;
}

int UserList(const AdminOptions& o) {
  auto store = OpenStore(o);
  if (!store) return 1;
  for (const store::User& u : store->ListUsers()) {
    std::cout << u.id << "\t" << u.name << "\t" << ToString(u.role) << "\t"
              << (u.password_hash.empty() ? "token only" : "password") << "\n";
  }
  return 0;
}

int UserDel(const AdminOptions& o) {
  auto store = OpenStore(o);
  if (!store) return 1;
  switch (store->DeleteUser(o.name, o.with_builds)) {
    case store::Store::DeleteUserResult::kDeleted:
      std::cout << "user " << o.name << " deleted\n";
      return 0;
    case store::Store::DeleteUserResult::kNotFound:
      std::cerr << "kiln user del: no user '" << o.name << "'\n";
      return 1;
    case store::Store::DeleteUserResult::kHasBuilds:
      std::cerr << "kiln user del: user '" << o.name
                << "' owns builds; delete them first or pass --with-builds\n";
      return 1;
  }
  return 1;
}

// POST /api/v1/tokens with an admin's token.
int TokenCreateOverApi(const AdminOptions& o, const client::Connection& c) {
  nlohmann::json body = {{"name", o.label}};
  if (!o.worker.empty()) body["worker"] = o.worker;
  if (!o.user.empty()) body["user"] = o.user;
  client::ApiClient api(c);
  client::Reply r;
  try {
    r = api.Send("POST", "/api/v1/tokens", body.dump());
  } catch (const client::Unreachable& e) {
    std::cerr << "kiln token create: " << e.what() << "\n";
    return 3;
  }
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 201 || !j.is_object() || !j.contains("token")) {
    std::cerr << "kiln token create: " << client::DescribeError(r, c) << "\n";
    return r.status == 401 || r.status == 403 ? 3 : 1;
  }
  std::cerr << "token " << j.value("id", 0) << " for " << j.value("user", "")
            << " created; it is shown only now (the server keeps only its hash):\n";
  std::cout << j["token"].get<std::string>() << "\n";
  return 0;
}

// POST /api/v1/users/NAME/unlock with an admin's token: lockouts live in the running master.
int UserUnlock(const AdminOptions& o) {
  // The name goes into the request's path: only a name of the users' grammar does.
  if (!ValidUserName(o.name)) {
    std::cerr << "kiln user unlock: '" << Printable(o.name)
              << "' is not a valid user name (letters, digits, '-', '_', '.'; up to 64)\n";
    return 2;
  }
  client::Connection c = client::ResolveConnectionIgnoringBadConfig();
  if (!o.server.empty()) {
    c.url = o.server;
    c.url_source = "--server";
    while (!c.url.empty() && c.url.back() == '/') c.url.pop_back();
  }
  if (c.url.empty() || c.token.empty()) {
    std::cerr << "kiln user unlock: lockouts live in the running master: name it (--server or "
                 "KILN_SERVER) with an admin's token (KILN_TOKEN or the CLI config)\n";
    return 3;
  }
  client::ApiClient api(c);
  client::Reply r;
  try {
    r = api.Send("POST", "/api/v1/users/" + o.name + "/unlock", "{}");
  } catch (const client::Unreachable& e) {
    std::cerr << "kiln user unlock: " << e.what() << "\n";
    return 3;
  }
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 200 || !j.is_object()) {
    std::cerr << "kiln user unlock: " << client::DescribeError(r, c) << "\n";
    return r.status == 401 || r.status == 403 ? 3 : 1;
  }
  std::cerr << "kiln user unlock: " << o.name
            << (j.value("unlocked", false) ? ": its failed sign-ins are forgotten\n"
                                           : " had no failed sign-ins\n");
  return 0;
}

int TokenCreate(const AdminOptions& o) {
  // Over the API when a master is named (--server, KILN_SERVER), or when there is no database
  // here to use and the CLI config names one; the token as every client command finds it.
  client::Connection c = client::ResolveConnectionIgnoringBadConfig();
  bool over_api =
      !o.server.empty() || c.url_source == "KILN_SERVER" ||
      (!c.url.empty() && !o.data_dir_given && !fs::exists(fs::path(o.data_dir) / "kiln.db"));
  if (over_api) {
    if (!o.server.empty()) {
      c.url = o.server;
      c.url_source = "--server";
      while (!c.url.empty() && c.url.back() == '/') c.url.pop_back();
    }
    if (c.token.empty()) {
      std::cerr << "kiln token create: no admin token for " << c.url
                << " (set KILN_TOKEN or write the CLI config)\n";
      return 3;
    }
    return TokenCreateOverApi(o, c);
  }
  auto store = OpenStore(o);
  if (!store) return 1;
  Result<server::IssuedToken> t = server::IssueToken(*store, {o.user, o.worker, o.label});
  if (!t.ok()) {
    bool not_found = t.status().code() == "not-found";
    std::cerr << "kiln token create: " << t.message()
              << (not_found ? " (kiln user list shows them)" : "") << "\n";
    return not_found ? 1 : 2;
  }
  std::cerr << "token " << t->id << " for " << t->user
            << " created; it is shown only now (the server keeps only its hash):\n";
  std::cout << t->token << "\n";
  return 0;
}

int TokenList(const AdminOptions& o) {
  auto store = OpenStore(o);
  if (!store) return 1;
  for (const store::Token& t : store->ListTokens(std::nullopt)) {
    std::optional<store::User> u = store->FindUserById(t.user_id);
    std::cout << t.id << "\t" << (u ? u->name : "?") << "\t" << t.name << "\n";
  }
  return 0;
}

int TokenRevoke(const AdminOptions& o) {
  auto store = OpenStore(o);
  if (!store) return 1;
  if (!store->RevokeToken(o.token_id)) {
    std::cerr << "kiln token revoke: no live token " << o.token_id << " (kiln token list)\n";
    return 1;
  }
  std::cout << "token " << o.token_id << " revoked\n";
  return 0;
}

}  // namespace

void SetupUser(CLI::App& app, Action& action) {
  auto o = std::make_shared<AdminOptions>();
  CLI::App* user = app.add_subcommand("user", "Manage the service's users (admin, on the master)");
  user->require_subcommand(1);
  user->fallthrough();  // --data-dir may also follow the action
  user->add_option("--data-dir", o->data_dir,
                   "the server's data directory (default /var/lib/kiln)");
  CLI::App* add = user->add_subcommand("add", "Add a user");
  add->add_option("NAME", o->name, "user name")->required();
  add->add_flag("--admin", o->admin, "an admin (sees and acts on every build)");
  add->add_flag("--password-stdin", o->password_stdin,
                "read a password for browser sign-in from stdin");
  add->callback([o, &action] { action = [o] { return UserAdd(*o); }; });
  CLI::App* list = user->add_subcommand("list", "List users");
  list->callback([o, &action] { action = [o] { return UserList(*o); }; });
  CLI::App* del = user->add_subcommand("del", "Delete a user with their tokens");
  del->add_option("NAME", o->name, "user name")->required();
  del->add_flag("--with-builds", o->with_builds, "also delete the user's builds");
  del->callback([o, &action] { action = [o] { return UserDel(*o); }; });
  CLI::App* unlock = user->add_subcommand(
      "unlock", "Forget a user's failed sign-ins (after a lockout), over the master's API");
  unlock->add_option("NAME", o->name, "user name")->required();
  unlock->add_option("--server", o->server, "the master (default KILN_SERVER or the CLI config)");
  unlock->callback([o, &action] { action = [o] { return UserUnlock(*o); }; });

  CLI::App* token = app.add_subcommand("token", "Manage API tokens (admin, on the master)");
  token->require_subcommand(1);
  token->fallthrough();
  token
      ->add_option("--data-dir", o->data_dir, "the server's data directory (default /var/lib/kiln)")
      ->each([o](const std::string&) { o->data_dir_given = true; });
  CLI::App* create = token->add_subcommand("create", "Create a token; it is printed once");
  create->add_option("--user", o->user, "whose token (default admin)");
  create->add_option("--worker", o->worker,
                     "a token for the build host NAME (a worker user is made if needed)");
  create->add_option("--name", o->label, "a label to recognize it by");
  create->add_option("--server", o->server,
                     "create it over this master's API (with KILN_TOKEN or the CLI config's "
                     "admin token) instead of on the local database");
  create->footer(
      "Examples:\n  kiln token create --worker build-01 > worker.token       (on the master)\n"
      "  kiln token create --worker build-01 --server http://master:5000   (anywhere)");
  create->callback([o, &action] { action = [o] { return TokenCreate(*o); }; });
  CLI::App* tlist = token->add_subcommand("list", "List live tokens (not their secrets)");
  tlist->callback([o, &action] { action = [o] { return TokenList(*o); }; });
  CLI::App* revoke = token->add_subcommand("revoke", "Revoke a token by its id");
  revoke->add_option("ID", o->token_id, "token id (kiln token list)")->required();
  revoke->callback([o, &action] { action = [o] { return TokenRevoke(*o); }; });
}

}  // namespace kiln::cmd
