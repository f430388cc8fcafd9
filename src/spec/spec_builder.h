// Turns what users write — a kickstart with request fields, the seed's imagebuild.conf, or a
// JSON request — into one validated BuildSpec. Every problem is reported, not only the first.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/build_spec.h"
#include "core/diagnostics.h"
#include "core/request_fields.h"
#include "spec/kickstart_loader.h"

namespace kiln::spec {

// The request fields (core/request_fields.h), as the builders below take them.
using RequestFields = kiln::RequestFields;

// From a kickstart file or URL plus request fields.
std::optional<BuildSpec> SpecFromKickstart(std::string_view path, const RequestFields& fields,
                                           Resolver& resolver, Diagnostics& diags);

// From kickstart text plus request fields; `name` labels the text in messages. The text is
// taken by value and let go of once parsed (move a large one in).
std::optional<BuildSpec> SpecFromKickstartText(std::string text, std::string_view name,
                                               const RequestFields& fields, Resolver& resolver,
                                               Diagnostics& diags);

// From the seed's imagebuild.conf. `config=` is read relative to the .conf file (or as a
// URL); the seed's obsolete keys are listed in BuildSpec::ignored. Request fields, when
// given, override the file.
std::optional<BuildSpec> SpecFromImagebuildConf(std::string_view path, const RequestFields& fields,
                                                Resolver& resolver, Diagnostics& diags);
std::optional<BuildSpec> SpecFromImagebuildConfText(std::string_view text, std::string_view name,
                                                    const RequestFields& fields, Resolver& resolver,
                                                    Diagnostics& diags);

// From a JSON request (DESIGN §3 field names); the kickstart inside is parsed, flattened and
// checked like a file. The JSON text is let go of once parsed, as the kickstart's text.
std::optional<BuildSpec> SpecFromJson(std::string json_text, std::string_view name,
                                      Resolver& resolver, Diagnostics& diags);

// True if `text` looks like an imagebuild.conf (its first meaningful line is a [section]).
bool LooksLikeIni(std::string_view text);

}  // namespace kiln::spec
