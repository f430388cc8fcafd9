#include "server/tokens.h"

#include <cctype>

#include "auth/credentials.h"

namespace kiln::server {

bool ValidUserName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

std::optional<IssuedToken> IssueToken(store::Store& store, const TokenRequest& r,
                                      std::string& error, bool& not_found) {
  not_found = false;
  std::string user = r.user.empty() ? "admin" : r.user;
  if (!r.worker.empty()) {
    if (!r.user.empty()) {
      error = "give a user or a worker, not both";
      return std::nullopt;
    }
    if (!ValidUserName(r.worker)) {
      error = "'" + r.worker + "' is not a valid worker name (letters, digits, '-', '_', '.')";
      return std::nullopt;
    }
    if (r.worker == "local") {
      error = "'local' names the master's own workers; choose another worker name";
      return std::nullopt;
    }
    user = r.worker;
    std::optional<store::User> existing = store.FindUser(user);
    if (existing && existing->role != Role::kWorker) {
      error = "'" + user + "' is a " + std::string(ToString(existing->role)) + ", not a worker";
      return std::nullopt;
    }
    if (!existing) store.AddUser(user, Role::kWorker, "");
  }
  std::optional<store::User> u = store.FindUser(user);
  if (!u) {
    not_found = true;
    error = "no user '" + user + "'";
    return std::nullopt;
  }
  IssuedToken out;
  out.token = auth::NewToken();
  out.id = store.AddToken(u->id, r.label, auth::SecretHash(out.token));
  out.user = u->name;
  out.role = u->role;
  return out;
}

}  // namespace kiln::server
