#include "registry/put_layer.hpp"

#include <functional>
#include <string>

#include "registry/atomic_file.hpp"
#include "registry/blob_io.hpp"

namespace envbuild::registry {
namespace {

LayerInfo staged(const std::filesystem::path& temp_dir, Store& store,
                 const std::function<LayerInfo(const std::filesystem::path&)>& write) {
  struct Staged {
    std::filesystem::path path;
    ~Staged() {
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
  } file{temp_dir / ("envbuild-layer-" + random_hex16())};
  LayerInfo info = write(file.path);
  FileBlobReader reader(file.path);
  store.put_blob(info.blob, reader);
  return info;
}

}  // namespace

LayerInfo put_layer(std::vector<LayerEntry> entries, Store& store,
                    const std::filesystem::path& temp_dir, const LayerOptions& options) {
  return staged(temp_dir, store, [&](const std::filesystem::path& out) {
    return write_layer(std::move(entries), out, options);
  });
}

LayerInfo put_directory_layer(const std::filesystem::path& root, Store& store,
                              const std::filesystem::path& temp_dir, const LayerOptions& options) {
  return staged(temp_dir, store, [&](const std::filesystem::path& out) {
    return write_layer_from_directory(root, out, options);
  });
}

}  // namespace envbuild::registry
