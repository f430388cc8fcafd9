// Group calls: calls from several threads that overlap in time go out as one batch, the way a
// database groups commits. The first caller sends its item at once; whoever calls while that
// request is in flight waits, and the next sender (one of the waiting callers) takes
// everything that queued meanwhile. A lone caller pays no delay; a busy worker sends one
// request for many claims or results instead of one each.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln::worker {

template <typename Item, typename Outcome>
class Coalescer {
 public:
  explicit Coalescer(size_t max_batch) : max_batch_(max_batch) {}

  // Sends `item`, alone or with others of the same `key` (items that may share a request),
  // through `send`: items in, outcomes in the same order out. An exception `send` throws
  // reaches every caller of that batch.
  template <typename Send>
  Outcome Call(Item item, std::string key, Send&& send) {
    Slot slot;
    slot.item = std::move(item);
    slot.key = std::move(key);
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back(&slot);
    while (!slot.done) {
      if (sending_) {
        cv_.wait(lock);
        continue;
      }
      sending_ = true;
      std::vector<Slot*> batch = TakeBatch();
      lock.unlock();
      std::vector<const Item*> items;
      for (Slot* s : batch) items.push_back(&s->item);
      std::vector<Outcome> outcomes;
      std::exception_ptr error;
      try {
        outcomes = send(items);
        if (outcomes.size() != items.size()) throw std::logic_error("coalescer: outcome count");
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      for (size_t i = 0; i < batch.size(); ++i) {
        if (error) {
          batch[i]->error = error;
        } else {
          batch[i]->outcome = std::move(outcomes[i]);
        }
        batch[i]->done = true;
      }
      sending_ = false;
      cv_.notify_all();
    }
    if (slot.error) std::rethrow_exception(slot.error);
    return std::move(*slot.outcome);
  }

 private:
  struct Slot {
    Item item{};
    std::string key;
    std::optional<Outcome> outcome;
    std::exception_ptr error;
    bool done = false;
  };

  // The oldest queued item and up to max_batch_ - 1 more of its key, in order.
  std::vector<Slot*> TakeBatch() {
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
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot*> queue_;
  bool sending_ = false;
};

}  // namespace kiln::worker
