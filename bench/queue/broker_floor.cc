// The broker's own ceiling for bench/queue: how many messages a second RabbitMQ moves on this
// machine when nothing else happens — one publisher sending persistent messages with
// publisher confirms (batches of 500, as kiln's publisher does), N consumers acking each
// delivery at once (prefetch as given). No HTTP, no store, no build: whatever kiln (or any
// design that sends one durable, confirmed message per build) does on top can only be slower.
//
//   kiln_broker_floor --url amqp://guest@127.0.0.1:5690// --count 10000 --consumers 4 --prefetch 1
//
// Prints one JSON object: messages, seconds (first publish to last ack), messages_per_second.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "queue/amqp.h"

namespace {

using kiln::queue::AmqpConnection;
using Clock = std::chrono::steady_clock;

std::unique_ptr<AmqpConnection> Connect(const std::string& url) {
  kiln::Result<std::unique_ptr<AmqpConnection>> c =
      AmqpConnection::Open(url, std::chrono::seconds(10), 30);
  if (!c.ok()) {
    std::fprintf(stderr, "kiln_broker_floor: %s\n", c.message().c_str());
    std::exit(2);
  }
  return *std::move(c);
}

void Check(bool ok, const char* what, const std::string& error) {
  if (!ok) {
    std::fprintf(stderr, "kiln_broker_floor: %s: %s\n", what, error.c_str());
    std::exit(2);
  }
}

void Check(const kiln::Status& status, const char* what) {
  Check(status.ok(), what, status.message());
}

}  // namespace

int main(int argc, char** argv) {
  std::string url = "amqp://guest@127.0.0.1:5672//";
  int count = 10000, consumers = 4, prefetch = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--url") url = argv[i + 1];
    if (flag == "--count") count = std::atoi(argv[i + 1]);
    if (flag == "--consumers") consumers = std::atoi(argv[i + 1]);
    if (flag == "--prefetch") prefetch = std::atoi(argv[i + 1]);
  }
  // A queue of its own (declared like kiln's build queues: durable, dead-lettered).
  std::string queue = "kiln.build.floor." + std::to_string(getpid());
  auto setup = Connect(url);
  Check(setup->DeclareBuildQueue(queue), "declare");

  std::atomic<int> acked{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([&] {
      auto conn = Connect(url);
      std::string e;
      Check(conn->Qos(prefetch), "qos");
      Check(conn->Consume(queue), "consume");
      ++ready;
      kiln::queue::Delivery d;
      while (acked.load() < count) {
        AmqpConnection::Wait w = conn->NextDelivery(std::chrono::milliseconds(200), d, e);
        if (w == AmqpConnection::Wait::kBroken) Check(false, "consume", e);
        if (w != AmqpConnection::Wait::kDelivery) continue;
        Check(conn->Ack(d.tag), "ack", "the connection broke");
        ++acked;
      }
    });
  }
  while (ready.load() < consumers) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  Clock::time_point start = Clock::now();
  auto pub = Connect(url);
  Check(pub->EnableConfirms(), "confirms");
  std::string body = R"({"build":123456,"arch":"x86_64","release":"bookworm","type":"tar"})";
  for (int sent = 0; sent < count;) {
    for (int i = 0; i < 500 && sent < count; ++i, ++sent) {
      Check(pub->Publish(queue, body), "publish");
    }
    Check(pub->WaitForConfirms(std::chrono::seconds(30)), "confirm");
  }
  for (std::thread& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "{\"label\": \"broker floor\", \"messages\": %d, \"consumers\": %d, \"prefetch\": %d, "
      "\"seconds\": %.3f, \"messages_per_second\": %.1f}\n",
      count, consumers, prefetch, seconds, count / seconds);
  return 0;
}
