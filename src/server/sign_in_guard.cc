#include "server/sign_in_guard.h"

#include <algorithm>
#include <iterator>
#include <vector>

namespace kiln::server {

SignInGuard::Clock::duration SignInGuard::Wait(const std::string& user, const std::string& address,
                                               Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  Clock::duration wait{0};
  for (const std::string& key : {"user:" + user, "addr:" + address}) {
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.locked_until > now) {
      wait = std::max(wait, it->second.locked_until - now);
    }
  }
  return wait;
}

bool SignInGuard::Count(const std::string& key, int free, Clock::time_point now) {
  Entry& e = entries_[key];
  e.last = now;
  if (++e.failures <= free) return false;
  // The first failure past the free ones locks out for first_lockout, each further doubles it.
  int doublings = std::min(e.failures - free - 1, 20);
  auto lockout = std::min<Clock::duration>(policy_.first_lockout * (int64_t{1} << doublings),
                                           policy_.max_lockout);
  e.locked_until = now + lockout;
  return true;
}

bool SignInGuard::Failed(const std::string& user, const std::string& address,
                         Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  MakeRoom();
  ++failures_;
  bool locked = Count("user:" + user, policy_.free_user_failures, now);
  locked = Count("addr:" + address, policy_.free_address_failures, now) || locked;
  if (locked) ++lockouts_;
  return locked;
}

void SignInGuard::Succeeded(const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase("user:" + user);
}

bool SignInGuard::Clear(const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.erase("user:" + user) > 0;
}

uint64_t SignInGuard::failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

uint64_t SignInGuard::lockouts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lockouts_;
}

size_t SignInGuard::tracked() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

void SignInGuard::MakeRoom() {
  if (entries_.size() < policy_.max_entries) return;
  // Full (someone tries very many names): the older half goes, those least recently failed.
  std::vector<Clock::time_point> times;
  times.reserve(entries_.size());
  for (const auto& [key, e] : entries_) times.push_back(e.last);
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  Clock::time_point cut = times[times.size() / 2];
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = it->second.last < cut ? entries_.erase(it) : std::next(it);
  }
}

}  // namespace kiln::server
