#pragma once
// The layers of a conda environment's packages: one reproducible layer per
// package, so two environments that install the same package share its
// layer blob; beyond kMaxPackageLayers the smallest packages share one.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "builder/build_log.hpp"
#include "builder/conda/package/link_package.hpp"
#include "builder/conda/package_record.hpp"
#include "builder/image/environment_image.hpp"
#include "registry/layer_writer.hpp"
#include "registry/store.hpp"

namespace envbuild::builder::conda {

// Beyond this many packages the smallest share layers (registries and
// runtimes handle ~100 layers well; some cap near 127).
inline constexpr size_t kMaxPackageLayers = 100;

// Which packages (indexes into `records`) go into each layer, in order:
// one each up to the limit; beyond it the largest keep layers of their own
// (the ones worth sharing) and the rest share the last.
std::vector<std::vector<size_t>> layer_groups(const std::vector<PackageRecord>& records);

// Writes one layer per group into `dst` (in parallel), from the linked
// packages' entries under `prefix_in_layer` ("opt/conda"), leaving out
// their conda-meta records, which belong to the environment's metadata.
std::vector<BuilderLayer> put_package_layers(const std::vector<LinkedPackage>& linked,
                                             const std::vector<std::vector<size_t>>& groups,
                                             const std::string& prefix_in_layer,
                                             const registry::LayerOptions& layer,
                                             registry::Store& dst,
                                             const std::filesystem::path& temp_dir, BuildLog& log);

}  // namespace envbuild::builder::conda
