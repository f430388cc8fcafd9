// What `kiln submit` sends: the seed's imagebuild.conf or a kickstart with every local file it
// includes (the server resolves them from the request, so its messages name the user's own
// files and lines), the request fields, and .deb files to upload. URLs are left for the
// server to fetch.
#pragma once

#include <string>
#include <vector>

#include "client/api_client.h"
#include "core/status.h"
#include "spec/spec_builder.h"

namespace kiln::client {

struct SubmitInput {
  std::string config;  // imagebuild.conf path ("" if none)
  std::string ks;      // kickstart path or URL ("" if none)
  spec::RequestFields fields;
};

// The multipart form of a submit; fails when a local file cannot be read.
Result<std::vector<FormPart>> SubmissionParts(const SubmitInput& input);

}  // namespace kiln::client
