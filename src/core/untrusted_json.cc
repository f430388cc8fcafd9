#include "core/untrusted_json.h"

#include <nlohmann/json.hpp>

namespace kiln {

bool JsonDepthWithin(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

nlohmann::json ParseUntrustedJson(std::string_view text, std::string* error) {
  if (!JsonDepthWithin(text)) {
    if (error != nullptr) {
      *error = "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    }
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() && error != nullptr) *error = "not valid JSON";
  return value;
}

}  // namespace kiln
