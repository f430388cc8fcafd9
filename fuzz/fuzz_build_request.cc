// libFuzzer target: a JSON build request as the API takes it (POST /api/v1/builds, each item of
// a batch) — the untrusted-JSON parse with its depth limit, the request's fields, the kickstart
// it carries (with %include served from memory) and the checks every spec passes. Nothing may
// crash or leak; an accepted request must print as JSON that parses again.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "core/build_spec_json.h"
#include "core/diagnostics.h"
#include "core/untrusted_json.h"
#include "spec/kickstart_loader.h"
#include "spec/spec_builder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  kiln::spec::MemoryResolver resolver;
  resolver.Add("parts/a.ks", "timezone Etc/UTC\n%packages\njq\n%end\n");
  kiln::Diagnostics diags;
  std::optional<kiln::BuildSpec> spec = kiln::spec::SpecFromJson(text, "request", resolver, diags);
  if (spec) {
    std::string printed = kiln::BuildSpecToJson(*spec).dump();
    if (kiln::ParseUntrustedJson(printed).is_discarded()) std::abort();
  }
  return 0;
}
