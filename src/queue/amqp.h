// RabbitMQ for distributed mode (AMQP 0-9-1 over rabbitmq-c): the names and message format
// of kiln's queues, and one broker connection with one channel. A connection is used by one
// thread at a time (rabbitmq-c is not thread-safe); whoever owns it reconnects by opening a
// new one when a call reports the connection broken.
//
// Layout (the seed's): a durable queue per arch x release, `kiln.build.x86_64.bookworm`,
// fed through the default exchange with persistent messages and publisher confirms. Each
// queue dead-letters to the fanout exchange `kiln.dead` and its queue `kiln.build.dead`.
// A message only names a build: the master's store is the source of truth, and a worker
// claims the build over HTTP before it starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kiln::queue {

std::string BuildQueueName(std::string_view arch, std::string_view release);
inline constexpr char kDeadLetterExchange[] = "kiln.dead";
inline constexpr char kDeadLetterQueue[] = "kiln.build.dead";

struct BuildMessage {
  int64_t build_id = 0;
  std::string arch, release, type;
};
std::string EncodeBuildMessage(const BuildMessage& message);
std::optional<BuildMessage> DecodeBuildMessage(std::string_view body);

struct Delivery {
  uint64_t tag = 0;
  std::string routing_key;  // the build queue it was published to
  std::string body;
  bool redelivered = false;
  // For a dead letter (from its x-death header): why and how often.
  std::string death_reason;  // "rejected", "expired", ...
  int64_t death_count = 0;
};

// The URL with its password replaced, for messages and logs.
std::string RedactUrl(const std::string& url);

class AmqpConnection {
 public:
  // Connects and logs in to an amqp:// URL (e.g. "amqp://guest@localhost//", the seed's
  // form), opening channel 1. Heartbeats every `heartbeat_s` (they are sent and checked while
  // the owner waits in a call). Fails (saying why) if it cannot.
  static Result<std::unique_ptr<AmqpConnection>> Open(const std::string& url,
                                                      std::chrono::milliseconds timeout,
                                                      int heartbeat_s);
  ~AmqpConnection();
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  // False once the broker or the network ended the connection: open a new one.
  bool healthy() const { return !broken_; }

  // Declares (idempotently) the dead-letter exchange and queue, and a durable build queue
  // that dead-letters to them.
  Status DeclareDeadLetters();
  Status DeclareBuildQueue(const std::string& queue);

  // Messages ready (not held by a consumer) in a declared queue.
  Result<int64_t> ReadyMessages(const std::string& queue);

  // Publisher confirms on this channel (once, before publishing).
  Status EnableConfirms();
  // A persistent message to `queue` through the default exchange, mandatory (an unroutable
  // message comes back as a failure instead of vanishing).
  Status Publish(const std::string& queue, std::string_view body);
  // Waits until the broker confirmed everything published so far. Fails if it refused
  // (nack), returned a message, did not answer in `timeout`, or the connection broke.
  Status WaitForConfirms(std::chrono::milliseconds timeout);

  // At most `prefetch` unacknowledged deliveries for the whole channel (all its consumers).
  Status Qos(int prefetch);
  Status Consume(const std::string& queue);
  enum class Wait { kDelivery, kTimeout, kBroken };
  // The next delivery, waiting at most `timeout` (heartbeats are handled meanwhile).
  Wait NextDelivery(std::chrono::milliseconds timeout, Delivery& out, std::string& error);
  bool Ack(uint64_t tag);
  // requeue=false sends the message to the dead-letter queue.
  bool Reject(uint64_t tag, bool requeue);

  // Handles heartbeats and connection-level frames while the owner has nothing to do. Only
  // for a connection that expects nothing else (no consumer, no unconfirmed publish): any
  // other frame it reads — a delivery, a confirm — is lost. Consumers use NextDelivery.
  void Idle(std::chrono::milliseconds timeout);

  // For an owner that waits on more than the broker (poll(2)): the socket, and whether
  // frames already read are waiting in the library's buffer (then do not wait for the socket).
  int fd() const;
  bool HasBuffered() const;

 private:
  struct State;
  explicit AmqpConnection(std::unique_ptr<State> state);
  // The answer to the last synchronous method; a refusal breaks the connection.
  Status Rpc(const std::string& what);
  std::unique_ptr<State> s_;
  bool broken_ = false;
  bool confirms_ = false;
  uint64_t next_tag_ = 1;  // delivery tag of the next publish
  std::set<uint64_t> unconfirmed_;
  bool returned_ = false;  // a basic.return arrived since the last WaitForConfirms
  std::set<std::string> declared_;
};

}  // namespace kiln::queue
