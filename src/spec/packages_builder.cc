#include "spec/packages_builder.h"

#include <algorithm>
#include <set>

#include "core/text.h"

namespace kiln::spec {

void PackagesBuilder::AddSection(const std::vector<std::string>& lines, const SourceLocation& where,
                                 Packages& p, Diagnostics& diags) {
  std::set<std::string> new_packages, new_excluded;
  std::vector<std::string> new_excluded_groups;
  for (const std::string& line : lines) {
    if (StartsWith(line, "@^")) {
      p.environment = line.substr(2);
    } else if (line[0] == '@') {
      AddGroup(line.substr(1), where, p, diags);
    } else if (line[0] == '-') {
      if (line.size() == 1) {
        diags.Error(where, "%packages: a line holds only '-'", "write -NAME to exclude a package");
      } else if (StartsWith(line, "-@^")) {
        if (p.environment && *p.environment == line.substr(3)) p.environment.reset();
      } else if (line[1] == '@') {
        new_excluded_groups.push_back(line.substr(2));
      } else {
        new_excluded.insert(line.substr(1));
      }
    } else {
      new_packages.insert(line);
    }
  }
  // An excluded group cancels one given before (often through %include).
  for (const std::string& name : new_excluded_groups) {
    auto it = group_index_.find(name);
    if (it != group_index_.end()) {
      group_removed_[it->second] = true;
      group_index_.erase(it);
    }
    p.excluded_groups.push_back({name, GroupInclude::kDefault});
  }
  // packages = (packages - new_excluded) | new_packages
  // excluded = (excluded - packages) | new_excluded
  // Before this section, packages and excluded overlap only in the previous section's
  // conflicts (a name both added and excluded there), so only those and the new packages
  // can leave `excluded`.
  for (const std::string& x : new_excluded) packages_.erase(x);
  packages_.insert(new_packages.begin(), new_packages.end());
  for (const std::string& x : new_packages) excluded_.erase(x);
  for (const std::string& x : conflicts_) {
    if (packages_.count(x) != 0) excluded_.erase(x);
  }
  excluded_.insert(new_excluded.begin(), new_excluded.end());
  conflicts_.clear();
  for (const std::string& x : new_packages) {
    if (new_excluded.count(x) != 0) conflicts_.push_back(x);
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
