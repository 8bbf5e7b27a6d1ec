#include "builder/image_pack.hpp"

#include <unistd.h>

#include <system_error>

#include "registry/blob_io.hpp"
#include "registry/error.hpp"
#include "registry/image_config.hpp"
#include "registry/manifest.hpp"
#include "registry/media_types.hpp"

namespace envbuild::builder {

namespace {

// Removes a staged file however the scope ends.
struct StagedFile {
  std::filesystem::path path;
  ~StagedFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

}  // namespace

PackResult pack_directories(const std::vector<std::filesystem::path>& dirs, registry::Store& store,
                            const std::optional<std::string>& tag, const PackOptions& options) {
  if (dirs.empty()) throw Error(ErrorKind::BadInput, "pack: no directories given");
  PackResult result;
  registry::ImageConfig config;
  config.architecture = options.architecture;
  config.os = options.os;
  config.created = registry::rfc3339_utc(options.layer.source_date_epoch);
  for (const auto& e : options.env) config.set_env(e);
  config.working_dir = options.working_dir;
  config.cmd = options.cmd;

  for (size_t i = 0; i < dirs.size(); ++i) {
    const auto& dir = dirs[i];
    if (!std::filesystem::is_directory(dir)) {
      throw Error(ErrorKind::BadInput, "pack: " + dir.string() + " is not a directory");
    }
    StagedFile staged{options.temp_dir /
                      ("envbuild-layer-" + std::to_string(::getpid()) + "-" + std::to_string(i))};
    registry::LayerInfo layer =
        registry::write_layer_from_directory(dir, staged.path, options.layer);
    registry::FileBlobReader reader(staged.path);
    store.put_blob(layer.blob, reader);
    config.add_layer(layer.diff_id, "envbuild pack: layer " + std::to_string(i + 1),
                     config.created);
    result.layers.push_back(layer);
  }

  result.config = registry::put_image_config(store, config);

  registry::ImageManifest manifest;
  manifest.media_type = std::string(registry::media::kOciManifest);
  manifest.config = result.config;
  for (const auto& l : result.layers) manifest.layers.push_back(l.blob);
  registry::ManifestBytes bytes = manifest.to_bytes();
  store.put_manifest(bytes, tag);
  result.manifest.media_type = bytes.media_type;
  result.manifest.digest = bytes.digest;
  result.manifest.size = static_cast<int64_t>(bytes.bytes.size());
  return result;
}

}  // namespace envbuild::builder
