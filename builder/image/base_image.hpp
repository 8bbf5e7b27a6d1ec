#pragma once
// The image an environment starts from: resolved from any registry or the
// local store, a multi-platform index narrowed to the target platform, its
// manifest and config read (and so verified against their digests). The
// special reference "scratch" is the empty image.
#include <memory>
#include <optional>
#include <string>

#include "builder/definition/target_platform.hpp"
#include "registry/image_config.hpp"
#include "registry/manifest.hpp"
#include "registry/store.hpp"
#include "registry/store_location.hpp"

namespace envbuild::builder {

struct BaseImage {
  std::string reference;                  // normalized, as the spec hash has it
  std::optional<registry::Digest> index;  // when the reference names an index
  registry::Digest manifest;              // the target platform's image manifest
  registry::ImageManifest image;          // config + layers (empty for scratch)
  registry::ImageConfig config;
  std::shared_ptr<registry::Store> store;  // where its blobs are; null for scratch
  bool scratch() const { return store == nullptr; }
};

// Error(NotFound) when the reference or the platform is missing (naming the
// platforms the index has), Error(BadInput) for foreign or unknown layer
// types and for a config whose os/architecture contradict the target.
BaseImage resolve_base_image(const std::string& reference, const TargetPlatform& platform,
                             const registry::LocationOptions& locations);

// `reference` as a location open_location understands: registry references
// go through docker:// so "debian:12" means Docker Hub, as in a Dockerfile.
std::string base_location(const std::string& reference);

}  // namespace envbuild::builder
