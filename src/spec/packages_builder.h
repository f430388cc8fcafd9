// Merges the bodies of %packages sections the way pykickstart's Packages.add does: set
// semantics for packages and exclusions per section, the first mention of a group wins,
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
  // Adds the lines of one %packages section (comments removed, trimmed, non-empty) to `p`.
  // Each section costs its own size only: the sets live here until Finish.
  void AddSection(const std::vector<std::string>& lines, const SourceLocation& where, Packages& p,
                  Diagnostics& diags);

  // Writes the merged, sorted package lists and the remaining groups into `p`.
  void Finish(Packages& p);

 private:
  void AddGroup(std::string_view text, const SourceLocation& where, Packages& p,
                Diagnostics& diags);

  std::unordered_set<std::string> packages_, excluded_;
  // Names both added and excluded by the last section: the only ones that can be in
  // packages_ and excluded_ at once.
  std::vector<std::string> conflicts_;
  std::unordered_map<std::string, size_t> group_index_;  // live groups by name
  std::vector<bool> group_removed_;                      // per Packages::groups entry
};

}  // namespace kiln::spec
