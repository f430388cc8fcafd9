#include "spec/line_stream.h"

#include "core/text.h"

namespace kiln::spec {

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '\x1c' || c == '\x1d' ||
        c == '\x1e') {
      lines.push_back(text.substr(start, i - start));
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

bool LineStream::Start(std::string_view ref, std::string* text) {
  auto frame = std::make_unique<Frame>();
  std::string error;
  if (text != nullptr) {
    frame->src.text = std::move(*text);
    frame->src.name = std::string(ref);
    frame->src.id = std::string(ref);
  } else if (!resolver_.Read(ref, nullptr, frame->src, error)) {
    diags_.Error({std::string(ref), 0}, "Unable to open input kickstart file: " + error);
    return false;
  }
  frame->top_level = true;
  Push(std::move(frame));
  return true;
}

bool LineStream::Next(Line& out) {
  while (!stack_.empty()) {
    Frame& f = *stack_.back();
    if (f.next >= f.lines.size()) {
      stack_.pop_back();
      continue;
    }
    size_t index = f.next++;
    std::string_view text = f.lines[index];
    out.text.assign(text);
    out.where = {f.src.name, static_cast<int>(index) + 1};
    // %ksappend is expanded where it stands in the top-level file only (pykickstart's
    // preprocessing step), in any state, before the parser sees the line.
    if (f.top_level && StartsWith(Trim(text), "%ksappend")) {
      Append(text, out.where);
      continue;
    }
    return true;
  }
  return false;
}

void LineStream::Include(std::string_view ref, const SourceLocation& where) {
  if (!follow_includes_) return;
  const LoadedText* from = stack_.empty() ? nullptr : &stack_.back()->src;
  auto frame = std::make_unique<Frame>();
  std::string error;
  if (!resolver_.Read(ref, from, frame->src, error)) {
    diags_.Error(where, "Unable to open input kickstart file " + QuoteIfNeeded(frame->src.name) +
                            " named by %include: " + error + Chain());
    return;
  }
  for (const auto& f : stack_) {
    if (f->src.id == frame->src.id) {
      diags_.Error(where, "%include cycle: " + ChainNames() + " -> " + frame->src.name,
                   "an included file must not include itself, directly or indirectly");
      return;
    }
  }
  if (static_cast<int>(stack_.size()) > max_include_depth_) {
    diags_.Error(where, "%include nesting deeper than " + std::to_string(max_include_depth_) +
                            ": " + ChainNames());
    return;
  }
  Push(std::move(frame));
}

void LineStream::Push(std::unique_ptr<Frame> frame) {
  frame->lines = SplitLines(frame->src.text);
  files_.push_back(frame->src.name);
  stack_.push_back(std::move(frame));
}

void LineStream::Append(std::string_view line, const SourceLocation& where) {
  std::vector<std::string> words = SplitNonEmpty(Trim(line), ' ');
  if (words.size() < 2) {
    diags_.Error(where, "Illegal url for %ksappend: " + std::string(Trim(line)),
                 "write %ksappend followed by a path or URL");
    return;
  }
  auto frame = std::make_unique<Frame>();
  std::string error;
  if (!resolver_.Read(words[1], &stack_.back()->src, frame->src, error)) {
    diags_.Error(where,
                 "Unable to open %ksappend file " + QuoteIfNeeded(frame->src.name) + ": " + error);
    return;
  }
  Push(std::move(frame));
}

std::string LineStream::ChainNames() const {
  std::string out;
  for (const auto& f : stack_) {
    if (!out.empty()) out += " -> ";
    out += f->src.name;
  }
  return out;
}

std::string LineStream::Chain() const {
  if (stack_.size() <= 1) return {};
  return " (include chain: " + ChainNames() + ")";
}

}  // namespace kiln::spec
