// Issuing API tokens, the one way for both `kiln token create` on the master's database and
// POST /api/v1/tokens (an admin over the API): a token for a user, or for a build host —
// which gets a user of its own with the worker role (it opens only the worker routes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"
#include "store/store.h"

namespace kiln::server {

struct TokenRequest {
  std::string user;    // whose token ("" with no worker: admin)
  std::string worker;  // or: a build host's name
  std::string label = "cli";
};

struct IssuedToken {
  int64_t id = 0;
  std::string user;
  Role role = Role::kUser;
  std::string token;  // the secret, shown once; the store keeps its hash
};

// Letters, digits, '-', '_', '.'; up to 64.
bool ValidUserName(const std::string& name);

// A new token, or why not (code "not-found" when the user does not exist).
Result<IssuedToken> IssueToken(store::Store& store, const TokenRequest& request);

}  // namespace kiln::server
