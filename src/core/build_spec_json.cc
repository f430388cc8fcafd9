#include "core/build_spec_json.h"

#include <nlohmann/json.hpp>

#include "core/request_fields.h"
#include "core/text.h"

namespace kiln {
namespace {

using nlohmann::json;

json StringList(const std::vector<std::string>& v) { return json(v); }

class Reader {
 public:
  Reader(const SourceLocation& where, Diagnostics& diags) : where_(where), diags_(diags) {}

  void Error(const std::string& field, const std::string& message, std::string hint = {}) {
    ok_ = false;
    diags_.Error(where_, field + ": " + message, std::move(hint));
  }

  bool String(const json& j, const std::string& field, std::string& out) {
    if (!j.is_string()) {
      Error(field, std::string("must be a string, not ") + j.type_name());
      return false;
    }
    out = j.get<std::string>();
    return true;
  }

  // A list of strings; a single string is taken as a one-element list.
  bool Strings(const json& j, const std::string& field, std::vector<std::string>& out) {
    out.clear();
    if (j.is_string()) {
      out.push_back(j.get<std::string>());
      return true;
    }
    if (!j.is_array()) {
      Error(field, std::string("must be a list of strings, not ") + j.type_name());
      return false;
    }
    for (size_t i = 0; i < j.size(); ++i) {
      std::string s;
      if (!String(j[i], field + "[" + std::to_string(i) + "]", s)) return false;
      out.push_back(std::move(s));
    }
    return true;
  }

  bool ok() const { return ok_; }

 private:
  const SourceLocation& where_;
  Diagnostics& diags_;
  bool ok_ = true;
};

const std::vector<std::string_view> kFields = {
    "type",  "arch",    "release", "kickstart", "kickstart_url",  "kickstart_name", "name",
    "label", "title",   "product", "version",   "extra_packages", "package_files",  "mirror",
    "proxy", "staging", "notify",  "ignored",   "dry_run",        "script_network",
};

// Sets spec.type from "type", or reports a value that is not a string or not an image type.
void ReadType(const json& value, const std::string& key, Reader& r, BuildSpec& spec) {
  std::string s;
  if (!r.String(value, key, s)) return;
  if (auto t = ParseImageType(s)) {
    spec.type = *t;
  } else {
    r.Error(key, "unknown image type '" + s + "'", "choose from live, raw, qcow2, tar, boot, dvd");
  }
}

// Sets spec.arch from "arch", or reports a value that is not a string or not an architecture.
void ReadArch(const json& value, const std::string& key, Reader& r, BuildSpec& spec) {
  std::string s;
  if (!r.String(value, key, s)) return;
  if (auto a = ParseArch(s)) {
    spec.arch = *a;
  } else {
    r.Error(key, "unknown architecture '" + s + "'", "choose from x86_64 (amd64) or i686 (i386)");
  }
}

// Replaces spec.extra_packages with the list's NAME[=VERSION] strings and {name, version}
// objects; a bad item is reported and left out, the others are kept.
void ReadExtraPackages(const json& value, const std::string& key, Reader& r, BuildSpec& spec) {
  spec.extra_packages.clear();
  if (!value.is_array()) {
    r.Error(key, "must be a list");
    return;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    std::string field = key + "[" + std::to_string(i) + "]";
    const json& item = value[i];
    ExtraPackage p;
    if (item.is_string()) {
      if (!ParseExtraPackage(item.get<std::string>(), p)) {
        r.Error(field, "'" + item.get<std::string>() + "' is not a valid package reference",
                "write NAME or NAME=VERSION");
        continue;
      }
    } else if (item.is_object() && item.contains("name") && item["name"].is_string()) {
      p.name = item["name"].get<std::string>();
      if (item.contains("version") && !r.String(item["version"], field + ".version", p.version)) {
        continue;
      }
    } else {
      r.Error(field, "must be a string NAME[=VERSION] or an object with name and version");
      continue;
    }
    spec.extra_packages.push_back(std::move(p));
  }
}

// Replaces spec.package_files with the list's {name, source (or url), sha256} objects; an
// item that is not an object is reported and left out, an unknown key is reported.
void ReadPackageFiles(const json& value, const std::string& key, Reader& r, BuildSpec& spec) {
  spec.package_files.clear();
  if (!value.is_array()) {
    r.Error(key, "must be a list");
    return;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    std::string field = key + "[" + std::to_string(i) + "]";
    const json& item = value[i];
    if (!item.is_object()) {
      r.Error(field, "must be an object with name, source and sha256");
      continue;
    }
    PackageFile f;
    for (const auto& [k, v] : item.items()) {
      if (k == "name") {
        r.String(v, field + ".name", f.name);
      } else if (k == "source" || k == "url") {
        r.String(v, field + "." + k, f.source);
      } else if (k == "sha256") {
        r.String(v, field + ".sha256", f.sha256);
      } else {
        r.Error(field + "." + k, "unknown field", "known: name, source, sha256");
      }
    }
    spec.package_files.push_back(std::move(f));
  }
}

// Sets spec.notify's email and webhook lists from the "notify" object.
void ReadNotify(const json& value, const std::string& key, Reader& r, BuildSpec& spec) {
  if (!value.is_object()) {
    r.Error(key, "must be an object with email and webhook");
    return;
  }
  for (const auto& [k, v] : value.items()) {
    if (k == "email") {
      r.Strings(v, "notify.email", spec.notify.email);
    } else if (k == "webhook") {
      r.Strings(v, "notify.webhook", spec.notify.webhook);
    } else {
      r.Error("notify." + k, "unknown field", "known: email, webhook");
    }
  }
}

}  // namespace

json BuildSpecToJson(const BuildSpec& spec) {
  json j;
  j["type"] = std::string(ToString(spec.type));
  j["arch"] = std::string(ToString(spec.arch));
  j["release"] = spec.release;
  j["kickstart"] = spec.kickstart;
  if (!spec.kickstart_url.empty()) j["kickstart_url"] = spec.kickstart_url;
  if (!spec.kickstart_name.empty()) j["kickstart_name"] = spec.kickstart_name;
  j["name"] = spec.name;
  j["label"] = spec.label;
  j["title"] = spec.title;
  j["product"] = spec.product;
  j["version"] = spec.version;
  json extra = json::array();
  for (const ExtraPackage& p : spec.extra_packages) {
    extra.push_back(p.version.empty() ? p.name : p.name + "=" + p.version);
  }
  j["extra_packages"] = extra;
  json files = json::array();
  for (const PackageFile& f : spec.package_files) {
    json o = {{"name", f.name}, {"source", f.source}};
    if (!f.sha256.empty()) o["sha256"] = f.sha256;
    files.push_back(o);
  }
  j["package_files"] = files;
  j["mirror"] = spec.mirror;
  j["proxy"] = spec.proxy;
  j["staging"] = StringList(spec.staging);
  j["notify"] = {{"email", StringList(spec.notify.email)},
                 {"webhook", StringList(spec.notify.webhook)}};
  j["ignored"] = StringList(spec.ignored);
  if (spec.dry_run) j["dry_run"] = true;  // only when set: real builds' hashes stay as they were
  if (!spec.script_network.empty()) j["script_network"] = spec.script_network;  // likewise
  return j;
}

json BuildSpecToJson(BuildSpec&& spec) {
  std::string kickstart = std::move(spec.kickstart);
  spec.kickstart.clear();
  json j = BuildSpecToJson(spec);
  j["kickstart"] = std::move(kickstart);
  return j;
}

bool BuildSpecFromJson(const json& j, BuildSpec& spec, const SourceLocation& where,
                       Diagnostics& diags) {
  Reader r(where, diags);
  if (!j.is_object()) {
    r.Error("request", std::string("must be a JSON object, not ") + j.type_name());
    return false;
  }
  for (const auto& [key, value] : j.items()) {
    std::string s;
    if (key == "type") {
      ReadType(value, key, r, spec);
    } else if (key == "arch") {
      ReadArch(value, key, r, spec);
    } else if (key == "release") {
      if (r.String(value, key, s)) spec.release = ToLower(Trim(s));
    } else if (key == "kickstart") {
      r.String(value, key, spec.kickstart);
    } else if (key == "kickstart_url") {
      r.String(value, key, spec.kickstart_url);
    } else if (key == "kickstart_name") {
      r.String(value, key, spec.kickstart_name);
    } else if (const RequestField* plain = FindRequestField(key);
               plain != nullptr && plain->spec_text) {
      r.String(value, key, spec.*(plain->spec_text));
    } else if (key == "staging") {
      r.Strings(value, key, spec.staging);
    } else if (key == "ignored") {
      r.Strings(value, key, spec.ignored);
    } else if (key == "dry_run") {
      if (value.is_boolean()) {
        spec.dry_run = value.get<bool>();
      } else {
        r.Error(key, "must be true or false");
      }
    } else if (key == "extra_packages") {
      ReadExtraPackages(value, key, r, spec);
    } else if (key == "package_files") {
      ReadPackageFiles(value, key, r, spec);
    } else if (key == "notify") {
      ReadNotify(value, key, r, spec);
    } else {
      std::string close = ClosestMatch(key, kFields);
      r.Error(key, "unknown field", close.empty() ? std::string() : "did you mean " + close + "?");
    }
  }
  return r.ok();
}

}  // namespace kiln
