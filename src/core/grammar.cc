#include "core/grammar.h"

#include <arpa/inet.h>

#include <cstring>

#include "core/text.h"

namespace kiln {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAlnum(char c) { return IsDigit(c) || IsLower(c) || IsUpper(c); }
// c is one of `set`'s characters (never the terminating NUL).
bool InSet(const char* set, char c) { return c != '\0' && std::strchr(set, c) != nullptr; }

template <typename Pred>
bool AllOf(std::string_view s, Pred ok) {
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

// RFC 3986: unreserved, sub-delims, and what a component may add.
bool IsUnreserved(char c) { return IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }
bool IsSubDelim(char c) { return InSet("!$&'()*+,;=", c); }
bool IsPchar(char c) { return IsUnreserved(c) || IsSubDelim(c) || c == ':' || c == '@'; }

// Percent-encodings are whole: '%' and two hex digits.
bool PercentEncodingsWhole(std::string_view s) {
  auto hex = [](char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (i + 2 >= s.size() || !hex(s[i + 1]) || !hex(s[i + 2])) return false;
    i += 2;
  }
  return true;
}

void SetWhy(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
}

}  // namespace

bool HasControlChar(std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

bool IsPackageReference(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  size_t eq = s.find('=');
  std::string_view head = s.substr(0, eq);
  std::string_view version = eq == std::string_view::npos ? "" : s.substr(eq + 1);
  size_t colon = head.find(':');
  std::string_view name = head.substr(0, colon);
  std::string_view arch = colon == std::string_view::npos ? "" : head.substr(colon + 1);
  if (name.empty() || !IsAlnum(name[0]) ||
      !AllOf(name, [](char c) { return IsAlnum(c) || c == '+' || c == '-' || c == '.'; })) {
    return false;
  }
  if (colon != std::string_view::npos &&
      (arch.empty() || !AllOf(arch, [](char c) { return IsLower(c) || IsDigit(c); }))) {
    return false;
  }
  if (eq != std::string_view::npos &&
      (version.empty() || !IsAlnum(version[0]) ||
       !AllOf(version, [](char c) { return IsAlnum(c) || InSet(".+~:-", c); }))) {
    return false;
  }
  return true;
}

bool IsAccountName(std::string_view s) {
  if (!s.empty() && s.back() == '$') s.remove_suffix(1);
  if (s.empty() || s.size() > 32 || !(IsLower(s[0]) || s[0] == '_')) return false;
  return AllOf(s, [](char c) { return IsLower(c) || IsDigit(c) || c == '_' || c == '-'; });
}

bool IsCleanAbsolutePath(std::string_view s) {
  if (s.empty() || s[0] != '/' || s.size() > 1024) return false;
  if (!AllOf(s, [](char c) { return IsAlnum(c) || InSet("/._+-@=, ", c); })) return false;
  if (s == "/") return true;
  std::string_view rest = s.substr(1);
  while (true) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) return true;
    rest = rest.substr(slash + 1);
  }
}

bool IsHostName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::string_view rest = s;
  while (true) {
    size_t dot = rest.find('.');
    std::string_view label = rest.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        !AllOf(label, [](char c) { return IsAlnum(c) || c == '-'; })) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    rest = rest.substr(dot + 1);
  }
}

bool IsTimeZoneName(std::string_view s) {
  if (s.empty() || s.size() > 128 || s[0] == '/' || s.back() == '/') return false;
  std::string_view rest = s;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (part.empty() || part[0] == '.' || part[0] == '-' ||
        !AllOf(part, [](char c) { return IsAlnum(c) || InSet("_+-.", c); })) {
      return false;
    }
    if (slash == std::string_view::npos) return true;
    rest = rest.substr(slash + 1);
  }
}

bool IsLocaleName(std::string_view s) {
  return !s.empty() && s.size() <= 64 && IsAlnum(s[0]) &&
         AllOf(s, [](char c) { return IsAlnum(c) || InSet("_.@-", c); });
}

bool IsKeymapName(std::string_view s) {
  return !s.empty() && s.size() <= 64 && IsAlnum(s[0]) &&
         AllOf(s, [](char c) { return IsAlnum(c) || InSet("_.-()+ ", c); });
}

bool IsUnitName(std::string_view s) {
  return !s.empty() && s.size() <= 255 && (IsAlnum(s[0]) || s[0] == '_') &&
         AllOf(s, [](char c) { return IsAlnum(c) || InSet(":_.@-", c); });
}

bool IsInterfaceName(std::string_view s) {
  return !s.empty() && s.size() <= 15 && IsAlnum(s[0]) &&
         AllOf(s, [](char c) { return IsAlnum(c) || InSet("_.-", c); });
}

bool IsIpv4Address(std::string_view s) {
  if (s.size() > 15) return false;
  std::string text(s);
  in_addr a{};
  return inet_pton(AF_INET, text.c_str(), &a) == 1;
}

bool IsIpAddress(std::string_view s) {
  if (IsIpv4Address(s)) return true;
  if (s.size() > 45) return false;
  std::string text(s);
  in6_addr a{};
  return inet_pton(AF_INET6, text.c_str(), &a) == 1;
}

std::optional<std::string> NormalizeUrl(std::string_view url,
                                        std::initializer_list<std::string_view> schemes,
                                        std::string* why) {
  if (url.size() > 2048) {
    SetWhy(why, "longer than 2048 characters");
    return std::nullopt;
  }
  size_t sep = url.find("://");
  std::string scheme = ToLower(url.substr(0, sep == std::string_view::npos ? 0 : sep));
  bool known = false;
  std::string names;
  for (std::string_view s : schemes) {
    known = known || s == scheme;
    names += (names.empty() ? "" : ", ") + std::string(s);
  }
  if (sep == std::string_view::npos || !known) {
    SetWhy(why, "not a URL of scheme " + names);
    return std::nullopt;
  }
  std::string_view rest = url.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos) {
    SetWhy(why, "has a fragment ('#')");
    return std::nullopt;
  }
  size_t path_at = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_at);
  std::string_view path = path_at == std::string_view::npos ? "" : rest.substr(path_at);
  size_t at = authority.rfind('@');
  std::string_view userinfo = at == std::string_view::npos ? "" : authority.substr(0, at);
  std::string_view hostport = at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (!AllOf(userinfo,
             [](char c) { return IsUnreserved(c) || IsSubDelim(c) || c == ':' || c == '%'; }) ||
      !PercentEncodingsWhole(userinfo)) {
    SetWhy(why, "its user part has characters a URL cannot hold");
    return std::nullopt;
  }
  std::string_view host = hostport;
  std::string_view port;
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      SetWhy(why, "an IPv6 host without ']'");
      return std::nullopt;
    }
    host = hostport.substr(0, close + 1);
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty() && after[0] != ':') {
      SetWhy(why, "characters after the IPv6 host");
      return std::nullopt;
    }
    port = after.empty() ? "" : after.substr(1);
    if (!IsIpAddress(host.substr(1, host.size() - 2)) ||
        IsIpv4Address(host.substr(1, host.size() - 2))) {
      SetWhy(why, "'" + Printable(host) + "' is not an IPv6 address");
      return std::nullopt;
    }
  } else {
    size_t colon = hostport.find(':');
    host = hostport.substr(0, colon);
    port = colon == std::string_view::npos ? "" : hostport.substr(colon + 1);
    bool host_ok =
        host.empty()
            ? scheme == "file"
            : IsHostName(host) || IsIpv4Address(host) ||
                  (AllOf(host,
                         [](char c) { return IsAlnum(c) || c == '-' || c == '.' || c == '_'; }) &&
                   IsAlnum(host[0]));
    if (!host_ok) {
      SetWhy(why, host.empty() ? "no host" : "'" + Printable(host) + "' is not a host name");
      return std::nullopt;
    }
    if (colon != std::string_view::npos && port.empty()) {
      SetWhy(why, "an empty port");
      return std::nullopt;
    }
  }
  if (!port.empty()) {
    if (port.size() > 5 || !AllOf(port, IsDigit) || std::stoi(std::string(port)) < 1 ||
        std::stoi(std::string(port)) > 65535) {
      SetWhy(why, "port '" + Printable(port) + "' is not a number from 1 to 65535");
      return std::nullopt;
    }
  }
  if (!AllOf(path, [](char c) { return IsPchar(c) || c == '/' || c == '?' || c == '%'; }) ||
      !PercentEncodingsWhole(path)) {
    SetWhy(why,
           "its path has characters a URL cannot hold (spaces, quotes, '\\', '{', '}', "
           "'<', '>', '|', '^', '`' or control characters must be %-encoded)");
    return std::nullopt;
  }
  std::string out = scheme + "://";
  if (at != std::string_view::npos) out += std::string(userinfo) + "@";
  out += ToLower(host);
  if (!port.empty()) out += ":" + std::string(port);
  out += path;
  return out;
}

bool IsEmailAddress(std::string_view s) {
  size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || s.size() > 254) return false;
  std::string_view local = s.substr(0, at);
  std::string_view domain = s.substr(at + 1);
  if (local.size() > 64 || local.front() == '.' || local.back() == '.' ||
      local.find("..") != std::string_view::npos) {
    return false;
  }
  bool local_ok =
      AllOf(local, [](char c) { return IsAlnum(c) || InSet("!#$%&'*+/=?^_`{|}~.-", c); });
  return local_ok && domain.find('.') != std::string_view::npos && IsHostName(domain);
}

bool IsPlainFileName(std::string_view s) {
  return !s.empty() && s.size() <= 255 && IsAlnum(s[0]) && s.find("..") == std::string_view::npos &&
         AllOf(s, [](char c) { return IsAlnum(c) || InSet("._+-", c); });
}

}  // namespace kiln
