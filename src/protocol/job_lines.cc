#include "protocol/job_lines.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/untrusted_json.h"

namespace kiln::protocol {
using nlohmann::json;

namespace {

constexpr std::pair<JobLine::Kind, std::string_view> kKinds[] = {
    {JobLine::Kind::kLog, "log"},           {JobLine::Kind::kStage, "stage"},
    {JobLine::Kind::kProgress, "progress"}, {JobLine::Kind::kStageDone, "stage_done"},
    {JobLine::Kind::kResult, "result"},
};

double NumberField(const json& j, const char* key, double fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

}  // namespace

JobLine LogLine(std::string text) {
  JobLine line;
  line.kind = JobLine::Kind::kLog;
  line.text = std::move(text);
  return line;
}

JobLine StageLine(int index, int count, std::string stage, std::string why) {
  JobLine line;
  line.kind = JobLine::Kind::kStage;
  line.index = index;
  line.count = count;
  line.stage = std::move(stage);
  line.why = std::move(why);
  return line;
}

JobLine ProgressLine(std::string stage, double fraction, std::string message) {
  JobLine line;
  line.kind = JobLine::Kind::kProgress;
  line.stage = std::move(stage);
  line.fraction = fraction;
  line.message = std::move(message);
  return line;
}

JobLine StageDoneLine(std::string stage, std::string outcome, int64_t ms) {
  JobLine line;
  line.kind = JobLine::Kind::kStageDone;
  line.stage = std::move(stage);
  line.outcome = std::move(outcome);
  line.ms = ms;
  return line;
}

JobLine SucceededLine(std::string image, std::string sha256) {
  JobLine line;
  line.kind = JobLine::Kind::kResult;
  line.ok = true;
  line.image = std::move(image);
  line.sha256 = std::move(sha256);
  return line;
}

JobLine FailedLine(std::string stage, std::string error_class, std::string code,
                   std::string message, std::string hint) {
  JobLine line;
  line.kind = JobLine::Kind::kResult;
  line.stage = std::move(stage);
  line.error_class = std::move(error_class);
  line.code = std::move(code);
  line.message = std::move(message);
  line.hint = std::move(hint);
  return line;
}

std::string EncodeJobLine(const JobLine& line) {
  json j;
  switch (line.kind) {
    case JobLine::Kind::kLog:
      j = {{"event", "log"}, {"line", line.text}};
      break;
    case JobLine::Kind::kStage:
      j = {{"event", "stage"},
           {"index", line.index},
           {"count", line.count},
           {"stage", line.stage},
           {"why", line.why}};
      break;
    case JobLine::Kind::kProgress:
      j = {{"event", "progress"},
           {"stage", line.stage},
           {"fraction", line.fraction},
           {"message", line.message}};
      break;
    case JobLine::Kind::kStageDone:
      j = {{"event", "stage_done"},
           {"stage", line.stage},
           {"outcome", line.outcome},
           {"ms", line.ms}};
      break;
    case JobLine::Kind::kResult:
      j = {{"event", "result"}, {"ok", line.ok}};
      if (line.ok) {
        j["image"] = line.image;
        j["sha256"] = line.sha256;
      } else {
        j["stage"] = line.stage;
        j["class"] = line.error_class;
        j["code"] = line.code;
        j["message"] = line.message;
        j["hint"] = line.hint;
      }
      break;
    case JobLine::Kind::kForeign:
      return line.text;
  }
  // Tool output is not always UTF-8; replace what is not rather than fail.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

JobLine DecodeJobLine(std::string_view text) {
  JobLine line;
  json j = ParseUntrustedJson(text);
  std::string event = StringField(j, "event");
  auto kind = std::find_if(std::begin(kKinds), std::end(kKinds),
                           [&event](const auto& k) { return k.second == event; });
  if (kind == std::end(kKinds)) {
    line.kind = JobLine::Kind::kForeign;
    line.text = std::string(text);
    return line;
  }
  line.kind = kind->first;
  line.text = StringField(j, "line");
  line.stage = StringField(j, "stage");
  line.index = static_cast<int>(IntField(j, "index", 0));
  line.count = static_cast<int>(IntField(j, "count", 1));
  line.why = StringField(j, "why");
  line.fraction = NumberField(j, "fraction", 0);
  line.message = StringField(j, "message");
  line.outcome = StringField(j, "outcome");
  line.ms = IntField(j, "ms", 0);
  auto ok = j.find("ok");
  line.ok = ok != j.end() && ok->is_boolean() && ok->get<bool>();
  line.image = StringField(j, "image");
  line.sha256 = StringField(j, "sha256");
  line.error_class = StringField(j, "class");
  line.code = StringField(j, "code");
  line.hint = StringField(j, "hint");
  return line;
}

}  // namespace kiln::protocol
