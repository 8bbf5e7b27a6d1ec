#pragma once
// Writing a reproducible layer straight into a store: the compressed blob
// is staged in a temp file (its digest is known only at the end), put into
// the store, and the temp removed however that ends.
#include <filesystem>
#include <vector>

#include "registry/layer_writer.hpp"
#include "registry/store.hpp"

namespace envbuild::registry {

LayerInfo put_layer(std::vector<LayerEntry> entries, Store& store,
                    const std::filesystem::path& temp_dir, const LayerOptions& options);

// The layer of everything below `root` (write_layer_from_directory).
LayerInfo put_directory_layer(const std::filesystem::path& root, Store& store,
                              const std::filesystem::path& temp_dir, const LayerOptions& options);

}  // namespace envbuild::registry
