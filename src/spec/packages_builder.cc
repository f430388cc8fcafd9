#include "spec/packages_builder.h"

#include <algorithm>

#include "core/text.h"

namespace kiln::spec {

void PackagesBuilder::AddLine(const std::string& line, const SourceLocation& where, Packages& p,
                              Diagnostics& diags) {
  if (StartsWith(line, "@^")) {
    p.environment = line.substr(2);
  } else if (line[0] == '@') {
    AddGroup(line.substr(1), where, p, diags);
  } else if (line[0] != '-') {
    packages_.insert(line);
    excluded_.erase(line);
  } else if (line.size() == 1) {
    diags.Error(where, "%packages: a line holds only '-'", "write -NAME to exclude a package");
  } else if (StartsWith(line, "-@^")) {
    if (p.environment && *p.environment == line.substr(3)) p.environment.reset();
  } else if (line[1] == '@') {
    // An excluded group cancels one given before (often through %include).
    std::string name = line.substr(2);
    auto it = group_index_.find(name);
    if (it != group_index_.end()) {
      group_removed_[it->second] = true;
      group_index_.erase(it);
    }
    p.excluded_groups.push_back({name, GroupInclude::kDefault});
  } else {
    std::string name = line.substr(1);
    packages_.erase(name);
    excluded_.insert(std::move(name));
  }
}

void PackagesBuilder::AddGroup(std::string_view text, const SourceLocation& where, Packages& p,
                               Diagnostics& diags) {
  bool nodefaults = false, optional = false;
  std::string name;
  for (const std::string& word : SplitNonEmpty(text, ' ')) {
    // The group options, with argparse's unique-prefix matching.
    if (word.size() > 2 && StartsWith(word, "--") && StartsWith("--nodefaults", word)) {
      nodefaults = true;
    } else if (word.size() > 2 && StartsWith(word, "--") && StartsWith("--optional", word)) {
      optional = true;
    } else {
      if (!name.empty()) name += ' ';
      name += word;
    }
  }
  if (nodefaults && optional) {
    diags.Error(where, "Group cannot specify both --nodefaults and --optional");
    return;
  }
  // The first mention of a group decides how much of it is installed.
  if (group_index_.count(name) != 0) return;
  group_index_[name] = p.groups.size();
  group_removed_.push_back(false);
  p.groups.push_back({name, nodefaults ? GroupInclude::kRequired
                            : optional ? GroupInclude::kAll
                                       : GroupInclude::kDefault});
}

void PackagesBuilder::Finish(Packages& p) {
  std::vector<PackageGroup> kept;
  for (size_t i = 0; i < p.groups.size(); ++i) {
    if (!group_removed_[i]) kept.push_back(std::move(p.groups[i]));
  }
  p.groups = std::move(kept);
  p.packages.assign(packages_.begin(), packages_.end());
  p.excluded.assign(excluded_.begin(), excluded_.end());
  std::sort(p.packages.begin(), p.packages.end());
  std::sort(p.excluded.begin(), p.excluded.end());
}

}  // namespace kiln::spec
