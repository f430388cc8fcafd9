// JSON form of a BuildSpec (DESIGN §3 field names). Kept apart from build_spec.h so that
// only the code that serializes pays for nlohmann/json.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "core/build_spec.h"

namespace kiln {

nlohmann::json BuildSpecToJson(const BuildSpec& spec);
// The same, taking the kickstart (the part that can be large) over instead of copying it:
// `spec` is left without one.
nlohmann::json BuildSpecToJson(BuildSpec&& spec);

// Reads the fields present in `json` over `spec` (absent fields keep their value). Unknown
// fields and wrong types are errors naming the field. Returns false on any error.
bool BuildSpecFromJson(const nlohmann::json& json, BuildSpec& spec, const SourceLocation& where,
                       Diagnostics& diags);

}  // namespace kiln
