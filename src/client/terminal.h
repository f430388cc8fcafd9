// What the CLI prints for people: aligned tables, progress bars, sizes and durations, and
// colour only on a terminal (never with NO_COLOR set, never with TERM=dumb).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.h"

namespace kiln::client {

// True if `fd` is a terminal.
bool IsTerminal(int fd);
// Colour for output on `fd`: a terminal, NO_COLOR unset or empty, TERM not "dumb".
bool ColorFor(int fd);

enum class Color { kNone, kRed, kGreen, kYellow, kBlue, kDim, kBold };
// `text` wrapped in the colour's escape codes when `on`.
std::string Paint(std::string_view text, Color color, bool on);
// The colour people expect for a build state (succeeded green, failed red, ...).
Color StateColor(std::string_view state);

// Rows under a header, columns padded to their widest cell (by characters, not bytes).
// `colors[i]`, when given, paints column i of the body; padding stays outside the colour.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::string Render(bool color, const std::vector<Color (*)(std::string_view)>& colors = {}) const;
};

// "[#########-----------]" for 0..1, `width` characters between the brackets.
std::string Bar(double fraction, int width);
// (core/text.h) 1536 -> "1.5 KiB".
using ::kiln::HumanBytes;
// 83 -> "1m23s"; 3725 -> "1h02m"; 4 -> "4s".
std::string HumanSeconds(double seconds);
// Characters of UTF-8 text (for column widths).
size_t DisplayWidth(std::string_view text);

}  // namespace kiln::client
