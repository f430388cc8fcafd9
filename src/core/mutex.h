// A mutex that Clang's thread-safety analysis understands (-Wthread-safety, on in the clang
// builds): state shared between threads is declared KILN_GUARDED_BY(its mutex), functions that
// expect the lock held KILN_REQUIRES(it), and the compiler checks every access. libstdc++'s
// std::mutex carries no such annotations, hence this thin wrapper.
//
//   kiln::Mutex mu_;
//   std::vector<Event> batch_ KILN_GUARDED_BY(mu_);
//   void Flush() KILN_REQUIRES(mu_);
//   { kiln::MutexLock lock(mu_); batch_.push_back(e); }
#pragma once

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define KILN_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define KILN_THREAD_ANNOTATION(x)
#endif

#define KILN_CAPABILITY(name) KILN_THREAD_ANNOTATION(capability(name))
#define KILN_SCOPED_CAPABILITY KILN_THREAD_ANNOTATION(scoped_lockable)
#define KILN_GUARDED_BY(mu) KILN_THREAD_ANNOTATION(guarded_by(mu))
#define KILN_PT_GUARDED_BY(mu) KILN_THREAD_ANNOTATION(pt_guarded_by(mu))
#define KILN_REQUIRES(...) KILN_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define KILN_EXCLUDES(...) KILN_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define KILN_ACQUIRE(...) KILN_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define KILN_RELEASE(...) KILN_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define KILN_NO_THREAD_SAFETY_ANALYSIS KILN_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace kiln {

class KILN_CAPABILITY("mutex") Mutex {
 public:
  void Lock() KILN_ACQUIRE() { mu_.lock(); }
  void Unlock() KILN_RELEASE() { mu_.unlock(); }
  // BasicLockable, for std::condition_variable_any (CondVar below).
  void lock() KILN_ACQUIRE() { mu_.lock(); }
  void unlock() KILN_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds `mu` for its scope.
class KILN_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) KILN_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() KILN_RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

// A condition variable over a kiln::Mutex. Wait* must be called with `mu` held (as the
// analysis checks); the predicate runs with it held too.
class CondVar {
 public:
  void Wait(Mutex& mu) KILN_REQUIRES(mu) { cv_.wait(mu); }
  template <typename Predicate>
  void Wait(Mutex& mu, Predicate ready) KILN_REQUIRES(mu) {
    cv_.wait(mu, ready);
  }
  template <typename Duration, typename Predicate>
  bool WaitFor(Mutex& mu, Duration timeout, Predicate ready) KILN_REQUIRES(mu) {
    return cv_.wait_for(mu, timeout, ready);
  }
  void NotifyAll() { cv_.notify_all(); }
  void NotifyOne() { cv_.notify_one(); }

 private:
  std::condition_variable_any cv_;
};

}  // namespace kiln
