// Following a build from its event stream until it ends: live progress bars and a log tail
// on a terminal, plain lines on a pipe, or nothing (`--wait`). Reconnects (with the last
// event id, so nothing repeats) when the stream or the server goes away for a while.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "client/api_client.h"

namespace kiln::client {

enum class FollowMode {
  kLive,   // a terminal: redrawn stage and overall bars, the last log lines
  kPlain,  // a pipe: one line per state, stage and log line
  kQuiet,  // nothing until the end
};

struct FollowOutcome {
  std::string state;  // "succeeded", "failed", "canceled"; "" if the server's answer was lost
  std::string error;  // a failed build's error, as a line to print
};

// Follows build `id` to its end. Throws Unreachable if the server stays away for
// `give_up_after_s`, std::runtime_error for an answer that is not a stream (404, 401).
FollowOutcome FollowBuild(ApiClient& api, int64_t id, FollowMode mode, bool color,
                          std::ostream& out, int give_up_after_s = 300);

// The exit status for a build's final state: 0 succeeded, 1 failed, 2 canceled, 3 unknown.
int ExitCodeForState(const std::string& state);

}  // namespace kiln::client
