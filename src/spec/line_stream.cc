#include "spec/line_stream.h"

#include "core/text.h"

namespace kiln::spec {

bool LineSplitter::Next(std::string_view& line) {
  if (pos_ >= text_.size()) return false;
  size_t start = pos_;
  for (size_t i = start; i < text_.size(); ++i) {
    char c = text_[i];
    if (c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '\x1c' || c == '\x1d' ||
        c == '\x1e') {
      line = text_.substr(start, i - start);
      if (c == '\r' && i + 1 < text_.size() && text_[i + 1] == '\n') ++i;
      pos_ = i + 1;
      return true;
    }
  }
  line = text_.substr(start);
  pos_ = text_.size();
  return true;
}

bool LineStream::Start(std::string_view ref, std::string* text) {
  auto frame = std::make_unique<Frame>();
  if (text != nullptr) {
    frame->src.text = std::move(*text);
    frame->src.name = std::string(ref);
    frame->src.id = std::string(ref);
  } else if (Status read = resolver_.Read(ref, nullptr, frame->src); !read.ok()) {
    diags_.Error({std::string(ref), 0}, "Unable to open input kickstart file: " + read.message());
    return false;
  }
  frame->top_level = true;
  Push(std::move(frame));
  return true;
}

bool LineStream::Next(Line& out) {
  while (!stack_.empty()) {
    Frame& f = *stack_.back();
    std::string_view text;
    if (!f.lines.Next(text)) {
      stack_.pop_back();
      continue;
    }
    out.text.assign(text);
    out.where = {f.src.name, ++f.line_number};
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
  if (Status read = resolver_.Read(ref, from, frame->src); !read.ok()) {
    diags_.Error(where, "Unable to open input kickstart file " + QuoteIfNeeded(frame->src.name) +
                            " named by %include: " + read.message() + Chain());
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
  frame->lines = LineSplitter(frame->src.text);
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
  if (Status read = resolver_.Read(words[1], &stack_.back()->src, frame->src); !read.ok()) {
    diags_.Error(where, "Unable to open %ksappend file " + QuoteIfNeeded(frame->src.name) + ": " +
                            read.message());
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
