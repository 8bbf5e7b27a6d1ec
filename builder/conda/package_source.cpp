#include "builder/conda/package_source.hpp"

#include <algorithm>

namespace envbuild::builder::conda {

VectorPackageSource::VectorPackageSource(std::vector<PackageRecord> records)
    : all_(std::move(records)) {
  std::vector<PackageRecord> sorted = all_;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.name < b.name; });
  for (PackageRecord& r : sorted) {
    if (by_name_.empty() || by_name_.back().first != r.name) by_name_.push_back({r.name, {}});
    by_name_.back().second.push_back(std::move(r));
  }
}

const std::vector<PackageRecord>& VectorPackageSource::candidates(const std::string& name) {
  auto it =
      std::lower_bound(by_name_.begin(), by_name_.end(), name,
                       [](const auto& entry, const std::string& n) { return entry.first < n; });
  return it != by_name_.end() && it->first == name ? it->second : none_;
}

}  // namespace envbuild::builder::conda
