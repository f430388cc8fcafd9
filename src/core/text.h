// Small string helpers shared by the parsers. No I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

std::string_view Trim(std::string_view s);
std::string ToLower(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);

// Splits on `sep`, trimming each piece and dropping empty ones ("a; b;;" -> {a, b}).
std::vector<std::string> SplitNonEmpty(std::string_view s, char sep);

// The pieces with `sep` between them.
std::string Join(const std::vector<std::string>& pieces, std::string_view sep);

// Edit distance (with swaps of neighbours), for "did you mean" hints.
int EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a plausible typo, else "".
std::string ClosestMatch(std::string_view word, const std::vector<std::string_view>& candidates);

// Text as a double-quoted string when it needs quoting for a shell-like reader
// (empty, whitespace, quotes, backslash or '#'), otherwise unchanged.
std::string QuoteIfNeeded(std::string_view s);

// A user's value as an error message shows it: control characters as \n, \t or \xNN (so a
// message never breaks a log line), cut to `max` bytes with "..." after.
std::string Printable(std::string_view s, size_t max = 120);

// A byte count as people read it: "512 B", "1.5 KiB", "2.0 GiB".
std::string HumanBytes(uint64_t bytes);

// Text for an HTML page or e-mail: & < > " ' as character references.
std::string EscapeHtml(std::string_view text);

// Whether a comma-separated list such as a worker's releases ("bookworm,trixie") names
// `value`; an empty list names everything.
bool CommaListAllows(std::string_view list, std::string_view value);

// A time as ISO 8601 UTC: seconds since the epoch -> "2026-12-06T16:08:46Z"; milliseconds ->
// "2026-12-06T16:08:46.123Z" ("" for a time <= 0, which means "not yet").
std::string IsoTime(int64_t seconds);
std::string IsoTimeMs(int64_t ms);

}  // namespace kiln
