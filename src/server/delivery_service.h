// The master's delivery thread: works off the deliveries outbox (store/deliveries.cc) — the
// e-mails of builds accepted and ended, the webhooks of every state change, the staged copies
// of successful builds; each try recorded on
// its row and as a "delivery" event of the build, a failure tried again with backoff, never failing
// the build. The rows are durable: a master stopped or killed mid-delivery sends what is pending
// after its restart (an e-mail whose send was cut off may go twice: SMTP cannot tell).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/mutex.h"
#include "delivery/mail.h"
#include "delivery/staging.h"
#include "server/coordinator.h"
#include "spec/fetch_policy.h"

namespace kiln::server {

struct DeliveryOptions {
  std::optional<delivery::SmtpConfig> smtp;  // none: no e-mail is queued or sent
  delivery::StagingConfig staging;           // where and how successful builds are copied
  // The master's address as users reach it, for the links in messages.
  std::string base_url = "http://localhost:5000";
  // Tries of one delivery: the first again after `first_retry_ms`, doubling up to
  // `max_retry_ms`; given up `give_up_after_ms` after it was queued.
  int64_t first_retry_ms = 5'000;
  int64_t max_retry_ms = 15 * 60'000;
  int64_t give_up_after_ms = 24 * 3'600'000;
  // Webhooks: signed with their owner's secret (derived from this one), sent only where the
  // policy lets the master connect, given up an hour after the change they tell of.
  std::string webhook_secret;
  const spec::AddressPolicy* address_policy = nullptr;  // null: anywhere (tests)
  int64_t webhook_give_up_after_ms = 3'600'000;
};

class DeliveryService {
 public:
  DeliveryService(Coordinator& co, DeliveryOptions options);
  ~DeliveryService();  // stops the thread (a try in progress ends first)

  // Turns the outbox's triggers on (what is configured) and starts the thread.
  void Start();
  void Stop();
  // Something may be due now (a build was accepted or ended): look at once.
  void Wake();

  // One pass: every delivery due now, tried once. The thread's work; tests call it directly.
  int RunDue();

 private:
  void Loop();
  // Tries one delivery; "" when it went, else why not.
  std::string Deliver(const store::Delivery& d);
  std::string SendBuildMail(const store::Delivery& d);
  std::string SendWebhook(const store::Delivery& d);
  std::string Stage(const store::Delivery& d);
  int64_t RetryAt(const store::Delivery& d, int64_t now) const;

  Coordinator& co_;
  DeliveryOptions options_;
  Mutex mu_;
  CondVar wake_;
  bool stop_ KILN_GUARDED_BY(mu_) = false;
  bool woken_ KILN_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kiln::server
