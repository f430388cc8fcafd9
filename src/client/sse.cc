#include "client/sse.h"

namespace kiln::client {

bool SseParser::Feed(std::string_view bytes, const std::function<bool(const SseEvent&)>& on_event) {
  partial_.append(bytes);
  size_t start = 0;
  while (true) {
    size_t end = partial_.find_first_of("\r\n", start);
    if (end == std::string::npos) break;
    // "\r\n" is one line end; a lone '\r' at the end of the buffer may be the first half.
    if (partial_[end] == '\r' && end + 1 == partial_.size()) break;
    std::string_view line(partial_.data() + start, end - start);
    size_t next = end + 1;
    if (partial_[end] == '\r' && partial_[next] == '\n') ++next;
    if (!Line(line, on_event)) {
      partial_.clear();
      return false;
    }
    start = next;
  }
  partial_.erase(0, start);
  return true;
}

bool SseParser::Line(std::string_view line, const std::function<bool(const SseEvent&)>& on_event) {
  if (line.empty()) {
    bool keep_going = true;
    if (has_data_) {
      SseEvent ev{id_, event_.empty() ? "message" : event_, data_};
      keep_going = on_event(ev);
    }
    event_.clear();
    data_.clear();
    has_data_ = false;
    return keep_going;
  }
  if (line.front() == ':') return true;  // a comment (keep-alive)
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_ = std::string(value);
  } else if (field == "id") {
    // The last event ID persists across events, as in a browser's EventSource.
    if (value.find('\0') == std::string_view::npos) id_ = std::string(value);
  }
  return true;
}

}  // namespace kiln::client
