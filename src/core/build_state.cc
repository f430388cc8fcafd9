#include "core/build_state.h"

namespace kiln {

namespace {
constexpr std::string_view kStateNames[] = {"queued", "running", "succeeded", "failed", "canceled"};
}  // namespace

std::string_view ToString(BuildState state) { return kStateNames[static_cast<int>(state)]; }

std::optional<BuildState> ParseBuildState(std::string_view text) {
  for (int i = 0; i < 5; ++i) {
    if (kStateNames[i] == text) return static_cast<BuildState>(i);
  }
  return std::nullopt;
}

bool IsFinal(BuildState state) {
  return state == BuildState::kSucceeded || state == BuildState::kFailed ||
         state == BuildState::kCanceled;
}

std::string_view ToString(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kWorker:
      return "worker";
    case Role::kUser:
      break;
  }
  return "user";
}

std::optional<Role> ParseRole(std::string_view text) {
  if (text == "admin") return Role::kAdmin;
  if (text == "user") return Role::kUser;
  if (text == "worker") return Role::kWorker;
  return std::nullopt;
}

}  // namespace kiln
