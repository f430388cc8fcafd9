#include "core/untrusted_json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

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

namespace {

// True when `s` holds a UTF-16 surrogate encoded as UTF-8 (ED A0..BF ..): what RapidJSON makes
// of a lone "\uDC00" escape, and what nlohmann's dump() would throw on later.
bool HasEncodedSurrogate(const char* s, size_t n) {
  for (const char* p = s; (p = static_cast<const char*>(std::memchr(p, '\xED', s + n - p)));) {
    ++p;
    if (p < s + n && static_cast<unsigned char>(*p) >= 0xA0) return true;
  }
  return false;
}

// Builds the nlohmann value from RapidJSON's SAX events. RapidJSON decodes each string once,
// into a buffer that grows in place; nlohmann's own lexer keeps the raw token beside the
// decoded one and grows both by copying, so a 1 MiB string cost 5 MiB while it was read.
class ValueBuilder {
 public:
  using SizeType = rapidjson::SizeType;

  bool Null() { return Put(nullptr); }
  bool Bool(bool b) { return Put(b); }
  // Numbers come as their text (kParseNumbersAsStringsFlag), read as nlohmann reads them:
  // integers signed when negative, unsigned otherwise, a double past 64 bits; other numbers
  // doubles by strtod. One past a double's range is refused (nlohmann makes it infinity,
  // which prints as null), as RapidJSON refuses an exponent past 308 (even 0e400).
  bool Int(int) { return false; }
  bool Uint(unsigned) { return false; }
  bool Int64(int64_t) { return false; }
  bool Uint64(uint64_t) { return false; }
  bool Double(double) { return false; }
  bool RawNumber(const char* s, SizeType n, bool) {
    const char* end = s + n;
    if (std::string_view(s, n).find_first_of(".eE") == std::string_view::npos) {
      if (*s == '-') {
        int64_t v = 0;
        if (auto [at, ec] = std::from_chars(s, end, v); ec == std::errc() && at == end) {
          return Put(v);
        }
      } else {
        uint64_t v = 0;
        if (auto [at, ec] = std::from_chars(s, end, v); ec == std::errc() && at == end) {
          return Put(v);
        }
      }
    }
    std::string text(s, n);  // strtod, as nlohmann: an underflow is 0, not an error
    char* stop = nullptr;
    double d = std::strtod(text.c_str(), &stop);
    if (stop != text.c_str() + n || !std::isfinite(d)) {
      refusal = "a number out of a double's range";
      return false;
    }
    return Put(d);
  }
  bool String(const char* s, SizeType n, bool) {
    if (HasEncodedSurrogate(s, n)) return Refuse();
    return Put(std::string(s, n));
  }
  bool Key(const char* s, SizeType n, bool) {
    if (HasEncodedSurrogate(s, n)) return Refuse();
    key_.assign(s, n);
    return true;
  }

  std::string refusal;  // why a handler stopped the parse
  bool StartObject() { return Open(nlohmann::json::object()); }
  bool EndObject(SizeType) { return Close(); }
  bool StartArray() { return Open(nlohmann::json::array()); }
  bool EndArray(SizeType) { return Close(); }

  nlohmann::json Take() { return std::move(root_); }

 private:
  // `value` into the innermost open array or object (under the last key: a repeated key's
  // last value wins, as with nlohmann's parser), or as the whole document.
  nlohmann::json* Place(nlohmann::json&& value) {
    if (open_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    nlohmann::json& parent = *open_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    nlohmann::json& slot = parent[key_];
    slot = std::move(value);
    return &slot;
  }
  template <typename T>
  bool Put(T&& value) {
    Place(nlohmann::json(std::forward<T>(value)));
    return true;
  }
  // An open container stays where it is: only it grows until it closes (an array's elements
  // move when the array grows, but by then the element is closed and off the stack).
  bool Open(nlohmann::json&& container) {
    open_.push_back(Place(std::move(container)));
    return true;
  }
  bool Close() {
    open_.pop_back();
    return true;
  }
  bool Refuse() {
    refusal = "a string that is not Unicode (a lone surrogate escape)";
    return false;
  }

  nlohmann::json root_;
  std::vector<nlohmann::json*> open_;
  std::string key_;
};

}  // namespace

nlohmann::json ParseUntrustedJson(std::string_view text, std::string* error) {
  if (!JsonDepthWithin(text)) {
    if (error != nullptr) {
      *error = "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    }
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  // RapidJSON's stream ends at a NUL byte; JSON text never holds one (in a string: \u0000).
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    if (error != nullptr) *error = "not valid JSON (at byte " + std::to_string(nul) + ": a NUL)";
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag |
                              rapidjson::kParseValidateEncodingFlag |
                              rapidjson::kParseNumbersAsStringsFlag;
  // A UTF-8 byte order mark is skipped, as nlohmann's parser does (RapidJSON's own skipping
  // swallows a lone 0xEF too).
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  rapidjson::MemoryStream in(text.data(), text.size());
  rapidjson::Reader reader;
  ValueBuilder builder;
  rapidjson::ParseResult ok = reader.Parse<kFlags>(in, builder);
  if (!ok) {
    if (error != nullptr) {
      std::string why = ok.Code() == rapidjson::kParseErrorTermination
                            ? builder.refusal
                            : rapidjson::GetParseError_En(ok.Code());
      *error = "not valid JSON (at byte " + std::to_string(ok.Offset()) + ": " + why + ")";
    }
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  return builder.Take();
}

std::string StringField(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t IntField(const nlohmann::json& j, const char* key, int64_t fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

}  // namespace kiln
