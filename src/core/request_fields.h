// The build request's fields a user sets by name — a `kiln` flag, a JSON key, a form field,
// an imagebuild.conf key — in one table, from which the CLI flags, the JSON, form and INI
// readers, `kiln submit`'s form and the web form are all made (as the kickstart command table
// does for commands). A new field is one row here.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/build_spec.h"

namespace kiln {

// Request fields given next to a kickstart (command-line flags, form fields). Unset fields
// keep the defaults.
struct RequestFields {
  std::optional<std::string> type, arch, release;
  std::optional<std::string> name, label, title, product, version;
  std::optional<std::string> mirror, proxy;
  std::optional<std::string> script_network;  // none or outbound: what %post may reach
  std::vector<std::string> extra_packages;    // NAME or NAME=VERSION
  std::vector<std::string> staging;
  std::vector<std::string> email;
};

struct RequestField {
  std::string_view key;    // the JSON key and form field (and imagebuild.conf key, see `conf`)
  std::string_view flag;   // kiln's command-line flag; "" = none
  std::string_view label;  // the web form's label
  std::string_view help;   // the flag's help and the form's hint
  // Where a given value goes in RequestFields: one text, or a repeatable list.
  std::optional<std::string> RequestFields::*text = nullptr;
  std::vector<std::string> RequestFields::*list = nullptr;
  // The spec's text that takes the value as it is (type, arch and release are parsed, the
  // lists split: those have none).
  std::string BuildSpec::*spec_text = nullptr;
  // An imagebuild.conf key whose value is copied to `spec_text` as it is.
  bool conf = false;
  // The image types the field means something for ("live,raw"); "" = every type. The web
  // form shows a field only for those.
  std::string_view types = "";
  // The seed's web form's label for the field (its BuildConfigForm), shown beside kiln's.
  std::string_view seed_label = "";
};

// The table, in the order forms and help show the fields.
std::span<const RequestField> RequestFieldTable();
// The field with that key, or null.
const RequestField* FindRequestField(std::string_view key);

}  // namespace kiln
