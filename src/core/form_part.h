// One part of a multipart/form-data body (RFC 7578): what `kiln submit` sends and what the
// server's form parser reads — a text field (`filename` empty) or a file whose bytes are `data`.
#pragma once

#include <string>

namespace kiln {

struct FormPart {
  std::string name;          // the form field
  std::string data;          // its text, or the file's bytes
  std::string filename;      // set for file uploads
  std::string content_type;  // "" if the part gave none
};

}  // namespace kiln
