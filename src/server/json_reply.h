// JSON answers and the API's error shape: {"error": {"code", "message", "hint"?, "details"?}}.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "server/http_types.h"

namespace kiln::server {

HttpResponse JsonReply(int status, const nlohmann::json& body);
HttpResponse ErrorReply(int status, std::string code, std::string message, std::string hint = {});
HttpResponse ErrorReply(int status, std::string code, std::string message, std::string hint,
                        const nlohmann::json& details);

}  // namespace kiln::server
