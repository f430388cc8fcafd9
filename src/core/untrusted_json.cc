#include "core/untrusted_json.h"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

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
  // As nlohmann's parser: negative integers signed, the others unsigned.
  bool Int(int i) { return i < 0 ? Put(static_cast<int64_t>(i)) : Put(static_cast<uint64_t>(i)); }
  bool Uint(unsigned u) { return Put(static_cast<uint64_t>(u)); }
  bool Int64(int64_t i) { return i < 0 ? Put(i) : Put(static_cast<uint64_t>(i)); }
  bool Uint64(uint64_t u) { return Put(u); }
  bool Double(double d) { return Put(d); }
  bool RawNumber(const char*, SizeType, bool) { return false; }  // not asked for
  bool String(const char* s, SizeType n, bool) {
    return !HasEncodedSurrogate(s, n) && Put(std::string(s, n));
  }
  bool Key(const char* s, SizeType n, bool) {
    if (HasEncodedSurrogate(s, n)) return false;
    key_.assign(s, n);
    return true;
  }
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
                              rapidjson::kParseFullPrecisionFlag;
  rapidjson::MemoryStream bytes(text.data(), text.size());
  // (It skips a UTF-8 byte order mark, as nlohmann's parser does.)
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(bytes);
  rapidjson::Reader reader;
  ValueBuilder builder;
  rapidjson::ParseResult ok = reader.Parse<kFlags>(in, builder);
  if (!ok) {
    if (error != nullptr) {
      // A handler's refusal is a string that is not Unicode (a lone surrogate escape).
      const char* why = ok.Code() == rapidjson::kParseErrorTermination
                            ? "Invalid encoding in string."
                            : rapidjson::GetParseError_En(ok.Code());
      *error = "not valid JSON (at byte " + std::to_string(ok.Offset()) + ": " + why + ")";
    }
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  return builder.Take();
}

}  // namespace kiln
