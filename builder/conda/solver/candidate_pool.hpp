#pragma once
// The candidate records of one solve, loaded one name at a time as the
// search reaches it. Loading a name asks the PackageSource once, parses the
// versions, applies strict channel priority and sorts the records by
// preference; the records become consecutive solver variables, best first,
// so "the best unassigned candidate" is the first unassigned one.
#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "builder/conda/package_record.hpp"
#include "builder/conda/package_source.hpp"
#include "builder/conda/solver/literal.hpp"
#include "builder/conda/solver/solver.hpp"
#include "builder/conda/version.hpp"

namespace envbuild::builder::conda::solver {

using NameId = uint32_t;

struct Candidate {
  const PackageRecord* record;
  const CondaVersion* version;  // shared by the records of one version (its builds)
  NameId name;
};

struct NameEntry {
  std::string name;
  bool is_virtual = false;
  bool loaded = false;
  Var first = 0;  // candidates are variables first .. first + count - 1, best first
  uint32_t count = 0;
  std::size_t source_records = 0;  // what the source (or the virtual list) had
  // Records of lower-priority channels dropped by strict channel priority,
  // best first: an explanation says when one of them would have matched.
  std::vector<Candidate> excluded;
  std::vector<const PackageRecord*> unreadable;  // versions that do not parse
};

class CandidatePool {
 public:
  // `unfiltered` names keep all channels under strict priority: a request
  // spec names a channel for them (`conda-forge::numpy`), and that spec
  // already picks the channel.
  CandidatePool(PackageSource& source, const std::vector<PackageRecord>& virtual_packages,
                ChannelPriority priority, std::set<std::string> unfiltered);

  NameId intern(std::string_view name);
  // Loads `id` the first time; returns whether it did. New candidates are
  // appended, so they take the variables from size() before the call.
  bool load(NameId id);

  const NameEntry& name(NameId id) const { return names_[id]; }
  const Candidate& candidate(Var v) const { return candidates_[v]; }
  std::size_t size() const { return candidates_.size(); }
  ChannelPriority priority() const { return priority_; }

 private:
  PackageSource& source_;
  const std::vector<PackageRecord>& virtuals_;
  ChannelPriority priority_;
  std::set<std::string> unfiltered_;
  std::deque<NameEntry> names_;        // deque: entries stay put while names are added
  std::deque<Candidate> candidates_;   // by variable
  std::deque<CondaVersion> versions_;  // parsed once per name and version text
  std::unordered_map<std::string, NameId> ids_;
};

}  // namespace envbuild::builder::conda::solver
