#include "spec/option_parser.h"

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <unordered_map>

#include "core/text.h"

namespace kiln::spec {
namespace {

struct Spelling {
  std::string_view flag;
  const OptionSpec* option;
};

std::vector<Spelling> MakeSpellings(std::span<const OptionSpec> options) {
  std::vector<Spelling> out;
  for (const OptionSpec& o : options) {
    std::string_view flags = o.flags;
    while (!flags.empty()) {
      size_t space = flags.find(' ');
      std::string_view f = flags.substr(0, space);
      if (!f.empty()) out.push_back({f, &o});
      if (space == std::string_view::npos) break;
      flags.remove_prefix(space + 1);
    }
  }
  return out;
}

// The spellings of a table's options, computed once per table (tables are static data).
const std::vector<Spelling>& Spellings(std::span<const OptionSpec> options) {
  thread_local std::unordered_map<const OptionSpec*, std::vector<Spelling>> cache;
  if (options.empty()) {
    static const std::vector<Spelling> kNone;
    return kNone;
  }
  auto it = cache.find(options.data());
  if (it == cache.end()) it = cache.emplace(options.data(), MakeSpellings(options)).first;
  return it->second;
}

bool TakesValue(const OptionSpec& o) {
  return o.action == OptAction::kStore || o.action == OptAction::kAppend ||
         o.action == OptAction::kExtend;
}

bool LooksLikeNegativeNumber(std::string_view w) {
  if (w.size() < 2 || w[0] != '-') return false;
  bool digit = false;
  for (size_t i = 1; i < w.size(); ++i) {
    if (w[i] >= '0' && w[i] <= '9') {
      digit = true;
    } else if (w[i] != '.') {
      return false;
    }
  }
  return digit;
}

// argparse treats a word as an option if it starts with '-', is not "-" alone, not a
// negative number and has no space in it.
bool LooksLikeOption(std::string_view w) {
  if (w.size() < 2 || w[0] != '-') return false;
  if (LooksLikeNegativeNumber(w)) return false;
  if (w.find(' ') != std::string_view::npos && w.find('=') == std::string_view::npos) return false;
  return true;
}

// Python int(): optional sign, digits with single underscores between them, outer spaces.
bool ParsePythonInt(std::string_view text, long long& out) {
  std::string_view t = Trim(text);
  std::string digits;
  size_t i = 0;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    digits += t[0];
    i = 1;
  }
  bool last_digit = false;
  for (; i < t.size(); ++i) {
    char c = t[i];
    if (c >= '0' && c <= '9') {
      digits += c;
      last_digit = true;
    } else if (c == '_' && last_digit && i + 1 < t.size() && t[i + 1] >= '0' && t[i + 1] <= '9') {
      last_digit = false;
    } else {
      return false;
    }
  }
  if (digits.empty() || digits == "+" || digits == "-") return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(digits.c_str(), &end, 10);
  if (errno == ERANGE || *end != '\0') return false;
  out = v;
  return true;
}

bool ParsePythonFloat(std::string_view text, double& out) {
  std::string t(Trim(text));
  if (t.empty()) return false;
  for (char c : t) {
    if (c == 'x' || c == 'X' || c == 'p' || c == 'P' || c == '_') return false;
  }
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (*end != '\0') return false;
  out = v;
  return true;
}

std::vector<std::string> CommaSplit(std::string_view value) { return SplitNonEmpty(value, ','); }

bool InChoices(std::string_view choices, std::string_view value) {
  for (const std::string& c : SplitNonEmpty(choices, ' ')) {
    if (c == value) return true;
  }
  return false;
}

std::string ChoicesText(std::string_view choices) {
  std::string out;
  for (const std::string& c : SplitNonEmpty(choices, ' ')) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

const char* TypeName(OptType type) {
  switch (type) {
    case OptType::kInt:
      return "integer";
    case OptType::kFloat:
      return "number";
    case OptType::kBool:
      return "boolean (on/off, yes/no, true/false, 1/0)";
    default:
      return "string";
  }
}

class Parser {
 public:
  Parser(std::span<const OptionSpec> options, std::span<const RemovedOption> removed,
         std::string_view what, const SourceLocation& where, ParsedCommand& out, Diagnostics& diags)
      : options_(options),
        removed_(removed),
        what_(what),
        where_(where),
        out_(out),
        diags_(diags),
        spellings_(Spellings(options)) {}

  bool Run(std::span<const std::string> words) {
    size_t i = 0;
    bool only_positional = false;
    while (i < words.size()) {
      const std::string& w = words[i];
      if (only_positional || !LooksLikeOption(w)) {
        out_.args.push_back(w);
        ++i;
        continue;
      }
      if (w == "--") {
        only_positional = true;
        ++i;
        continue;
      }
      i = HandleOption(words, i);
    }
    CheckRequired();
    return ok_;
  }

 private:
  void Error(std::string message, std::string hint = {}) {
    ok_ = false;
    diags_.Error(where_, std::string(what_) + ": " + message, std::move(hint));
  }

  // Finds the option a word names. Sets `explicit_value` when the word carries one.
  const Spelling* Match(std::string_view word, std::optional<std::string>& explicit_value) {
    for (const Spelling& s : spellings_) {
      if (s.flag == word) return &s;
    }
    std::string_view name = word;
    if (StartsWith(word, "--")) {
      size_t eq = word.find('=');
      if (eq != std::string_view::npos) {
        name = word.substr(0, eq);
        explicit_value = std::string(word.substr(eq + 1));
        for (const Spelling& s : spellings_) {
          if (s.flag == name) return &s;
        }
      }
      // A unique prefix of a long option names it (argparse's allow_abbrev).
      std::vector<const Spelling*> candidates;
      for (const Spelling& s : spellings_) {
        if (StartsWith(s.flag, "--") && StartsWith(s.flag, name)) candidates.push_back(&s);
      }
      // Several spellings of one option are one candidate.
      if (!candidates.empty()) {
        bool same = true;
        for (const Spelling* c : candidates) same = same && c->option == candidates[0]->option;
        if (same) return candidates[0];
        std::string list;
        for (const Spelling* c : candidates) {
          if (!list.empty()) list += ", ";
          list += c->flag;
        }
        Error("option " + std::string(name) + " is ambiguous", "could be " + list);
        ambiguous_ = true;
        return nullptr;
      }
      return nullptr;
    }
    // "-ovalue": a short option with its value attached.
    if (word.size() > 2) {
      std::string_view short_flag = word.substr(0, 2);
      for (const Spelling& s : spellings_) {
        if (s.flag == short_flag) {
          explicit_value = std::string(word.substr(2));
          return &s;
        }
      }
    }
    return nullptr;
  }

  size_t HandleOption(std::span<const std::string> words, size_t i) {
    const std::string& w = words[i];
    std::optional<std::string> explicit_value;
    ambiguous_ = false;
    const Spelling* s = Match(w, explicit_value);
    if (s == nullptr) {
      if (!ambiguous_) UnknownOption(w);
      return i + 1;
    }
    const OptionSpec& o = *s->option;
    std::string value;
    bool has_value = false;
    size_t next = i + 1;
    if (TakesValue(o)) {
      if (explicit_value) {
        value = *explicit_value;
        has_value = true;
      } else if (next < words.size() && !LooksLikeOption(words[next])) {
        value = words[next];
        has_value = true;
        ++next;
      } else {
        Error("option " + std::string(s->flag) + " needs a value");
        return next;
      }
    } else if (o.action == OptAction::kOptionalValue) {
      if (explicit_value) {
        value = *explicit_value;
        has_value = true;
      } else if (next < words.size() && !LooksLikeOption(words[next])) {
        value = words[next];
        has_value = true;
        ++next;
      }
    } else if (explicit_value) {
      Error("option " + std::string(s->flag) + " takes no value",
            "write " + std::string(s->flag) + " alone");
      return next;
    }

    if (!o.deprecated.empty()) {
      diags_.Warning(where_, "Ignoring deprecated option on line " + std::to_string(where_.line) +
                                 ": The " + std::string(CanonicalFlag(o)) +
                                 " option has been deprecated and no longer has any effect. It "
                                 "may be removed from future releases, which will result in a "
                                 "fatal error from kickstart. Please modify your kickstart file "
                                 "to remove this option.");
      // The warning says it has no effect, yet pykickstart (options.py _parse_optional) only
      // warns and argparse stores the value as usual: `timezone --isUtc` still sets isUtc.
    }
    Store(o, s->flag, value, has_value);
    return next;
  }

  void Store(const OptionSpec& o, std::string_view flag, const std::string& raw, bool has_value) {
    std::string dest(o.dest);
    OptionValue v;
    switch (o.action) {
      case OptAction::kStoreTrue:
        v = true;
        break;
      case OptAction::kStoreFalse:
        v = false;
        break;
      case OptAction::kStoreConst:
      case OptAction::kAppendConst:
        v = std::string(o.const_value);
        break;
      case OptAction::kOptionalValue:
        if (!has_value) {
          v = std::string(o.const_value);
          break;
        }
        [[fallthrough]];
      case OptAction::kStore:
      case OptAction::kAppend:
      case OptAction::kExtend:
        if (!Convert(o, flag, raw, v)) return;
        break;
    }
    if (o.action == OptAction::kAppend || o.action == OptAction::kExtend ||
        o.action == OptAction::kAppendConst) {
      auto it = out_.values.find(dest);
      std::vector<std::string> list;
      if (it != out_.values.end()) {
        if (auto* old = std::get_if<std::vector<std::string>>(&it->second)) list = *old;
      }
      if (auto* s = std::get_if<std::string>(&v)) {
        list.push_back(*s);
      } else if (auto* l = std::get_if<std::vector<std::string>>(&v)) {
        list.insert(list.end(), l->begin(), l->end());
      } else if (auto* n = std::get_if<long long>(&v)) {
        list.push_back(std::to_string(*n));
      }
      v = std::move(list);
    }
    out_.values[dest] = std::move(v);
    out_.given.push_back({&o, has_value ? raw : std::string()});
  }

  bool Convert(const OptionSpec& o, std::string_view flag, const std::string& raw, OptionValue& v) {
    std::string f(flag);
    switch (o.type) {
      case OptType::kString:
        v = raw;
        break;
      case OptType::kMountpoint:
        v = NormalizePath(raw);
        break;
      case OptType::kCommaList:
        v = CommaSplit(raw);
        break;
      case OptType::kInt: {
        long long n = 0;
        if (!ParsePythonInt(raw, n)) {
          Error("option " + f + ": invalid " + TypeName(o.type) + " value '" + raw + "'");
          return false;
        }
        v = n;
        break;
      }
      case OptType::kFloat: {
        double d = 0;
        if (!ParsePythonFloat(raw, d)) {
          Error("option " + f + ": invalid " + TypeName(o.type) + " value '" + raw + "'");
          return false;
        }
        v = d;
        break;
      }
      case OptType::kBool: {
        std::string l = ToLower(raw);
        if (l == "on" || l == "yes" || l == "true" || l == "1") {
          v = true;
        } else if (l == "off" || l == "no" || l == "false" || l == "0") {
          v = false;
        } else {
          Error("option " + f + ": invalid " + TypeName(o.type) + " value '" + raw + "'");
          return false;
        }
        break;
      }
    }
    if (!o.choices.empty()) {
      std::string as_text = raw;
      if (auto* s = std::get_if<std::string>(&v)) as_text = *s;
      if (!InChoices(o.choices, as_text)) {
        std::vector<std::string_view> cands;
        auto list = SplitNonEmpty(o.choices, ' ');
        for (const auto& c : list) cands.push_back(c);
        std::string close = ClosestMatch(as_text, cands);
        Error("option " + f + ": invalid choice '" + as_text + "' (choose from " +
                  ChoicesText(o.choices) + ")",
              close.empty() ? std::string() : "did you mean " + close + "?");
        return false;
      }
    }
    return true;
  }

  void UnknownOption(const std::string& word) {
    std::string name = word.substr(0, word.find('='));
    for (const RemovedOption& r : removed_) {
      if (r.flag == name) {
        Error("option " + name + " is no longer supported (removed in pykickstart's " +
                  std::string(r.version) + " syntax)",
              "remove it from the file");
        return;
      }
    }
    std::vector<std::string_view> cands;
    for (const Spelling& s : spellings_) cands.push_back(s.flag);
    std::string close = ClosestMatch(name, cands);
    Error("unknown option " + name, close.empty() ? std::string() : "did you mean " + close + "?");
  }

  void CheckRequired() {
    for (const OptionSpec& o : options_) {
      if (o.required && o.deprecated.empty() && !out_.Has(o.dest)) {
        Error("option " + std::string(CanonicalFlag(o)) + " is required");
      }
    }
  }

  std::span<const OptionSpec> options_;
  std::span<const RemovedOption> removed_;
  std::string_view what_;
  const SourceLocation& where_;
  ParsedCommand& out_;
  Diagnostics& diags_;
  const std::vector<Spelling>& spellings_;
  bool ok_ = true;
  bool ambiguous_ = false;
};

}  // namespace

bool ParseOptions(std::span<const OptionSpec> options, std::span<const RemovedOption> removed,
                  std::string_view what, std::span<const std::string> words,
                  const SourceLocation& where, ParsedCommand& out, Diagnostics& diags) {
  Parser parser(options, removed, what, where, out, diags);
  return parser.Run(words);
}

std::string_view CanonicalFlag(const OptionSpec& option) {
  std::string_view flags = option.flags;
  std::string_view first;
  while (!flags.empty()) {
    size_t space = flags.find(' ');
    std::string_view f = flags.substr(0, space);
    if (first.empty()) first = f;
    if (StartsWith(f, "--")) return f;
    if (space == std::string_view::npos) break;
    flags.remove_prefix(space + 1);
  }
  return first;
}

std::string NormalizePath(std::string_view path) {
  if (path.empty()) return ".";
  int leading = 0;
  if (path[0] == '/') {
    leading = (path.size() > 1 && path[1] == '/' && (path.size() == 2 || path[2] != '/')) ? 2 : 1;
  }
  std::vector<std::string_view> parts;
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
        continue;
      }
      if (leading > 0) continue;  // "/.." is "/"
    }
    parts.push_back(part);
  }
  std::string out(static_cast<size_t>(leading), '/');
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  if (out.empty()) out = ".";
  return out;
}

}  // namespace kiln::spec
