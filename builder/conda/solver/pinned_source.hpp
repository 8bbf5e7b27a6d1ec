#pragma once
// Pinned specs (conda's `pinned_packages`, conda-meta/pinned): a pin limits
// which records of its name may be installed but never asks for the name.
// Applied below the solver, as a view of the source that hides the records
// a pin excludes, so every clause and explanation sees only what may be
// installed.
#include <map>
#include <string>
#include <vector>

#include "builder/conda/match_spec.hpp"
#include "builder/conda/package_source.hpp"

namespace envbuild::builder::conda::solver {

class PinnedSource : public PackageSource {
 public:
  PinnedSource(PackageSource& inner, const std::vector<MatchSpec>& pins);
  const std::vector<PackageRecord>& candidates(const std::string& name) override;

  // "  pinned: numpy 1.26.*" lines for the pins whose names `message`
  // mentions, so an unsatisfiable request says why records are missing.
  std::string pin_notes(const std::string& message) const;

 private:
  PackageSource& inner_;
  std::map<std::string, std::vector<MatchSpec>> pins_;  // by name
  std::map<std::string, std::vector<PackageRecord>> filtered_;
};

}  // namespace envbuild::builder::conda::solver
