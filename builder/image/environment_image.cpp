#include "builder/image/environment_image.hpp"

#include "builder/definition/canonical_definition.hpp"
#include "registry/blob_io.hpp"
#include "registry/copy.hpp"
#include "registry/error.hpp"
#include "registry/layer_scan.hpp"
#include "registry/manifest.hpp"
#include "registry/media_types.hpp"
#include "registry/put_layer.hpp"

namespace envbuild::builder {

namespace fs = std::filesystem;

namespace {

// Docker's gzip layer is the OCI gzip layer byte for byte; an OCI manifest
// names it with the OCI type (as buildah and skopeo do when converting).
std::string oci_layer_type(const std::string& media_type) {
  if (media_type == registry::media::kDockerLayerGzip)
    return std::string(registry::media::kOciLayerGzip);
  return media_type;
}

std::string pretty(const nlohmann::json& j) { return j.dump(2) + "\n"; }

// PATH when the base sets none (Docker's default).
constexpr const char* kStandardPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace

std::vector<registry::LayerEntry> metadata_layer_entries(const nlohmann::json& canonical_definition,
                                                         const EnvironmentLock& lock,
                                                         std::vector<registry::LayerEntry> more) {
  const std::string dir(kMetadataDir);
  std::vector<registry::LayerEntry> entries = {
      registry::LayerEntry::directory("etc"), registry::LayerEntry::directory(dir),
      registry::LayerEntry::bytes(dir + "/definition.json", pretty(canonical_definition)),
      registry::LayerEntry::bytes(dir + "/lock.json", pretty(lock.to_json()))};
  for (registry::LayerEntry& e : more) entries.push_back(std::move(e));
  return entries;
}

AssembledImage assemble_environment_image(const EnvironmentDefinition& def,
                                          const nlohmann::json& canonical,
                                          const EnvironmentLock& lock, const BaseImage& base,
                                          const ImageAdditions& additions, registry::Store& dst,
                                          const AssembleOptions& options, BuildLog& log) {
  AssembledImage out;
  out.base_layers = base.image.layers.size();

  // Base layers, reused as they are.
  if (!base.scratch()) {
    std::vector<registry::Descriptor> blobs = base.image.layers;
    registry::CopyOptions copy_options;
    copy_options.parallel = options.parallel;
    registry::CopyResult copied;
    registry::copy_blobs(*base.store, dst, blobs, copy_options, copied);
    out.base_blobs_copied = copied.blobs_copied;
    out.base_blobs_mounted = copied.blobs_mounted;
    out.base_blobs_present = copied.blobs_skipped;
    log.line("base " + base.reference + "@" + base.manifest.str() + ": " +
             std::to_string(blobs.size()) + " layers (" + std::to_string(copied.blobs_skipped) +
             " already in " + dst.describe() + ", " + std::to_string(copied.blobs_mounted) +
             " mounted, " + std::to_string(copied.blobs_copied) + " copied)");
  } else {
    log.line("base scratch: no layers");
  }

  // The installers' layers (already in `dst`), then the metadata layer.
  for (const BuilderLayer& l : additions.layers) out.new_layers.push_back(l.info);
  const registry::LayerInfo meta =
      registry::put_layer(metadata_layer_entries(canonical, lock, additions.metadata_entries), dst,
                          options.temp_dir, options.layer);
  log.line("layer /" + std::string(kMetadataDir) + " (definition and lock): " +
           meta.blob.digest.str() + ", " + std::to_string(meta.blob.size) + " bytes");
  out.new_layers.push_back(meta);

  // The config: the base's, plus what the definition adds.
  registry::ImageConfig config = base.config;
  const std::string created = registry::rfc3339_utc(options.layer.source_date_epoch);
  config.created = created;
  if (!config.get_env("PATH")) config.set_env(std::string("PATH=") + kStandardPath);
  if (!additions.path_prepend.empty()) {
    std::string path;
    for (const std::string& dir : additions.path_prepend) path += dir + ":";
    config.set_env("PATH=" + path + *config.get_env("PATH"));
  }
  for (const auto& [key, value] : additions.env) config.set_env(key + "=" + value);
  for (const auto& [key, value] : def.variables) config.set_env(key + "=" + value);
  for (const auto& [key, value] : def.environment_variables) config.set_env(key + "=" + value);
  config.labels[std::string(kSpecHashKey)] = lock.spec_hash;
  config.labels[std::string(kLockHashKey)] = lock.hash();
  config.labels[std::string(kBuilderFormatKey)] = std::to_string(kBuilderFormatVersion);
  for (const BuilderLayer& l : additions.layers)
    config.add_layer(l.info.diff_id, l.created_by, created);
  config.add_layer(meta.diff_id,
                   "envbuild create: /" + std::string(kMetadataDir) + " (definition and lock)",
                   created);
  out.config = registry::put_image_config(dst, config);

  registry::ImageManifest manifest;
  manifest.media_type = std::string(registry::media::kOciManifest);
  manifest.config = out.config;
  for (registry::Descriptor layer : base.image.layers) {
    layer.media_type = oci_layer_type(layer.media_type);
    layer.annotations.clear();
    manifest.layers.push_back(std::move(layer));
  }
  for (const registry::LayerInfo& l : out.new_layers) manifest.layers.push_back(l.blob);
  manifest.annotations["org.opencontainers.image.base.name"] = base.reference;
  if (!base.scratch())
    manifest.annotations["org.opencontainers.image.base.digest"] = base.manifest.str();
  manifest.annotations[std::string(kSpecHashKey)] = lock.spec_hash;
  manifest.annotations[std::string(kLockHashKey)] = lock.hash();
  out.manifest = manifest.to_bytes();
  log.line("image " + out.manifest.digest.str() + ": " + std::to_string(manifest.layers.size()) +
           " layers, config " + out.config.digest.str());
  return out;
}

std::optional<EnvironmentLock> read_image_lock(registry::Store& store,
                                               const registry::ManifestBytes& manifest) {
  const registry::ImageManifest image = registry::ImageManifest::parse(manifest);
  if (image.layers.empty()) return std::nullopt;
  const std::string wanted = std::string(kMetadataDir) + "/lock.json";
  std::optional<std::string> text;
  auto blob = store.open_blob(image.layers.back());
  registry::scan_layer(*blob, "layer " + image.layers.back().digest.str(),
                       [&](const registry::ScannedEntry& e, const registry::ReadContent& read) {
                         if (e.type == registry::ScannedEntry::Type::File && e.path == wanted)
                           text = read(16u << 20);
                       });
  if (!text) return std::nullopt;
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return EnvironmentLock::from_json(j, manifest.digest.str() + " /" + wanted);
}

}  // namespace envbuild::builder
