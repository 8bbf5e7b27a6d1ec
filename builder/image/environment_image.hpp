#pragma once
// Assembles an environment image in a Store: the base image's layers
// reused as they are (copied only into a store that lacks them, mounted
// within one registry), the builder's own layers, and an image config that
// keeps the base's Entrypoint, Cmd, WorkingDir and User and adds the
// definition's variables, labels and history. Everything is a function of
// the canonical definition, the lock and SOURCE_DATE_EPOCH: the same inputs
// give the same digest on any machine.
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "builder/build_log.hpp"
#include "builder/definition/environment_definition.hpp"
#include "builder/environment_lock.hpp"
#include "builder/image/base_image.hpp"
#include "registry/layer_writer.hpp"
#include "registry/store.hpp"

namespace envbuild::builder {

// On the image config (labels) and the manifest (annotations).
inline constexpr std::string_view kSpecHashKey = "dev.envbuild.spec-hash";
inline constexpr std::string_view kLockHashKey = "dev.envbuild.lock-hash";
inline constexpr std::string_view kBuilderFormatKey = "dev.envbuild.builder-format";
// Where the definition and the lock live in the image.
inline constexpr std::string_view kMetadataDir = "etc/envbuild";

struct AssembleOptions {
  registry::LayerOptions layer;
  std::filesystem::path temp_dir = std::filesystem::temp_directory_path();
  size_t parallel = 4;
};

struct AssembledImage {
  registry::ManifestBytes manifest;  // put by the caller, with its tags
  registry::Descriptor config;
  std::vector<registry::LayerInfo> new_layers;
  size_t base_layers = 0;
  size_t base_blobs_copied = 0, base_blobs_mounted = 0, base_blobs_present = 0;
};

// A layer a package installer already wrote into the target store.
struct BuilderLayer {
  registry::LayerInfo info;
  std::string created_by;  // the history entry
};

// What the package installers add on top of the base.
struct ImageAdditions {
  std::vector<BuilderLayer> layers;  // in order, between the base and the metadata layer
  // More entries for the last (metadata) layer, e.g. conda-meta/history.
  std::vector<registry::LayerEntry> metadata_entries;
  std::vector<std::string> path_prepend;   // prepended to PATH, first first
  std::map<std::string, std::string> env;  // set before the definition's own variables
};

// Writes every blob into `dst` and returns the manifest to put.
AssembledImage assemble_environment_image(const EnvironmentDefinition& def,
                                          const nlohmann::json& canonical_definition,
                                          const EnvironmentLock& lock, const BaseImage& base,
                                          const ImageAdditions& additions, registry::Store& dst,
                                          const AssembleOptions& options, BuildLog& log);

// The lock an image built by envbuild carries (/etc/envbuild/lock.json in
// its last layer); nullopt for other images.
std::optional<EnvironmentLock> read_image_lock(registry::Store& store,
                                               const registry::ManifestBytes& manifest);

// The metadata layer's entries: etc/envbuild/definition.json (the canonical
// definition) and etc/envbuild/lock.json, plus `more`.
std::vector<registry::LayerEntry> metadata_layer_entries(
    const nlohmann::json& canonical_definition, const EnvironmentLock& lock,
    std::vector<registry::LayerEntry> more = {});

}  // namespace envbuild::builder
