#include "builder/image_pack.hpp"

#include "registry/blob_io.hpp"
#include "registry/error.hpp"
#include "registry/image_config.hpp"
#include "registry/manifest.hpp"
#include "registry/media_types.hpp"
#include "registry/put_layer.hpp"

namespace envbuild::builder {

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
    const registry::LayerInfo layer =
        registry::put_directory_layer(dir, store, options.temp_dir, options.layer);
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
