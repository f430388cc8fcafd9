// A Server-Sent Events parser (the WHATWG event-stream format): bytes in, whole events out.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace kiln::client {

struct SseEvent {
  std::string id;     // "" if the event had none
  std::string event;  // "message" if the event had none
  std::string data;   // data lines joined with '\n'
};

class SseParser {
 public:
  // Feeds bytes as they arrive (any split); calls `on_event` per complete event. Returns
  // false as soon as `on_event` does (the rest of the input is dropped).
  bool Feed(std::string_view bytes, const std::function<bool(const SseEvent&)>& on_event);

 private:
  bool Line(std::string_view line, const std::function<bool(const SseEvent&)>& on_event);

  std::string partial_;  // an incomplete line
  std::string id_, event_, data_;
  bool has_data_ = false;
};

}  // namespace kiln::client
