#include "builder/conda/install/package_layers.hpp"

#include <algorithm>
#include <mutex>
#include <set>

#include "registry/parallel.hpp"
#include "registry/put_layer.hpp"

namespace envbuild::builder::conda {

std::vector<std::vector<size_t>> layer_groups(const std::vector<PackageRecord>& records) {
  std::vector<std::vector<size_t>> groups;
  if (records.size() <= kMaxPackageLayers) {
    for (size_t i = 0; i < records.size(); ++i) groups.push_back({i});
    return groups;
  }
  std::vector<size_t> by_size(records.size());
  for (size_t i = 0; i < by_size.size(); ++i) by_size[i] = i;
  std::stable_sort(by_size.begin(), by_size.end(),
                   [&](size_t a, size_t b) { return records[a].size > records[b].size; });
  std::set<size_t> own(by_size.begin(), by_size.begin() + (kMaxPackageLayers - 1));
  std::vector<size_t> rest;
  for (size_t i = 0; i < records.size(); ++i) {
    if (own.count(i))
      groups.push_back({i});
    else
      rest.push_back(i);
  }
  groups.push_back(rest);
  return groups;
}

std::vector<BuilderLayer> put_package_layers(const std::vector<LinkedPackage>& linked,
                                             const std::vector<std::vector<size_t>>& groups,
                                             const std::string& prefix_in_layer,
                                             const registry::LayerOptions& layer,
                                             registry::Store& dst,
                                             const std::filesystem::path& temp_dir, BuildLog& log) {
  std::vector<BuilderLayer> out(groups.size());
  std::mutex log_mutex;
  registry::run_parallel(groups.size(), 2, [&](size_t g) {
    std::vector<registry::LayerEntry> entries = {registry::LayerEntry::directory("opt"),
                                                 registry::LayerEntry::directory(prefix_in_layer)};
    std::string names;
    for (size_t i : groups[g]) {
      for (const registry::LayerEntry& e : linked[i].entries) {
        if (e.type == registry::LayerEntry::Type::Directory &&
            (e.path == "opt" || e.path == prefix_in_layer))
          continue;
        if (e.path == linked[i].conda_meta_path) continue;  // in the metadata layer
        entries.push_back(e);
      }
      names += (names.empty() ? "" : " ") + linked[i].dist_name;
    }
    // Packages grouped together may share directories.
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return registry::layer_path_less(a.path, b.path);
    });
    entries.erase(std::unique(entries.begin(), entries.end(),
                              [](const auto& a, const auto& b) {
                                return a.path == b.path &&
                                       a.type == registry::LayerEntry::Type::Directory &&
                                       b.type == registry::LayerEntry::Type::Directory;
                              }),
                  entries.end());
    const registry::LayerInfo info = registry::put_layer(std::move(entries), dst, temp_dir, layer);
    out[g] = BuilderLayer{info, "envbuild create: conda " + names};
    std::lock_guard lock(log_mutex);
    log.line("conda: layer " + info.blob.digest.str() + " (" + std::to_string(info.blob.size) +
             " bytes): " + names);
  });
  return out;
}

}  // namespace envbuild::builder::conda
