#pragma once
// conda packages into an image, natively: resolve (solve against the
// channels, or read a lock), then fetch into the shared package cache,
// extract, link into the fixed prefix and write one reproducible layer per
// package, so two environments that share a package share its layer blob.
//
// The prefix is the same for every environment (/opt/conda): a definition's
// name is not part of its identity, so it must not change the image, and a
// fixed prefix is what lets layers be shared.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "builder/build_log.hpp"
#include "builder/conda/channel/channel.hpp"
#include "builder/conda/package_record.hpp"
#include "builder/conda/solver/solver.hpp"
#include "builder/definition/environment_definition.hpp"
#include "builder/definition/target_platform.hpp"
#include "builder/environment_lock.hpp"
#include "builder/image/base_image.hpp"
#include "builder/image/environment_image.hpp"
#include "registry/layer_writer.hpp"
#include "registry/store.hpp"

namespace envbuild::builder::conda {

inline constexpr const char* kEnvironmentPrefix = "/opt/conda";

struct CondaOptions {
  std::string subdir;  // the conda subdir to solve for; empty: the target platform's
  std::string channel_alias = "https://conda.anaconda.org";
  std::vector<std::string> default_channels = {"conda-forge"};  // when a definition names none
  ChannelPriority channel_priority = ChannelPriority::Strict;
  std::filesystem::path cache_dir;  // repodata/ and pkgs/ below it
  size_t parallel = 8;
  bool skip_post_link = false;
  std::optional<std::filesystem::path> lock_in;  // skip the solve: install this lock
  bool offline = false;
  bool verbose = false;
  std::vector<std::string> insecure_hosts;  // plain-http hosts besides loopback
  // Bytes downloaded so far and the total to download (see FetchOptions).
  std::function<void(uint64_t done, uint64_t total)> download_progress;
};

struct CondaResolution {
  std::vector<PackageRecord> records;  // install order: dependencies first
  std::vector<PackageRecord> virtual_packages;
  std::vector<std::string> requested;  // the definition's specs, canonical
  std::string subdir;
  bool from_lock = false;
  // The definition's channels, with their credentials, for the downloads.
  std::vector<Channel> channels;
  // Filled by install_conda: archives downloaded (the rest came from the
  // package cache) and package layers written.
  size_t downloaded = 0;
  size_t package_layers = 0;
};

// Solves the definition's conda packages for `platform` on `base` (whose
// libc and CUDA give the virtual packages), or reads options.lock_in.
// Throws UnsatisfiableError with the explanation when nothing fits.
CondaResolution resolve_conda(const EnvironmentDefinition& def, const BaseImage& base,
                              const TargetPlatform& platform, const CondaOptions& options,
                              BuildLog& log);

// The lock entries of a resolution (URLs without credentials).
std::vector<LockedPackage> locked_packages(const CondaResolution& resolution);

// Fetches, extracts and links every package, writes their layers into
// `dst`, and returns what the image gains (layers, conda-meta/history and
// state, PATH and CONDA_PREFIX, packages' activation variables). Refuses
// packages with link scripts unless options.skip_post_link (running them
// needs the image's own runtime), and reports clobbered paths in `log`.
ImageAdditions install_conda(CondaResolution& resolution, const EnvironmentDefinition& def,
                             const CondaOptions& options, const registry::LayerOptions& layer,
                             registry::Store& dst, const std::filesystem::path& temp_dir,
                             BuildLog& log);

}  // namespace envbuild::builder::conda
