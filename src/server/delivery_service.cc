#include "server/delivery_service.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "delivery/messages.h"
#include "delivery/webhook.h"

namespace kiln::server {
namespace {

constexpr size_t kLogTailLines = 20;

// The last lines of the build's log: its file, or (a dry run keeps none) its log events.
std::vector<std::string> LogTail(Coordinator& co, int64_t id) {
  std::vector<std::string> lines;
  std::ifstream in(co.LogPath(id), std::ios::binary);
  if (in) {
    in.seekg(0, std::ios::end);
    std::streamoff size = in.tellg();
    std::streamoff from = std::max<std::streamoff>(0, size - 16384);
    in.seekg(from);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t at = 0;
    if (from > 0) at = text.find('\n') + 1;  // a cut line is no line
    while (at < text.size()) {
      size_t end = text.find('\n', at);
      if (end == std::string::npos) end = text.size();
      lines.push_back(text.substr(at, end - at));
      at = end + 1;
    }
  } else {
    for (const store::Event& e : co.store().EventsAfter(id, 0, 100000)) {
      if (e.kind != "log") continue;
      nlohmann::json data = nlohmann::json::parse(e.data, nullptr, false);
      if (data.is_object()) lines.push_back(data.value("line", ""));
    }
  }
  if (lines.size() > kLogTailLines) lines.erase(lines.begin(), lines.end() - kLogTailLines);
  for (std::string& line : lines) line = Printable(line, 400);
  return lines;
}

std::optional<delivery::BuildSummary> Summary(Coordinator& co, int64_t id) {
  std::optional<store::Build> b = co.store().GetBuild(id);
  if (!b) return std::nullopt;
  delivery::BuildSummary s;
  s.id = b->id;
  s.owner = b->owner;
  s.type = b->type;
  s.arch = b->arch;
  s.release = b->release;
  s.name = b->name;
  s.state = std::string(ToString(b->state));
  s.created_ms = b->created_ms;
  s.started_ms = b->started_ms;
  s.finished_ms = b->finished_ms;
  s.error_class = b->error_class;
  s.error_message = b->error_message;
  s.error_hint = b->error_hint;
  s.dry_run = b->dry_run;
  if (b->artifacts_removed_ms == 0) {
    for (const store::Artifact& a : co.store().Artifacts(id)) {
      s.artifacts.push_back({a.name, static_cast<uint64_t>(a.size), a.sha256});
    }
  }
  if (IsFinal(b->state)) s.log_tail = LogTail(co, id);
  return s;
}

}  // namespace

DeliveryService::DeliveryService(Coordinator& co, DeliveryOptions options)
    : co_(co), options_(std::move(options)) {}

DeliveryService::~DeliveryService() { Stop(); }

void DeliveryService::Start() {
  co_.store().EnableDeliveries(options_.smtp.has_value(), true);
  thread_ = std::thread([this] { Loop(); });
}

void DeliveryService::Stop() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  wake_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

void DeliveryService::Wake() {
  {
    MutexLock lock(mu_);
    woken_ = true;
  }
  wake_.NotifyAll();
}

void DeliveryService::Loop() {
  while (true) {
    try {
      RunDue();
    } catch (const std::exception& e) {
      // The store failed (a full disk, say): the rows are still there; try again later.
      std::cerr << "kiln serve: deliveries: " << e.what() << "\n";
    }
    int64_t next = 0;
    try {
      next = co_.store().NextDeliveryMs();
    } catch (const std::exception&) {
      next = 0;
    }
    int64_t now = co_.NowMs();
    // Sleep until the next one is due or a wake; at most a second, which is also how soon a
    // build that ended is noticed (its rows come with the change, no call wakes this).
    int64_t wait_ms = next > 0 ? std::clamp<int64_t>(next - now, 0, 1000) : 1000;
    MutexLock lock(mu_);
    wake_.WaitFor(mu_, std::chrono::milliseconds(wait_ms),
                  [this]() KILN_REQUIRES(mu_) { return stop_ || woken_; });
    if (stop_) return;
    woken_ = false;
  }
}

int DeliveryService::RunDue() {
  int tried = 0;
  for (;;) {
    std::vector<store::Delivery> due = co_.store().DueDeliveries(co_.NowMs(), 16);
    if (due.empty()) return tried;
    for (const store::Delivery& d : due) {
      std::string error = Deliver(d);
      int64_t now = co_.NowMs();
      nlohmann::json event = {
          {"kind", d.kind}, {"target", d.target}, {"what", d.what}, {"attempt", d.attempts + 1}};
      if (error.empty()) {
        co_.store().DeliveryDone(d.id, now);
        event["state"] = "delivered";
      } else {
        int64_t retry_at = RetryAt(d, now);
        co_.store().DeliveryFailed(d.id, error, retry_at, now);
        event["state"] = retry_at > 0 ? "retrying" : "failed";
        event["error"] = error;
        if (retry_at > 0) event["next_try"] = IsoTimeMs(retry_at);
      }
      co_.AddEvent(d.build_id, "delivery", event.dump());
      ++tried;
      MutexLock lock(mu_);
      if (stop_) return tried;
    }
  }
}

int64_t DeliveryService::RetryAt(const store::Delivery& d, int64_t now) const {
  int shift = std::min(d.attempts, 20);
  int64_t backoff = std::min(options_.max_retry_ms, options_.first_retry_ms << shift);
  int64_t at = now + backoff;
  int64_t give_up =
      d.kind == "webhook" ? options_.webhook_give_up_after_ms : options_.give_up_after_ms;
  return at - d.created_ms > give_up ? 0 : at;
}

std::string DeliveryService::Deliver(const store::Delivery& d) {
  if (d.kind == "email") return SendBuildMail(d);
  if (d.kind == "webhook") return SendWebhook(d);
  if (d.kind == "staging") return Stage(d);
  return "this master does not deliver '" + d.kind + "' yet";
}

// The body: which change it tells of ("state": the state the build went into, and its
// attempt), and the build as it is now (it may have moved on while a try waited).
std::string DeliveryService::SendWebhook(const store::Delivery& d) {
  std::optional<store::Build> b = co_.store().GetBuild(d.build_id);
  if (!b) return "the build is gone";
  // what = "state:STATE:ATTEMPT"
  std::vector<std::string> parts = SplitNonEmpty(d.what, ':');
  std::string api = options_.base_url + "/api/v1/builds/" + std::to_string(b->id);
  nlohmann::json build = {{"id", b->id},
                          {"state", std::string(ToString(b->state))},
                          {"type", b->type},
                          {"arch", b->arch},
                          {"release", b->release},
                          {"name", b->name},
                          {"owner", b->owner},
                          {"url", api},
                          {"page", options_.base_url + "/builds/" + std::to_string(b->id)}};
  if (!b->error_code.empty()) {
    build["error"] = {{"code", b->error_code},
                      {"class", b->error_class},
                      {"message", b->error_message},
                      {"hint", b->error_hint}};
  }
  if (b->state == BuildState::kSucceeded && b->artifacts_removed_ms == 0) {
    nlohmann::json files = nlohmann::json::array();
    for (const store::Artifact& a : co_.store().Artifacts(b->id)) {
      files.push_back({{"name", a.name},
                       {"size", a.size},
                       {"sha256", a.sha256},
                       {"url", api + "/artifacts/" + a.name}});
    }
    build["artifacts"] = files;
  }
  nlohmann::json body = {{"event", "build.state"},
                         {"state", parts.size() > 1 ? parts[1] : ""},
                         {"attempt", parts.size() > 2 ? std::stoi(parts[2]) : 0},
                         {"delivery", d.id},
                         {"build", build}};
  std::string text = body.dump();
  int64_t now_s = co_.NowMs() / 1000;
  std::string secret = delivery::UserWebhookSecret(options_.webhook_secret, b->owner);
  Status sent =
      delivery::PostWebhook(d.target, text, delivery::WebhookSignature(secret, now_s, text),
                            {options_.address_policy, 10});
  return sent.ok() ? "" : sent.message();
}

// The build's files (SHA256SUMS among them) into the target's kiln-build-ID/.
std::string DeliveryService::Stage(const store::Delivery& d) {
  std::optional<store::Build> b = co_.store().GetBuild(d.build_id);
  if (!b) return "the build is gone";
  if (b->artifacts_removed_ms > 0) return "the build's files were removed by retention";
  std::vector<delivery::StagedFile> files;
  for (const store::Artifact& a : co_.store().Artifacts(b->id)) {
    files.push_back(
        {co_.ArtifactDir(b->id) / a.name, a.name, static_cast<uint64_t>(a.size), a.sha256});
  }
  if (files.empty()) return "the build has no files to stage";
  Status staged =
      delivery::StageFiles(options_.staging, d.target, b->id, files, options_.address_policy);
  return staged.ok() ? "" : staged.message();
}

std::string DeliveryService::SendBuildMail(const store::Delivery& d) {
  if (!options_.smtp) return "no [smtp] server is configured";
  std::optional<delivery::BuildSummary> build = Summary(co_, d.build_id);
  if (!build) return "the build is gone";
  const delivery::SmtpConfig& smtp = *options_.smtp;
  bool accepted = d.what == "accepted";
  delivery::Mail mail = accepted ? delivery::AcceptedMail(*build, options_.base_url)
                                 : delivery::EndedMail(*build, options_.base_url);
  mail.from = smtp.from;
  mail.to = d.target;
  mail.message_id = delivery::BuildMessageId(*build, d.what, smtp.from);
  if (!accepted) mail.in_reply_to = delivery::BuildMessageId(*build, "accepted", smtp.from);
  mail.date_ms = co_.NowMs();
  Result<std::string> rendered = delivery::RenderMail(mail);
  if (!rendered.ok()) return rendered.message();
  Status sent = delivery::SendMail(smtp, d.target, *rendered);
  return sent.ok() ? "" : sent.message();
}

}  // namespace kiln::server
