// What kiln's e-mails say: one when a build is accepted, one when it ends (state, duration, the
// failure's class and hint, every artifact with size, SHA-256 and link, the last log lines).
// Both parts (text and HTML) are made from the same facts; neither is ever blank.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "delivery/mail.h"

namespace kiln::delivery {

struct ArtifactSummary {
  std::string name;
  uint64_t size = 0;
  std::string sha256;
};

// A build as its messages tell it (filled from the store by the caller).
struct BuildSummary {
  int64_t id = 0;
  std::string owner, type, arch, release, name, state;
  int64_t created_ms = 0, started_ms = 0, finished_ms = 0;
  std::string error_class, error_message, error_hint;
  std::vector<ArtifactSummary> artifacts;
  std::vector<std::string> log_tail;  // the last lines of its log (20)
  bool dry_run = false;
};

// The Message-ID of a build's message `which` ("accepted", "ended"): the same for every
// recipient and every retry, unique to the build (its id and creation time), in the sender's
// domain — "<kiln-42-1796599987469.accepted@example.org>".
std::string BuildMessageId(const BuildSummary& build, const std::string& which,
                           const std::string& from_address);

// The messages, without From, To and Date (the sender fills those). `base_url` is the
// master's address as its users reach it ("https://kiln.example.org"), for the links.
Mail AcceptedMail(const BuildSummary& build, const std::string& base_url);
Mail EndedMail(const BuildSummary& build, const std::string& base_url);

}  // namespace kiln::delivery
