#include "server/queue_publisher.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <set>

#include "queue/amqp.h"

namespace kiln::server {
using Clock = std::chrono::steady_clock;

std::string BrokerRoutes::UrlFor(const std::string& arch) const {
  auto it = by_arch.find(arch);
  return it != by_arch.end() ? it->second : every_arch;
}

std::set<std::string> BrokerRoutes::Urls() const {
  std::set<std::string> out;
  if (!every_arch.empty()) out.insert(every_arch);
  for (const auto& [arch, url] : by_arch) out.insert(url);
  return out;
}

store::OutboxArchFilter BrokerRoutes::Publishable(const std::set<std::string>& away) const {
  store::OutboxArchFilter f;
  if (!every_arch.empty() && away.count(every_arch) != 0) {
    // The default broker is away: only arches routed to a broker that is up may go.
    f.only = true;
    for (const auto& [arch, url] : by_arch) {
      if (away.count(url) == 0) f.arches.push_back(arch);
    }
  } else {
    for (const auto& [arch, url] : by_arch) {
      if (away.count(url) != 0) f.arches.push_back(arch);
    }
  }
  return f;
}

Status BrokerRoutes::Add(const std::string& flag) {
  size_t eq = flag.find('=');
  size_t scheme = flag.find("://");
  if (eq != std::string::npos && (scheme == std::string::npos || eq < scheme)) {
    std::string arch = flag.substr(0, eq);
    std::string url = flag.substr(eq + 1);
    if (arch != "x86_64" && arch != "i686") {
      return Status::Error("--broker " + arch + "=...: the arch must be x86_64 or i686");
    }
    if (url.rfind("amqp://", 0) != 0) {
      return Status::Error("--broker " + arch + "=" + queue::RedactUrl(url) +
                           ": the URL must start amqp://");
    }
    by_arch[arch] = url;
    return Status::Ok();
  }
  if (flag.rfind("amqp://", 0) != 0) {
    return Status::Error("--broker " + queue::RedactUrl(flag) +
                         ": give amqp://USER@HOST/ or ARCH=amqp://...");
  }
  every_arch = flag;
  return Status::Ok();
}

struct QueuePublisher::Broker {
  std::string url;
  std::unique_ptr<queue::AmqpConnection> conn;
  Clock::time_point next_try{};
  std::chrono::milliseconds backoff{250};
  std::string last_error;
};

QueuePublisher::QueuePublisher(Coordinator& coordinator, BrokerRoutes routes,
                               PublisherOptions options)
    : co_(coordinator), routes_(std::move(routes)), options_(options) {}

QueuePublisher::~QueuePublisher() { Stop(); }

void QueuePublisher::Start() {
  co_.store().EnableOutbox();
  for (const std::string& url : routes_.Urls()) {
    brokers_[url] = std::make_unique<Broker>();
    brokers_[url]->url = url;
  }
  threads_.emplace_back([this] { PublishLoop(); });
  for (const std::string& url : routes_.Urls()) {
    threads_.emplace_back([this, url] { DeadLetterLoop(url); });
  }
}

void QueuePublisher::Stop() {
  stop_ = true;
  Wake();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  brokers_.clear();
}

void QueuePublisher::Wake() {
  std::lock_guard<std::mutex> lock(mu_);
  woken_ = true;
  wake_.notify_all();
}

bool QueuePublisher::Connect(Broker& b) {
  if (b.conn && b.conn->healthy()) return true;
  if (b.conn) {
    b.conn.reset();
    --connected_;
  }
  if (Clock::now() < b.next_try) return false;
  Result<std::unique_ptr<queue::AmqpConnection>> conn =
      queue::AmqpConnection::Open(b.url, std::chrono::milliseconds(3000), options_.heartbeat_s);
  Status ready = conn.ok() ? (*conn)->EnableConfirms() : conn.status();
  if (ready.ok()) ready = (*conn)->DeclareDeadLetters();
  std::string error = ready.message();
  if (ready.ok()) {
    b.conn = *std::move(conn);
    b.backoff = std::chrono::milliseconds(250);
    ++connected_;
    std::cerr << "kiln serve: broker " + queue::RedactUrl(b.url) + " connected\n";  // one write
    b.last_error.clear();
    return true;
  }
  if (error != b.last_error) {
    std::cerr << "kiln serve: broker " + queue::RedactUrl(b.url) + ": " + error +
                     " (queued builds wait in the store; retrying)\n";
    b.last_error = error;
  }
  b.next_try = Clock::now() + b.backoff;
  b.backoff = std::min(options_.max_backoff, b.backoff * 2);
  return false;
}

bool QueuePublisher::PublishRound() {
  // Arches whose broker is away this round are left out of the batch: a backlog waiting for
  // one broker must not hold up what another broker could take now.
  std::set<std::string> away;
  for (auto& [url, b] : brokers_) {
    if (!Connect(*b)) away.insert(url);
  }
  std::vector<store::OutboxEntry> batch =
      co_.store().OutboxBatch(options_.batch, routes_.Publishable(away));
  if (batch.empty()) return false;
  std::vector<int64_t> done;
  std::map<std::string, std::vector<int64_t>> sent;  // URL -> outbox rows awaiting confirms
  bool progress = false;
  for (const store::OutboxEntry& e : batch) {
    if (!e.still_queued) {
      done.push_back(e.seq);  // claimed, canceled or deleted meanwhile: nothing to announce
      continue;
    }
    std::string url = routes_.UrlFor(e.arch);
    if (url.empty()) {
      done.push_back(e.seq);  // no broker for this arch: only local workers can take it
      continue;
    }
    Broker& b = *brokers_[url];
    if (!Connect(b)) continue;  // stays in the outbox until the broker is back
    std::string queue_name = queue::BuildQueueName(e.arch, e.release);
    Status published = b.conn->DeclareBuildQueue(queue_name);
    if (published.ok()) {
      published = b.conn->Publish(
          queue_name, queue::EncodeBuildMessage({e.build_id, e.arch, e.release, e.type}));
    }
    if (!published.ok()) {
      std::cerr << "kiln serve: broker " + queue::RedactUrl(url) + ": " + published.message() +
                       "\n";
      sent.erase(url);  // unconfirmed: they stay in the outbox and go again
      continue;
    }
    sent[url].push_back(e.seq);
  }
  for (auto& [url, seqs] : sent) {
    Broker& b = *brokers_[url];
    Status confirmed = b.conn ? b.conn->WaitForConfirms(options_.confirm_timeout)
                              : Status::Error("the connection is gone");
    if (confirmed.ok()) {
      done.insert(done.end(), seqs.begin(), seqs.end());
      published_ += seqs.size();
    } else {
      std::cerr << "kiln serve: broker " + queue::RedactUrl(url) + ": " + confirmed.message() +
                       " (the messages go again)\n";
    }
  }
  if (!done.empty()) {
    co_.store().OutboxDone(done);
    progress = true;
  }
  return progress;
}

void QueuePublisher::RepublishMissing() {
  int64_t before = co_.NowMs() - options_.missing_after.count();
  for (const auto& [arch, release] : co_.store().LongQueued(before)) {
    std::string url = routes_.UrlFor(arch);
    if (url.empty()) continue;
    Broker& b = *brokers_[url];
    if (!Connect(b)) continue;
    std::string queue_name = queue::BuildQueueName(arch, release);
    Result<int64_t> ready = b.conn->ReadyMessages(queue_name);
    if (!ready.ok() || *ready != 0) continue;  // messages wait (or unknown)
    int n = co_.store().Republish(arch, release, before);
    if (n > 0) {
      std::cerr << "kiln serve: " << queue_name << " is empty but " << n
                << " build(s) of it wait: published again\n";
    }
  }
}

void QueuePublisher::PublishLoop() {
  Clock::time_point next_check = Clock::now() + options_.missing_after;
  while (!stop_) {
    bool more = false;
    try {
      more = PublishRound();
      if (!more && Clock::now() >= next_check) {
        next_check = Clock::now() + options_.missing_after;
        RepublishMissing();
        more = co_.store().OutboxSize() > 0;
      }
    } catch (const std::exception& e) {
      std::cerr << "kiln serve: publishing: " << e.what() << "\n";
    }
    if (more) continue;
    for (auto& [url, b] : brokers_) {
      if (b->conn) b->conn->Idle(std::chrono::milliseconds(0));  // heartbeats
    }
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return woken_ || stop_.load(); });
    woken_ = false;
  }
}

// A message in the dead-letter queue: a worker rejected it (it could not be handled) or the
// broker expired it. The build fails with the reason, unless it already finished.
void QueuePublisher::DeadLetterLoop(std::string url) {
  std::unique_ptr<queue::AmqpConnection> conn;
  std::chrono::milliseconds backoff(250);
  while (!stop_) {
    std::string error;
    if (!conn || !conn->healthy()) {
      Result<std::unique_ptr<queue::AmqpConnection>> opened =
          queue::AmqpConnection::Open(url, std::chrono::milliseconds(3000), options_.heartbeat_s);
      conn = opened.ok() ? *std::move(opened) : nullptr;
      if (!conn || !conn->DeclareDeadLetters().ok() || !conn->Qos(50).ok() ||
          !conn->Consume(queue::kDeadLetterQueue).ok()) {
        conn.reset();
        for (auto waited = std::chrono::milliseconds(0); waited < backoff && !stop_;
             waited += std::chrono::milliseconds(50)) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        backoff = std::min(options_.max_backoff, backoff * 2);
        continue;
      }
      backoff = std::chrono::milliseconds(250);
    }
    queue::Delivery d;
    if (conn->NextDelivery(std::chrono::milliseconds(250), d, error) !=
        queue::AmqpConnection::Wait::kDelivery) {
      continue;
    }
    std::optional<queue::BuildMessage> m = queue::DecodeBuildMessage(d.body);
    if (m) {
      JobResult why;
      why.state = BuildState::kFailed;
      why.error_code = "dead-lettered";
      why.error_class = "internal";
      why.error_message =
          "its queue message (" + d.routing_key + ") went to the dead-letter queue" +
          (d.death_reason.empty() ? "" : " (" + d.death_reason + ")") + ": no worker could take it";
      why.error_hint = "check the workers' logs for why they rejected it; retry the build";
      try {
        co_.FailUnfinished(m->build_id, why);
      } catch (const std::exception& e) {
        std::cerr << "kiln serve: recording a dead letter: " << e.what() << "\n";
        continue;  // not acknowledged: it comes again
      }
    }
    conn->Ack(d.tag);
  }
}

}  // namespace kiln::server
