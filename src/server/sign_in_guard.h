// Guessing passwords costs time: each user name and each client address may fail to sign in a
// few times for free; past that, every further failure locks it out for twice as long as the
// one before (1 s, 2 s, 4 s ... up to 15 minutes), a lockout is answered 429 with Retry-After
// before any password is checked, and a success clears the user's count. An admin clears a
// user's lockout (POST /api/v1/users/{name}/unlock, `kiln user unlock`). The state lives in the
// master's memory: a restart clears it. Time is passed in, so tests need no clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace kiln::server {

struct SignInPolicy {
  int free_user_failures = 5;      // per user name
  int free_address_failures = 20;  // per client address (many users may share one)
  std::chrono::seconds first_lockout{1};
  std::chrono::seconds max_lockout{15 * 60};
  size_t max_entries = 100000;  // names and addresses tracked; the oldest go when full
};

class SignInGuard {
 public:
  using Clock = std::chrono::steady_clock;
  explicit SignInGuard(SignInPolicy policy = {}) : policy_(policy) {}

  // How long `user` from `address` must wait before a password is checked; zero = now.
  Clock::duration Wait(const std::string& user, const std::string& address, Clock::time_point now);
  // A wrong password (or an unknown user): counts against both; true if that locked one out.
  bool Failed(const std::string& user, const std::string& address, Clock::time_point now);
  // The right password: the user's count starts again (the address's stays: it may be guessing
  // other names).
  void Succeeded(const std::string& user);
  // An admin's unlock: the user's failures are forgotten. False if it had none.
  bool Clear(const std::string& user);

  uint64_t failures() const;  // since start, for /metrics
  uint64_t lockouts() const;
  size_t tracked() const;  // names and addresses with failures now

 private:
  struct Entry {
    int failures = 0;
    Clock::time_point locked_until{};
    Clock::time_point last{};
  };
  // Counts one failure of `key` (free up to `free`); true if it is now locked out.
  bool Count(const std::string& key, int free, Clock::time_point now);
  void MakeRoom();

  SignInPolicy policy_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // "user:NAME" and "addr:IP"
  uint64_t failures_ = 0, lockouts_ = 0;
};

}  // namespace kiln::server
