#include "builder/image/base_image.hpp"

#include "registry/blob_io.hpp"
#include "registry/descriptor_json.hpp"
#include "registry/error.hpp"
#include "registry/media_types.hpp"

namespace envbuild::builder {

namespace {

constexpr uint64_t kMaxConfigBytes = 8u << 20;

bool platform_matches(const registry::Platform& p, const TargetPlatform& t) {
  if (p.os != t.os || p.architecture != t.architecture) return false;
  // An arm64 image without a variant is v8; accept either spelling.
  if (t.variant.empty() || p.variant.empty()) return true;
  return p.variant == t.variant;
}

std::string describe(const registry::Platform& p) {
  return p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
}

}  // namespace

std::string base_location(const std::string& reference) {
  if (reference.rfind("local:", 0) == 0 || reference.rfind("oci:", 0) == 0) return reference;
  return "docker://" + reference;
}

BaseImage resolve_base_image(const std::string& reference, const TargetPlatform& platform,
                             const registry::LocationOptions& locations) {
  BaseImage base;
  base.reference = reference;
  if (reference == "scratch") {
    base.config.os = platform.os;
    base.config.architecture = platform.architecture;
    base.config.variant = platform.variant;
    return base;
  }
  registry::StoreLocation loc = registry::open_location(base_location(reference), locations);
  base.store = std::move(loc.store);
  const std::string ref = loc.ref.empty() ? "latest" : loc.ref;
  registry::ManifestBytes top = base.store->get_manifest(ref);
  if (registry::media::is_index(top.media_type)) {
    base.index = top.digest;
    std::string seen;
    std::optional<registry::Descriptor> chosen;
    for (const registry::Descriptor& child : registry::manifest_children(top).manifests) {
      if (!child.platform) continue;
      seen += (seen.empty() ? "" : ", ") + describe(*child.platform);
      if (!chosen && platform_matches(*child.platform, platform)) chosen = child;
    }
    if (!chosen) {
      throw Error(ErrorKind::NotFound, reference + " has no " + platform.oci() +
                                           " image (it has: " + (seen.empty() ? "none" : seen) +
                                           ")");
    }
    top = base.store->get_manifest(chosen->digest.str());
  }
  if (!registry::media::is_image_manifest(top.media_type))
    throw Error(ErrorKind::BadInput, reference + " is not an image (" + top.media_type + ")");
  base.manifest = top.digest;
  base.image = registry::ImageManifest::parse(top);
  for (const registry::Descriptor& layer : base.image.layers) {
    const std::string& mt = layer.media_type;
    const bool known =
        mt == registry::media::kOciLayerGzip || mt == registry::media::kOciLayerTar ||
        mt == registry::media::kOciLayerZstd || mt == registry::media::kDockerLayerGzip;
    if (!known)
      throw Error(ErrorKind::BadInput,
                  reference + ": layer " + layer.digest.str() + " has media type '" + mt +
                      "', which envbuild does not reuse (foreign or non-distributable layers)");
  }
  if (base.image.config.size < 0 || static_cast<uint64_t>(base.image.config.size) > kMaxConfigBytes)
    throw Error(ErrorKind::BadInput, reference + ": image config larger than 8 MiB");
  // read_all reads to the end, where store readers verify digest and size.
  auto reader = base.store->open_blob(base.image.config);
  const std::string config_bytes = registry::read_all(*reader, kMaxConfigBytes);
  base.config = registry::ImageConfig::parse(config_bytes, reference + " config");
  if (base.config.os != platform.os || base.config.architecture != platform.architecture) {
    throw Error(ErrorKind::BadInput, reference + " is a " + base.config.os + "/" +
                                         base.config.architecture + " image, the target is " +
                                         platform.oci());
  }
  if (base.config.diff_ids.size() != base.image.layers.size()) {
    throw Error(ErrorKind::BadInput,
                reference + ": the config lists " + std::to_string(base.config.diff_ids.size()) +
                    " layers, the manifest " + std::to_string(base.image.layers.size()));
  }
  return base;
}

}  // namespace envbuild::builder
