// Webhooks: a JSON body POSTed to a user's URL at every state change of their build, signed
// so that the receiver can tell it came from this master and was not replayed:
//   X-Kiln-Signature: t=UNIX_SECONDS,v1=HEX(HMAC-SHA256(secret, "UNIX_SECONDS." + body))
// (the scheme Stripe and others use). The connection obeys the server's address policy as
// its fetches do: no loopback, link-local or private address unless the admin opened it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "spec/fetch_policy.h"

namespace kiln::delivery {

// The signature header's value for `body` sent at `unix_seconds`.
std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body);

// A user's signing secret, derived from the master's own: each user verifies with theirs
// (GET /api/v1/webhook-secret), and one leaked secret says nothing of another user's.
std::string UserWebhookSecret(std::string_view master_secret, std::string_view user);

struct WebhookTarget {
  const spec::AddressPolicy* policy = nullptr;  // null: any address (tests)
  long timeout_s = 10;
};

// POSTs `body` (application/json) with the signature header; a 2xx answer is delivered,
// anything else an error naming the status or the connection's failure.
Status PostWebhook(const std::string& url, const std::string& body, const std::string& signature,
                   const WebhookTarget& target);

}  // namespace kiln::delivery
