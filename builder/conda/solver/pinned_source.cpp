#include "builder/conda/solver/pinned_source.hpp"

#include <optional>

#include "builder/conda/solver/record_match.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda::solver {

PinnedSource::PinnedSource(PackageSource& inner, const std::vector<MatchSpec>& pins)
    : inner_(inner) {
  for (const MatchSpec& pin : pins) pins_[pin.name].push_back(pin);
}

const std::vector<PackageRecord>& PinnedSource::candidates(const std::string& name) {
  const auto pinned = pins_.find(name);
  if (pinned == pins_.end()) return inner_.candidates(name);
  if (auto done = filtered_.find(name); done != filtered_.end()) return done->second;
  std::vector<PackageRecord>& kept = filtered_[name];
  for (const PackageRecord& r : inner_.candidates(name)) {
    std::optional<CondaVersion> version;
    try {
      version = CondaVersion::parse(r.version);
    } catch (const Error&) {
      kept.push_back(r);  // the solver reports it as unreadable, pinned or not
      continue;
    }
    bool allowed = true;
    for (const MatchSpec& pin : pinned->second)
      allowed = allowed && record_matches(pin, r, *version);
    if (allowed) kept.push_back(r);
  }
  return kept;
}

std::string PinnedSource::pin_notes(const std::string& message) const {
  std::string out;
  for (const auto& [name, pins] : pins_) {
    if (message.find(name) == std::string::npos) continue;
    for (const MatchSpec& pin : pins) out += "\n  pinned: " + pin.canonical();
  }
  return out;
}

}  // namespace envbuild::builder::conda::solver
