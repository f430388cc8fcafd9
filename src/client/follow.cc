#include "client/follow.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <thread>

#include "client/terminal.h"

namespace kiln::client {
namespace {
using nlohmann::json;
using Clock = std::chrono::steady_clock;

int TerminalWidth() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) return ws.ws_col;
  return 100;
}

std::string Clip(std::string_view text, size_t width) {
  std::string out;
  size_t chars = 0;
  for (char c : text) {
    if (c == '\t') c = ' ';
    if (static_cast<unsigned char>(c) < 0x20) continue;  // no escape sequences from the log
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80 && ++chars > width) break;
    out += c;
  }
  return out;
}

std::string Percent(double fraction) {
  return std::to_string(static_cast<int>(std::clamp(fraction, 0.0, 1.0) * 100 + 1e-9)) + "%";
}

// The screen of a followed build and the lines it prints.
class View {
 public:
  View(int64_t id, FollowMode mode, bool color, std::ostream& out)
      : id_(id), mode_(mode), color_(color), out_(out), width_(TerminalWidth()) {}

  // One event; false once the build has ended.
  bool Event(const SseEvent& ev) {
    json d = json::parse(ev.data, nullptr, false);
    if (!d.is_object()) d = json::object();
    const std::string& kind = ev.event;
    if (kind == "end") {
      outcome_.state = d.value("state", "");
      Redraw(true);
      return false;
    }
    if (kind == "state") {
      state_ = d.value("state", state_);
      if (d.contains("attempt") && d["attempt"].is_number()) attempt_ = d["attempt"];
      if (d.contains("worker") && d["worker"].is_string()) worker_ = d["worker"];
      std::string line = "state " + state_;
      if (state_ == "running" && !worker_.empty()) {
        line += " on " + worker_ + " (attempt " + std::to_string(attempt_) + ")";
      }
      if (d.contains("detail") && d["detail"].is_string())
        line += ": " + d["detail"].get<std::string>();
      Permanent(line);
    } else if (kind == "stage") {
      stage_ = d.value("stage", "");
      index_ = d.value("index", 0);
      count_ = std::max(1, d.value("count", 1));
      stage_fraction_ = 0;
      overall_ = d.value("progress", overall_);
      message_ = d.value("why", "");
      Permanent("stage " + std::to_string(index_ + 1) + "/" + std::to_string(count_) + " " +
                stage_ + (message_.empty() ? "" : ": " + message_));
    } else if (kind == "progress") {
      overall_ = d.value("progress", overall_);
      // The stage's own fraction, or what the overall figure implies.
      stage_fraction_ = d.contains("stage_progress") && d["stage_progress"].is_number()
                            ? d["stage_progress"].get<double>()
                            : std::clamp(overall_ * count_ - index_, 0.0, 1.0);
      message_ = d.value("message", message_);
      Redraw(false);
    } else if (kind == "stage_done") {
      overall_ = d.value("progress", overall_);
      stage_fraction_ = 1;
      double ms = d.value("ms", 0.0);
      Permanent("stage " + d.value("stage", stage_) + " " + d.value("outcome", "done") + " in " +
                HumanSeconds(ms / 1000));
    } else if (kind == "log") {
      std::string line = d.value("line", "");
      if (mode_ == FollowMode::kPlain) {
        out_ << line << "\n" << std::flush;
      } else if (mode_ == FollowMode::kLive) {
        tail_.push_back(std::move(line));
        if (tail_.size() > kTailLines) tail_.pop_front();
        Redraw(false);
      }
    } else if (kind == "cancel") {
      Permanent("cancel requested");
    }
    return true;
  }

  // A notice between reconnects ("connection lost, reconnecting").
  void Notice(const std::string& text) {
    if (text == notice_) return;  // once per outage
    notice_ = text;
    if (mode_ == FollowMode::kPlain) out_ << "kiln: " << text << "\n" << std::flush;
    Redraw(true);
  }
  void ClearNotice() { notice_.clear(); }

  FollowOutcome& outcome() { return outcome_; }

  // Leaves the last screen in place: later output goes below it.
  void Finish() { drawn_ = 0; }

 private:
  static constexpr size_t kTailLines = 6;

  void Permanent(const std::string& line) {
    if (mode_ == FollowMode::kQuiet) return;
    if (mode_ == FollowMode::kPlain) {
      out_ << "kiln: " << line << "\n" << std::flush;
      return;
    }
    Erase();
    out_ << Paint(Clip(line, width_), Color::kDim, color_) << "\n";
    Redraw(true);
  }

  void Erase() {
    if (drawn_ > 0) out_ << "\033[" << drawn_ << "F\033[J";
    drawn_ = 0;
  }

  void Redraw(bool force) {
    if (mode_ != FollowMode::kLive) return;
    Clock::time_point now = Clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    Erase();
    int bar = std::clamp(width_ - 50, 10, 40);
    double elapsed = std::chrono::duration<double>(now - start_).count();
    std::string state = outcome_.state.empty() ? state_ : outcome_.state;
    std::vector<std::string> lines;
    lines.push_back(Paint("build " + std::to_string(id_), Color::kBold, color_) + " " +
                    Paint(state, StateColor(state), color_) + "  " + HumanSeconds(elapsed) +
                    (notice_.empty() ? "" : "  " + Paint(notice_, Color::kYellow, color_)));
    if (!stage_.empty()) {
      std::string label = "stage " + std::to_string(index_ + 1) + "/" + std::to_string(count_);
      lines.push_back("  " + label + " " + Bar(stage_fraction_, bar) + " " +
                      Percent(stage_fraction_) + "  " +
                      Clip(stage_ + (message_.empty() ? "" : ": " + message_), width_ / 2));
      std::string pad(label.size() > 5 ? label.size() - 5 : 0, ' ');
      lines.push_back("  total" + pad + " " + Bar(overall_, bar) + " " + Percent(overall_));
    }
    for (const std::string& l : tail_) {
      lines.push_back(
          Paint("  | " + Clip(l, static_cast<size_t>(width_ - 5)), Color::kDim, color_));
    }
    for (const std::string& l : lines) out_ << l << "\n";
    out_ << std::flush;
    drawn_ = static_cast<int>(lines.size());
  }

  int64_t id_;
  FollowMode mode_;
  bool color_;
  std::ostream& out_;
  int width_;
  FollowOutcome outcome_;
  std::string state_ = "queued", worker_, stage_, message_, notice_;
  int attempt_ = 1, index_ = 0, count_ = 1;
  double stage_fraction_ = 0, overall_ = 0;
  std::deque<std::string> tail_;
  int drawn_ = 0;
  Clock::time_point start_ = Clock::now(), last_draw_{};
};

}  // namespace

int ExitCodeForState(const std::string& state) {
  if (state == "succeeded") return 0;
  if (state == "failed") return 1;
  if (state == "canceled") return 2;
  return 3;
}

FollowOutcome FollowBuild(ApiClient& api, int64_t id, FollowMode mode, bool color,
                          std::ostream& out, int give_up_after_s) {
  View view(id, mode, color, out);
  std::string last_id;
  bool ended = false;
  Clock::time_point away_since{};
  std::string path = "/api/v1/builds/" + std::to_string(id) + "/events";
  while (!ended) {
    std::vector<std::string> headers;
    if (!last_id.empty()) headers.push_back("Last-Event-ID: " + last_id);
    long status = 0;
    try {
      status = api.Stream(path, headers, [&](const SseEvent& ev) {
        if (!ev.id.empty()) last_id = ev.id;
        if (away_since != Clock::time_point{}) {
          away_since = {};
          view.ClearNotice();
        }
        ended = !view.Event(ev);
        return !ended;
      });
    } catch (const Unreachable&) {
      if (away_since == Clock::time_point{}) away_since = Clock::now();
      if (Clock::now() - away_since > std::chrono::seconds(give_up_after_s)) {
        view.Finish();
        throw;
      }
      view.Notice("the server is away; reconnecting");
      std::this_thread::sleep_for(std::chrono::seconds(2));
      continue;
    }
    if (ended) break;
    if (status != 0 && status != 200) {
      view.Finish();
      Reply r = api.Get("/api/v1/builds/" + std::to_string(id));
      throw std::runtime_error(
          DescribeError(r.status >= 400 ? r : Reply{status, "", {}}, api.connection()));
    }
    // The stream ended without its end event: the connection dropped. Resume after the
    // last event seen.
    view.Notice("the event stream dropped; reconnecting");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  view.Finish();
  FollowOutcome outcome = view.outcome();
  if (outcome.state == "failed") {
    Reply r = api.Get("/api/v1/builds/" + std::to_string(id));
    json b = json::parse(r.body, nullptr, false);
    if (b.is_object() && b.contains("error") && b["error"].is_object()) {
      const json& e = b["error"];
      outcome.error = e.value("message", "") + " [" + e.value("code", "") + "]";
      if (!e.value("hint", "").empty()) outcome.error += "\n  hint: " + e.value("hint", "");
    }
  }
  return outcome;
}

}  // namespace kiln::client
