// Secrets kiln hands out and checks: Argon2id password hashes (libsodium), API tokens and
// session cookies (random, shown once, stored only as their SHA-256).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kiln::auth {

// An Argon2id hash string (with its salt and cost parameters) of `password`. Throws
// std::runtime_error only if libsodium cannot allocate the hash's memory.
std::string HashPassword(std::string_view password);
// True if `password` matches `hash` (constant time; false for a malformed hash).
bool VerifyPassword(std::string_view hash, std::string_view password);

// A new API token: "kiln_" + 43 url-safe base64 characters (256 random bits).
std::string NewToken();
// A new random value for a session cookie or a CSRF token (the same shape, no prefix).
std::string NewSecret();
// What the store keeps of a token or session: its SHA-256 in hex.
std::string SecretHash(std::string_view secret);
// Constant-time equality, for comparing CSRF tokens.
bool SecretsEqual(std::string_view a, std::string_view b);

// HTTP Basic credentials: "Basic " + base64("user:password").
struct BasicCredentials {
  std::string user, password;
};
// The user and password of an Authorization header's value, or nullopt if it is not Basic
// credentials (another scheme, bad base64, no ':').
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header);

}  // namespace kiln::auth
