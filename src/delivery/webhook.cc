#include "delivery/webhook.h"

#include <curl/curl.h>

#include <memory>

#include "core/sha256.h"

namespace kiln::delivery {

namespace {

size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  std::string t = std::to_string(unix_seconds);
  return "t=" + t + ",v1=" + HmacSha256Hex(secret, t + "." + std::string(body));
}

std::string UserWebhookSecret(std::string_view master_secret, std::string_view user) {
  return "whsec_" + HmacSha256Hex(master_secret, "webhook-secret:" + std::string(user));
}

Status PostWebhook(const std::string& url, const std::string& body, const std::string& signature,
                   const WebhookTarget& target) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Status::Error("cannot start libcurl");
  CURL* c = curl.get();
  spec::CurlAddressGuard policy{target.policy, ""};
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, curl_slist_free_all);
  for (const std::string& h : {std::string("Content-Type: application/json"),
                               "X-Kiln-Signature: " + signature, std::string("Expect:")}) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  // No redirects: a receiver that moved says so with its status, and a redirect could lead
  // the master's request somewhere the policy only checks after the fact.
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  spec::GuardConnections(c, policy);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, target.timeout_s);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, std::min(target.timeout_s, 10L));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "kiln-webhook/" KILN_VERSION);
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  CURLcode rc = curl_easy_perform(c);
  if (!policy.refusal.empty()) {
    return Status::Error("refused by the server's address policy (" + policy.refusal +
                             " address): webhooks go to public addresses only",
                         "policy");
  }
  if (rc != CURLE_OK) {
    return Status::Error(error[0] != '\0' ? error : curl_easy_strerror(rc), "unreachable");
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) {
    return Status::Error("the receiver answered HTTP " + std::to_string(status), "http-status");
  }
  return Status::Ok();
}

}  // namespace kiln::delivery
