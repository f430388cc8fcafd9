// The worker API's messages through the codecs both ends use (server/worker_api.cc decodes
// what worker/http_link.cc encodes, and the other way round): every message round-trips, and
// what the protocol forbids is refused with the code the master answers with.
#include "protocol/worker_messages.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/untrusted_json.h"

namespace kiln::protocol {

// Events are equal when their kinds and data (as JSON values) are.
bool operator==(const Event& a, const Event& b) {
  return a.kind == b.kind && nlohmann::json::parse(a.data) == nlohmann::json::parse(b.data);
}

namespace {
using nlohmann::json;

// As the other end sees a message: text parsed as untrusted JSON.
json Wire(const std::string& text) {
  json j = ParseUntrustedJson(text);
  EXPECT_FALSE(j.is_discarded()) << text;
  return j;
}

void ExpectSameResult(const JobResult& a, const JobResult& b) {
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.error_code, b.error_code);
  EXPECT_EQ(a.error_class, b.error_class);
  EXPECT_EQ(a.error_message, b.error_message);
  EXPECT_EQ(a.error_hint, b.error_hint);
}

JobResult Failure() {
  JobResult r;
  r.state = BuildState::kFailed;
  r.error_code = "post-script-failed";
  r.error_class = "user";
  r.error_message = "%post exited with 3";
  r.error_hint = "see the log";
  return r;
}

TEST(WorkerMessagesTest, HeaderAndRegistrationRoundTrip) {
  WorkerInfo w{"host1/2", "x86_64,aarch64", "bookworm", "raw", "0.9", 4};
  json body = Wire(EncodeRegister(w));
  Result<CallHeader> header = DecodeHeader(body, false);
  ASSERT_TRUE(header.ok()) << header.message();
  EXPECT_EQ(header->worker, "host1/2");
  WorkerInfo back = DecodeRegister(body);
  EXPECT_EQ(back.arches, w.arches);
  EXPECT_EQ(back.releases, w.releases);
  EXPECT_EQ(back.types, w.types);
  EXPECT_EQ(back.version, w.version);
  EXPECT_EQ(back.capacity, 4);
  EXPECT_EQ(DecodeHeader(Wire(EncodeAlive("w")), false)->worker, "w");
}

TEST(WorkerMessagesTest, ClaimsRoundTrip) {
  WorkerCaps caps{"w", "x86_64", "bookworm,trixie", "iso"};
  json one = Wire(EncodeClaim(caps, 45'000));
  EXPECT_EQ(DecodeHeader(one, false)->lease_ms, 45'000);
  WorkerCaps back = DecodeCaps(one);
  EXPECT_EQ(back.arches, "x86_64");
  EXPECT_EQ(back.releases, "bookworm,trixie");
  EXPECT_EQ(back.types, "iso");
  Result<std::vector<int64_t>> ids = DecodeClaimIds(Wire(EncodeClaims(caps, 45'000, {7, 9})));
  ASSERT_TRUE(ids.ok()) << ids.message();
  EXPECT_EQ(*ids, (std::vector<int64_t>{7, 9}));
}

TEST(WorkerMessagesTest, TicketsRoundTripWithTheSpecAsStored) {
  JobTicket t{12, 3, R"({"name":"x","dry_run":false,"kickstart":"part / --size 2"})", true};
  Result<JobTicket> back = DecodeTicket(Wire(EncodeTicket(t, 30'000)));
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->build_id, 12);
  EXPECT_EQ(back->attempt, 3);
  EXPECT_TRUE(back->dry_run);  // the ticket's own field, not the spec's
  EXPECT_EQ(json::parse(back->spec_json), json::parse(t.spec_json));

  std::vector<std::optional<JobTicket>> tickets = {t, std::nullopt};
  json answer = Wire(EncodeClaimsAnswer({12, 13}, tickets, 30'000));
  EXPECT_EQ(answer["not_claimable"], json::array({13}));
  Result<std::vector<std::optional<JobTicket>>> decoded = DecodeClaimsAnswer(answer, {12, 13});
  ASSERT_TRUE(decoded.ok()) << decoded.message();
  ASSERT_TRUE((*decoded)[0].has_value());
  EXPECT_EQ((*decoded)[0]->attempt, 3);
  EXPECT_FALSE((*decoded)[1].has_value());
}

TEST(WorkerMessagesTest, AnOlderMastersTicketSaysDryRunInItsSpec) {
  Result<JobTicket> t = DecodeTicket(Wire(R"({"build_id":1,"attempt":1,"spec":{"dry_run":true}})"));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->dry_run);
}

TEST(WorkerMessagesTest, LeaseAnswersRoundTrip) {
  for (LeaseStatus s : {LeaseStatus::kHeld, LeaseStatus::kCancelRequested, LeaseStatus::kLost}) {
    EXPECT_EQ(DecodeLeaseAnswer(Wire(EncodeLeaseAnswer(s))), s);
  }
  EXPECT_EQ(DecodeLeaseAnswer(Wire(R"({"lease":"maybe"})")), LeaseStatus::kLost);
  json heartbeat = Wire(EncodeHeartbeat({"w", 2, 20'000}));
  Result<CallHeader> header = DecodeHeader(heartbeat, true);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->attempt, 2);
  EXPECT_EQ(header->lease_ms, 20'000);
}

TEST(WorkerMessagesTest, EventsAndProgressRoundTrip) {
  std::vector<Event> events = {{"log", R"({"line":"caf\u00e9"})"},
                               {"stage", R"({"index":1,"total":4,"name":"bootstrap"})"}};
  json body = Wire(EncodeEvents({"w", 1, 0}, events, Progress{"bootstrap", 0.25}));
  Result<std::vector<Event>> back = DecodeEvents(body);
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(*back, events);
  std::optional<Progress> p = DecodeProgress(body);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->stage, "bootstrap");
  EXPECT_DOUBLE_EQ(p->fraction, 0.25);
  EXPECT_FALSE(DecodeProgress(Wire(EncodeEvents({"w", 1, 0}, {}, std::nullopt))).has_value());
}

TEST(WorkerMessagesTest, ResultsRoundTripAloneAndInBatches) {
  json one = Wire(EncodeResult({"w", 2, 0}, Failure(), {{"plan", R"({"stages":[]})"}}));
  EXPECT_EQ(DecodeHeader(one, true)->attempt, 2);
  Result<JobResult> r = DecodeResult(one);
  ASSERT_TRUE(r.ok()) << r.message();
  ExpectSameResult(*r, Failure());
  EXPECT_EQ(DecodeEvents(one)->size(), 1u);

  JobResult ok;
  ok.state = BuildState::kSucceeded;
  std::vector<AttemptResult> sent = {{5, 1, ok, {}}, {6, 2, Failure(), {}}};
  Result<std::vector<AttemptResult>> back = DecodeResults(Wire(EncodeResults("w", sent)));
  ASSERT_TRUE(back.ok()) << back.message();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[1].id, 6);
  EXPECT_EQ((*back)[1].attempt, 2);
  ExpectSameResult((*back)[1].result, Failure());

  Result<std::vector<bool>> recorded =
      DecodeResultsAnswer(Wire(EncodeResultsAnswer(sent, {true, false})), {5, 6});
  ASSERT_TRUE(recorded.ok());
  EXPECT_EQ(*recorded, (std::vector<bool>{true, false}));
}

TEST(WorkerMessagesTest, UploadStatusRoundTrips) {
  json ask = Wire(EncodeUploadStatus({"w", 1, 0}, "kiln.raw"));
  EXPECT_EQ(StringField(ask, "name"), "kiln.raw");
  EXPECT_EQ(DecodeUploadStatusAnswer(Wire(EncodeUploadStatusAnswer("kiln.raw", 1u << 31))),
            1u << 31);
  EXPECT_EQ(DecodeHeader(Wire(EncodeHandBack({"w", 4, 0})), true)->attempt, 4);
}

TEST(WorkerMessagesTest, WhatTheProtocolForbidsIsRefusedWithItsCode) {
  auto code = [](const Status& s) { return s.ok() ? std::string("ok") : s.code(); };
  EXPECT_EQ(code(DecodeHeader(Wire(R"({})"), false).status()), "bad-worker");
  EXPECT_EQ(code(DecodeHeader(Wire(R"({"worker":"w"})"), true).status()), "bad-attempt");
  EXPECT_EQ(code(DecodeHeader(Wire(R"({"worker":"w","attempt":-1})"), true).status()),
            "bad-attempt");
  EXPECT_EQ(code(DecodeClaimIds(Wire(R"({"builds":[]})")).status()), "bad-batch");
  EXPECT_EQ(code(DecodeClaimIds(Wire(R"({"builds":[1,"2"]})")).status()), "bad-batch");
  EXPECT_EQ(code(DecodeEvents(Wire(R"({"events":[{"kind":"state","data":{}}]})")).status()),
            "bad-event");
  EXPECT_EQ(code(DecodeEvents(Wire(R"({"events":[{"kind":"log","data":"x"}]})")).status()),
            "bad-event");
  EXPECT_EQ(code(DecodeResult(Wire(R"({"state":"running"})")).status()), "bad-state");
  EXPECT_EQ(code(DecodeResults(Wire(R"({"results":[{"build_id":1,"state":"failed"}]})")).status()),
            "bad-batch");
  EXPECT_EQ(code(DecodeTicket(Wire(R"({"build_id":1,"attempt":1})")).status()), "bad-ticket");
  // A lease is clamped, not refused.
  EXPECT_EQ(DecodeHeader(Wire(R"({"worker":"w","lease_ms":1})"), false)->lease_ms, kMinLeaseMs);
  EXPECT_EQ(DecodeHeader(Wire(R"({"worker":"w","lease_ms":9e12})"), false)->lease_ms,
            kDefaultLeaseMs);
}

}  // namespace
}  // namespace kiln::protocol
