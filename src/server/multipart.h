// multipart/form-data (RFC 7578) bodies, as browsers and `curl -F` send them: the parts with
// their field name, file name (for uploads), content type and bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/form_part.h"
#include "core/status.h"

namespace kiln::server {

// The boundary parameter of a multipart/form-data Content-Type, or "" if it is not one.
std::string MultipartBoundary(std::string_view content_type);

// Splits `body` into its parts; fails, saying how, if it is malformed.
Status ParseMultipart(std::string_view body, std::string_view boundary,
                      std::vector<FormPart>& parts);

}  // namespace kiln::server
