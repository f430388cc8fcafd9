// The life of a build on the service: queued → running → succeeded | failed | canceled.
// No I/O here; the store persists these names.
#pragma once

#include <optional>
#include <string_view>

namespace kiln {

enum class BuildState { kQueued, kRunning, kSucceeded, kFailed, kCanceled };

std::string_view ToString(BuildState state);  // "queued", "running", ...
std::optional<BuildState> ParseBuildState(std::string_view text);
// Succeeded, failed and canceled builds never change state again (a retry is a new attempt
// that puts the build back to queued explicitly).
bool IsFinal(BuildState state);

// Users build images; admins also see and act on every build and manage users; workers
// (build hosts) only speak the worker protocol.
enum class Role { kUser, kAdmin, kWorker };
std::string_view ToString(Role role);  // "user", "admin", "worker"
std::optional<Role> ParseRole(std::string_view text);

}  // namespace kiln
