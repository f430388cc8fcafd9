#include "client/terminal.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace kiln::client {

bool IsTerminal(int fd) { return isatty(fd) != 0; }

bool ColorFor(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return IsTerminal(fd);
}

std::string Paint(std::string_view text, Color color, bool on) {
  if (!on || color == Color::kNone) return std::string(text);
  const char* code = "";
  switch (color) {
    case Color::kRed:
      code = "31";
      break;
    case Color::kGreen:
      code = "32";
      break;
    case Color::kYellow:
      code = "33";
      break;
    case Color::kBlue:
      code = "34";
      break;
    case Color::kDim:
      code = "2";
      break;
    case Color::kBold:
      code = "1";
      break;
    case Color::kNone:
      break;
  }
  return "\033[" + std::string(code) + "m" + std::string(text) + "\033[0m";
}

Color StateColor(std::string_view state) {
  if (state == "succeeded") return Color::kGreen;
  if (state == "failed") return Color::kRed;
  if (state == "canceled") return Color::kYellow;
  if (state == "running") return Color::kBlue;
  return Color::kNone;
}

size_t DisplayWidth(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++n;  // count lead bytes only
  }
  return n;
}

std::string Table::Render(bool color,
                          const std::vector<Color (*)(std::string_view)>& colors) const {
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto line = [&](const std::vector<std::string>& row, bool is_header) {
    std::string text;
    for (size_t i = 0; i < widths.size(); ++i) {
      std::string cell = i < row.size() ? row[i] : "";
      size_t pad = widths[i] - DisplayWidth(cell);
      Color c = Color::kNone;
      if (is_header) {
        c = Color::kBold;
      } else if (i < colors.size() && colors[i] != nullptr) {
        c = colors[i](cell);
      }
      text += Paint(cell, c, color);
      if (i + 1 < widths.size()) text += std::string(pad + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  };
  line(header, true);
  for (const auto& row : rows) line(row, false);
  return out;
}

std::string Bar(double fraction, int width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  int filled = static_cast<int>(fraction * width + 1e-9);
  return "[" + std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(width - filled), '-') + "]";
}

std::string HumanSeconds(double seconds) {
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%lds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  }
  return buf;
}

}  // namespace kiln::client
