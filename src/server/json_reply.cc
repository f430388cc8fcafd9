#include "server/json_reply.h"

#include <nlohmann/json.hpp>

namespace kiln::server {

HttpResponse JsonReply(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.Set("Content-Type", "application/json");
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

HttpResponse JsonTextReply(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.Set("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

std::string WithSpecText(std::string object_json, std::string spec_json) {
  if (object_json.size() < 2 || object_json.back() != '}' || spec_json.empty()) {
    return object_json;
  }
  // Built in the spec's own buffer (it can hold a 1 MiB kickstart): in place when it has room
  // for the object before it, as what dump() makes usually has.
  object_json.pop_back();
  object_json += ",\"spec\":";
  spec_json.reserve(object_json.size() + spec_json.size() + 1);
  spec_json.insert(0, object_json);
  spec_json += '}';
  return spec_json;
}

HttpResponse WithSpec(HttpResponse r, std::string spec_json) {
  r.body = WithSpecText(std::move(r.body), std::move(spec_json));
  return r;
}

HttpResponse ErrorReply(int status, std::string code, std::string message, std::string hint) {
  return ErrorReply(status, std::move(code), std::move(message), std::move(hint), nullptr);
}

HttpResponse ErrorReply(int status, std::string code, std::string message, std::string hint,
                        const nlohmann::json& details) {
  nlohmann::json e = {{"code", std::move(code)}, {"message", std::move(message)}};
  if (!hint.empty()) e["hint"] = std::move(hint);
  if (!details.is_null()) e["details"] = details;
  return JsonReply(status, {{"error", e}});
}

}  // namespace kiln::server
