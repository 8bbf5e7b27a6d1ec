#include "builder/conda/install/install_order.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "builder/conda/match_spec.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {

std::vector<PackageRecord> install_order(std::vector<PackageRecord> records) {
  std::sort(records.begin(), records.end(),
            [](const PackageRecord& a, const PackageRecord& b) { return a.name < b.name; });
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < records.size(); ++i) index[records[i].name] = i;
  // Edges to the packages each record depends on, within the set.
  std::vector<std::set<size_t>> needs(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    for (const std::string& dep : records[i].depends) {
      std::string name;
      try {
        name = MatchSpec::parse(dep).name;
      } catch (const Error&) {
        continue;  // the solver accepted the set; an odd spec only loses an ordering hint
      }
      auto it = index.find(name);
      if (it != index.end() && it->second != i) needs[i].insert(it->second);
    }
  }
  std::vector<PackageRecord> out;
  std::vector<bool> placed(records.size(), false);
  while (out.size() < records.size()) {
    // The first (by name) package whose dependencies are all placed; in a
    // cycle, the first unplaced package by name.
    size_t pick = records.size();
    for (size_t i = 0; i < records.size() && pick == records.size(); ++i) {
      if (placed[i]) continue;
      bool ready =
          std::all_of(needs[i].begin(), needs[i].end(), [&](size_t d) { return placed[d]; });
      if (ready) pick = i;
    }
    if (pick == records.size())
      pick = static_cast<size_t>(std::find(placed.begin(), placed.end(), false) - placed.begin());
    placed[pick] = true;
    out.push_back(records[pick]);
  }
  return out;
}

}  // namespace envbuild::builder::conda
