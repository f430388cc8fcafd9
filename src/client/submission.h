// What `kiln submit` sends: the seed's imagebuild.conf or a kickstart with every local file it
// includes (the server resolves them from the request, so its messages name the user's own
// files and lines), the request fields, and .deb files to upload. URLs are left for the
// server to fetch.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "client/api_client.h"
#include "spec/spec_builder.h"

namespace kiln::client {

struct SubmitInput {
  std::string config;  // imagebuild.conf path ("" if none)
  std::string ks;      // kickstart path or URL ("" if none)
  spec::RequestFields fields;
};

// The multipart form of a submit; nullopt with `error` when a local file cannot be read.
std::optional<std::vector<FormPart>> SubmissionParts(const SubmitInput& input, std::string& error);

}  // namespace kiln::client
