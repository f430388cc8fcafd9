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
