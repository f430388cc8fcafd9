// Base64 (RFC 4648, with padding), for MIME bodies and headers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kiln {

std::string Base64Encode(std::string_view bytes);
// The bytes of base64 text (line breaks allowed between groups); nullopt if it is not base64.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace kiln
