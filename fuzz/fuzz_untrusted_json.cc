// libFuzzer target: ParseUntrustedJson against nlohmann's own parser. What kiln accepts,
// nlohmann accepts as the same value, and the other way round (kiln refuses numbers past a
// double and exponents past 308, where nlohmann makes infinity or 0); whatever kiln accepts
// prints again without throwing.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "core/untrusted_json.h"

namespace {

bool HasNonFinite(const nlohmann::json& j) {
  if (j.is_number_float()) return !std::isfinite(j.get<double>());
  if (j.is_structured()) {
    for (const nlohmann::json& e : j) {
      if (HasNonFinite(e)) return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string why;
  nlohmann::json ours = kiln::ParseUntrustedJson(text, &why);
  // nlohmann's lexer takes a NUL byte for the end of the text; kiln refuses the text.
  if (text.find('\0') != std::string::npos) {
    if (!ours.is_discarded()) std::abort();
    return 0;
  }
  if (!kiln::JsonDepthWithin(text)) {
    if (!ours.is_discarded()) std::abort();
    return 0;
  }
  nlohmann::json theirs = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (ours.is_discarded()) {
    // kiln refuses numbers past a double (nlohmann: infinity) and exponents past 308.
    bool stricter = HasNonFinite(theirs) || why.find("Number too big") != std::string::npos;
    if (!theirs.is_discarded() && !stricter) std::abort();
    return 0;
  }
  if (theirs.is_discarded() || ours != theirs) std::abort();
  try {
    if (ours.dump() != theirs.dump()) std::abort();
  } catch (const nlohmann::json::exception&) {
    std::abort();
  }
  return 0;
}
