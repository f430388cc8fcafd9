#include "server/multipart.h"

#include "core/text.h"

namespace kiln::server {

namespace {

// The value of `param` in a header value like `form-data; name="x"; filename="y"`.
std::string Param(std::string_view header, std::string_view param) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t semi = header.find(';', pos);
    std::string_view item = Trim(
        header.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos));
    pos = semi == std::string_view::npos ? header.size() : semi + 1;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    if (ToLower(Trim(item.substr(0, eq))) != param) continue;
    std::string_view value = Trim(item.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      std::string out;
      for (size_t i = 1; i + 1 < value.size(); ++i) {
        if (value[i] == '\\' && i + 2 < value.size()) ++i;
        out += value[i];
      }
      return out;
    }
    return std::string(value);
  }
  return {};
}

}  // namespace

std::string MultipartBoundary(std::string_view content_type) {
  if (!StartsWith(ToLower(content_type), "multipart/form-data")) return {};
  std::string b = Param(content_type, "boundary");
  return b.size() <= 200 ? b : std::string();
}

Status ParseMultipart(std::string_view body, std::string_view boundary,
                      std::vector<FormPart>& parts) {
  if (boundary.empty()) {
    return Status::Error("multipart body without a boundary");
  }
  std::string delimiter = "--" + std::string(boundary);
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) {
    return Status::Error("the multipart body does not contain its boundary");
  }
  pos += delimiter.size();
  for (;;) {
    if (body.substr(pos, 2) == "--") return Status::Ok();  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n") {
      return Status::Error("malformed multipart delimiter line");
    }
    pos += 2;
    size_t headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos) {
      return Status::Error("a multipart part has no end of headers");
    }
    FormPart part;
    std::string_view headers = body.substr(pos, headers_end - pos);
    while (!headers.empty()) {
      size_t eol = headers.find("\r\n");
      std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name = ToLower(Trim(line.substr(0, colon)));
      std::string_view value = Trim(line.substr(colon + 1));
      if (name == "content-disposition") {
        part.name = Param(value, "name");
        part.filename = Param(value, "filename");
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    pos = headers_end + 4;
    std::string next = "\r\n" + delimiter;
    size_t end = body.find(next, pos);
    if (end == std::string_view::npos) {
      return Status::Error("a multipart part is not closed by the boundary (truncated upload?)");
    }
    part.data = std::string(body.substr(pos, end - pos));
    if (part.name.empty()) {
      return Status::Error("a multipart part has no field name");
    }
    parts.push_back(std::move(part));
    pos = end + next.size();
  }
}

}  // namespace kiln::server
