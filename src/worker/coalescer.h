// Group calls: calls from several threads that overlap in time go out as one batch, the way a
// database groups commits. The first caller sends its item at once; whoever calls while that
// request is in flight waits, and the next sender (one of the waiting callers) takes
// everything that queued meanwhile. A lone caller pays no delay; a busy worker sends one
// request for many claims or results instead of one each.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/mutex.h"

namespace kiln::worker {

template <typename Item, typename Outcome>
class Coalescer {
 public:
  // `linger`: how long a sender waits for more calls when the last batch was bigger than
  // what is queued now (under load); a lone caller after lone callers never waits.
  explicit Coalescer(size_t max_batch,
                     std::chrono::microseconds linger = std::chrono::microseconds(0))
      : max_batch_(max_batch), linger_(linger) {}

  // Sends `item`, alone or with others of the same `key` (items that may share a request),
  // through `send`: items in, outcomes in the same order out. An exception `send` throws
  // reaches every caller of that batch.
  template <typename Send>
  Outcome Call(Item item, std::string key, Send&& send) KILN_EXCLUDES(mu_) {
    Slot slot;
    slot.item = std::move(item);
    slot.key = std::move(key);
    mu_.Lock();
    queue_.push_back(&slot);
    if (sending_) arrived_.NotifyOne();  // a lingering sender may take this one too
    while (!slot.done) {
      if (sending_) {
        // Woken when this call is answered, or when it is first in line to send next: one
        // thread at a time, not every waiter on every answer.
        slot.wake.Wait(mu_);
        continue;
      }
      sending_ = true;
      if (linger_.count() > 0 && queue_.size() < last_batch_) {
        // Calls come in waves under load (one broker read brings several deliveries): wait
        // a moment for the rest of this one rather than send them one by one.
        arrived_.WaitFor(mu_, linger_,
                         [this]() KILN_REQUIRES(mu_) { return queue_.size() >= last_batch_; });
      }
      std::vector<Slot*> batch = TakeBatch();
      last_batch_ = batch.size();
      mu_.Unlock();  // the request goes out without the lock: others queue meanwhile
      std::vector<const Item*> items;
      for (Slot* s : batch) items.push_back(&s->item);
      std::vector<Outcome> outcomes;
      std::exception_ptr error;
      try {
        outcomes = send(items);
      } catch (...) {
        error = std::current_exception();  // the network's or the master's: each caller's
      }
      KILN_CHECK(error || outcomes.size() == items.size(), "a batch's send answers each call");
      mu_.Lock();
      for (size_t i = 0; i < batch.size(); ++i) {
        if (error) {
          batch[i]->error = error;
        } else {
          batch[i]->outcome = std::move(outcomes[i]);
        }
        batch[i]->done = true;
        if (batch[i] != &slot) batch[i]->wake.NotifyOne();
      }
      sending_ = false;
      if (!queue_.empty()) queue_.front()->wake.NotifyOne();  // the next sender
    }
    mu_.Unlock();
    if (slot.error) std::rethrow_exception(slot.error);
    return std::move(*slot.outcome);
  }

 private:
  // One call. Its outcome, error and done are written and read under mu_.
  struct Slot {
    Item item{};
    std::string key;
    std::optional<Outcome> outcome;
    std::exception_ptr error;
    bool done = false;
    CondVar wake;
  };

  // The oldest queued item and up to max_batch_ - 1 more of its key, in order.
  std::vector<Slot*> TakeBatch() KILN_REQUIRES(mu_) {
    std::vector<Slot*> batch, rest;
    for (Slot* s : queue_) {
      if (batch.size() < max_batch_ && (batch.empty() || s->key == batch.front()->key)) {
        batch.push_back(s);
      } else {
        rest.push_back(s);
      }
    }
    queue_.swap(rest);
    return batch;
  }

  const size_t max_batch_;
  const std::chrono::microseconds linger_;
  Mutex mu_;
  CondVar arrived_;  // a call was queued (for a lingering sender)
  size_t last_batch_ KILN_GUARDED_BY(mu_) = 1;
  std::vector<Slot*> queue_ KILN_GUARDED_BY(mu_);
  bool sending_ KILN_GUARDED_BY(mu_) = false;
};

}  // namespace kiln::worker
