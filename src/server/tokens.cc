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

Result<IssuedToken> IssueToken(store::Store& store, const TokenRequest& r) {
  std::string user = r.user.empty() ? "admin" : r.user;
  if (!r.worker.empty()) {
    if (!r.user.empty()) {
      return Status::Error("give a user or a worker, not both");
    }
    if (!ValidUserName(r.worker)) {
      return Status::Error("'" + r.worker +
                           "' is not a valid worker name (letters, digits, '-', '_', '.')");
    }
    if (r.worker == "local") {
      return Status::Error("'local' names the master's own workers; choose another worker name");
    }
    user = r.worker;
    std::optional<store::User> existing = store.FindUser(user);
    if (existing && existing->role != Role::kWorker) {
      return Status::Error("'" + user + "' is a " + std::string(ToString(existing->role)) +
                           ", not a worker");
    }
    if (!existing) store.AddUser(user, Role::kWorker, "");
  }
  std::optional<store::User> u = store.FindUser(user);
  if (!u) {
    return Status::Error("no user '" + user + "'", "not-found");
  }
  IssuedToken out;
  out.token = auth::NewToken();
  out.id = store.AddToken(u->id, r.label, auth::SecretHash(out.token));
  out.user = u->name;
  out.role = u->role;
  return out;
}

}  // namespace kiln::server
