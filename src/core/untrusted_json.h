// JSON that comes from outside kiln's process (request bodies, workers' events, broker
// messages): parsed only when its arrays and objects nest no deeper than kMaxJsonDepth, so no
// later walk over the value (dump(), a copy, the conversions) can run out of stack however
// the text was made. The check is one pass over the text, before any value is built.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace kiln {

// Far deeper than any request kiln takes (a build request nests 4 levels).
constexpr int kMaxJsonDepth = 64;

// True when `text`'s arrays and objects (outside strings) nest at most `max_depth` deep.
bool JsonDepthWithin(std::string_view text, int max_depth = kMaxJsonDepth);

// The value of `text`, or a discarded value (is_discarded()) when it is not JSON or nests too
// deep; then `error`, if given, says which ("not valid JSON", "nested deeper than 64 levels").
nlohmann::json ParseUntrustedJson(std::string_view text, std::string* error = nullptr);

// A member of an object that may lack it or hold another type (or a value that is no object):
// its string, or "".
std::string StringField(const nlohmann::json& j, const char* key);
// Its integer, or `fallback`.
int64_t IntField(const nlohmann::json& j, const char* key, int64_t fallback);

}  // namespace kiln
