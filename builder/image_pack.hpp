#pragma once
// Packs directories into an image: one reproducible layer per directory, an
// image config and a manifest, written to any Store. The smallest complete
// image assembly; environment builds add their own layers the same way.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "registry/descriptor.hpp"
#include "registry/layer_writer.hpp"
#include "registry/store.hpp"

namespace envbuild::builder {

struct PackOptions {
  registry::LayerOptions layer;
  std::string architecture = "amd64";
  std::string os = "linux";
  std::vector<std::string> env;  // KEY=VALUE
  std::string working_dir;
  std::vector<std::string> cmd;
  // Where layers are staged before they go into the store.
  std::filesystem::path temp_dir = std::filesystem::temp_directory_path();
};

struct PackResult {
  registry::Descriptor manifest;
  registry::Descriptor config;
  std::vector<registry::LayerInfo> layers;
};

PackResult pack_directories(const std::vector<std::filesystem::path>& dirs, registry::Store& store,
                            const std::optional<std::string>& tag, const PackOptions& options);

}  // namespace envbuild::builder
