// Merges the bodies of %packages sections the way pykickstart's Packages.add does, called
// for each line on its own (PackageSection.handleLine): a later "-foo" removes an earlier
// "foo" and a later "foo" an earlier "-foo", the first mention of a group wins,
// -@group cancels an earlier @group, the last @^environment wins.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/diagnostics.h"
#include "spec/kickstart.h"

namespace kiln::spec {

class PackagesBuilder {
 public:
  // Adds one line of a %packages section (comment removed, trimmed, non-empty) to `p`. The
  // sets live here until Finish, so each line costs its own size only.
  void AddLine(const std::string& line, const SourceLocation& where, Packages& p,
               Diagnostics& diags);

  // Writes the merged, sorted package lists and the remaining groups into `p`.
  void Finish(Packages& p);

 private:
  void AddGroup(std::string_view text, const SourceLocation& where, Packages& p,
                Diagnostics& diags);

  std::unordered_set<std::string> packages_, excluded_;  // never holding the same name
  std::unordered_map<std::string, size_t> group_index_;  // live groups by name
  std::vector<bool> group_removed_;                      // per Packages::groups entry
};

}  // namespace kiln::spec
