// The master's side of distributed mode: publishes every queued build to its RabbitMQ queue
// (from the store's outbox, so nothing queued while a broker is away is lost), and watches
// the dead-letter queue to fail the builds whose messages died there.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/coordinator.h"

namespace kiln::server {

// Which broker carries which arch's queues: the seed's [broker] section (`x86_64=URL`), or
// one URL for every arch.
struct BrokerRoutes {
  std::string every_arch;                      // "" = none
  std::map<std::string, std::string> by_arch;  // arch -> URL, wins over every_arch
  bool empty() const { return every_arch.empty() && by_arch.empty(); }
  std::string UrlFor(const std::string& arch) const;  // "" = no broker for it
  std::set<std::string> Urls() const;
  // The outbox rows a publish round may take while the brokers in `away` are unreachable.
  store::OutboxArchFilter Publishable(const std::set<std::string>& away) const;
  // "URL" or "ARCH=URL" (the --broker flag); fails, saying why, if malformed.
  Status Add(const std::string& flag);
};

struct PublisherOptions {
  int batch = 500;  // outbox rows per round
  std::chrono::milliseconds confirm_timeout{10000};
  std::chrono::milliseconds max_backoff{8000};  // between reconnect attempts
  int heartbeat_s = 30;
  std::chrono::milliseconds missing_after{30000};  // queued this long with an empty queue
};

class QueuePublisher {
 public:
  QueuePublisher(Coordinator& coordinator, BrokerRoutes routes, PublisherOptions options = {});
  ~QueuePublisher();  // stops
  void Start();       // enables the store's outbox and starts the threads
  void Stop();
  void Wake();  // a build was queued

  // For /metrics and the log: brokers connected now, and messages published.
  int ConnectedBrokers() const { return connected_.load(); }
  uint64_t Published() const { return published_.load(); }

 private:
  struct Broker;
  void PublishLoop();
  bool PublishRound();  // true if it did something (more may be waiting)
  // The master is the source of truth: a queue with no message ready while builds of it
  // have waited a while lost their messages (a broker that lost its disk, a purged queue):
  // they are published again. A duplicate is harmless; the claim decides.
  void RepublishMissing();
  void DeadLetterLoop(std::string url);
  bool Connect(Broker& broker);

  Coordinator& co_;
  BrokerRoutes routes_;
  PublisherOptions options_;
  std::map<std::string, std::unique_ptr<Broker>> brokers_;  // by URL, used by the publish thread
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connected_{0};
  std::atomic<uint64_t> published_{0};
  std::mutex mu_;
  std::condition_variable wake_;
  bool woken_ = false;
};

}  // namespace kiln::server
