// The grammars of values that come from users (request fields, kickstart options) and end up
// in a file, on a command line or in a path of a build. A build host never trusts such a
// value: it is checked here against what the value may be, and refused otherwise, before any
// code uses it. No I/O.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace kiln {

// A byte below 0x20 or 0x7f (newline, tab, escape...): a line or field break in a file.
bool HasControlChar(std::string_view s);

// A package as %packages and extra packages name it: NAME[:ARCH][=VERSION]. NAME is a package
// name's characters (letters, digits, '+', '-', '.', starting with a letter or digit; upper
// case is allowed because Fedora kickstarts use it, though no Debian package has it), ARCH is
// lower case letters and digits, VERSION Debian's version characters. Never an option
// (no leading '-'), never more than one word.
bool IsPackageReference(std::string_view s);

// A user or group name as Debian's adduser accepts it: lower case letter or '_' first, then
// lower case letters, digits, '_' or '-', at most 32 characters (an optional final '$').
bool IsAccountName(std::string_view s);

// An absolute path without surprises: starts with '/', no empty, "." or ".." components, only
// letters, digits, spaces and / . _ + - @ = , (no shell or config syntax, no ':' that separates
// passwd fields, no control characters), at most 1024 bytes.
bool IsCleanAbsolutePath(std::string_view s);

// A host name: dot-separated labels of letters, digits and '-' (not at a label's ends), each
// at most 63 characters, at most 253 in all.
bool IsHostName(std::string_view s);

// A time zone name as tzdata spells them ("Europe/Prague", "UTC", "Etc/GMT+5").
bool IsTimeZoneName(std::string_view s);

// A locale ("en_US.UTF-8", "C.UTF-8", "sr_RS@latin"), a keymap or layout ("us", "cz (qwerty)",
// "de(nodeadkeys)"), a systemd unit ("sshd", "getty@tty1.service"), a network interface
// ("eth0", "enp1s0"): each its own characters, never starting with '-'.
bool IsLocaleName(std::string_view s);
bool IsKeymapName(std::string_view s);
bool IsUnitName(std::string_view s);
bool IsInterfaceName(std::string_view s);

// An IPv4 or IPv6 address literal.
bool IsIpAddress(std::string_view s);
bool IsIpv4Address(std::string_view s);

// A URL parsed by RFC 3986's grammar: SCHEME://[USERINFO@]HOST[:PORT][/PATH][?QUERY], the
// scheme one of `schemes` ("http", "ftp", ...), only the characters RFC 3986 allows
// (so no space, quote, backslash, brace or control character), a host that is a host name
// or an IP literal (empty only for file://), a port of 1-65535, no fragment. Returns the URL
// re-serialised (scheme and host in lower case), or nullopt with `why` set.
std::optional<std::string> NormalizeUrl(std::string_view url,
                                        std::initializer_list<std::string_view> schemes,
                                        std::string* why = nullptr);

// An e-mail address (addr-spec with a dot-atom local part and a host name domain).
bool IsEmailAddress(std::string_view s);

// A file name of an upload or an artifact: letters, digits, '.', '_', '+', '-', starting with
// a letter or digit, no "..", at most 255 bytes.
bool IsPlainFileName(std::string_view s);

}  // namespace kiln
