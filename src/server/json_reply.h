// JSON answers and the API's error shape: {"error": {"code", "message", "hint"?, "details"?}}.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "server/http_types.h"

namespace kiln::server {

HttpResponse JsonReply(int status, const nlohmann::json& body);
// An answer whose JSON text is already made.
HttpResponse JsonTextReply(int status, std::string body);

// A JSON object's text with "spec" added as the store holds it: JSON text kiln wrote, so
// parsing and printing it again for every answer would be wasted work. An empty spec or a
// text that is not an object is left as it is.
std::string WithSpecText(std::string object_json, std::string spec_json);
HttpResponse WithSpec(HttpResponse r, std::string spec_json);
HttpResponse ErrorReply(int status, std::string code, std::string message, std::string hint = {});
HttpResponse ErrorReply(int status, std::string code, std::string message, std::string hint,
                        const nlohmann::json& details);

}  // namespace kiln::server
