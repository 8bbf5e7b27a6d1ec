#pragma once
// `envbuild create`: a definition in, an image reference with its digest
// out. The target store is asked for the tag "env-<spec hash>" first; a hit
// builds nothing (one manifest request). A miss resolves the base (and the
// packages, later), writes the lock, assembles the image, and tags it
// "env-<spec hash>" plus any extra tags. A curated environment published
// elsewhere is copied (mounted within one registry) instead of built.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "builder/build_log.hpp"
#include "builder/conda/install/conda_install.hpp"
#include "builder/definition/canonical_definition.hpp"
#include "builder/definition/environment_definition.hpp"
#include "builder/environment_lock.hpp"
#include "builder/image/environment_image.hpp"
#include "registry/store_location.hpp"

namespace envbuild::builder {

struct CreateOptions {
  std::string target;  // a location; empty: the local store
  std::vector<std::string> extra_tags;
  bool refresh = false;  // re-resolve; rebuild only when the lock changed
  bool dry_run = false;  // plan only: nothing is written
  std::string default_base = kDefaultBaseImage;
  // Where `curated publish` put the curated images (a location); empty:
  // curated environments are built like any other.
  std::string curated_source;
  registry::LocationOptions locations;
  AssembleOptions assemble;
  conda::CondaOptions conda;
  std::optional<std::filesystem::path> lock_out;  // write the lock here (a build or --dry-run)
};

struct CreateResult {
  std::string store;      // the target, for messages
  std::string reference;  // "HOST/REPO@sha256:..." or "local:env-<hash>@sha256:..."
  registry::Digest digest;
  std::string spec_hash;
  std::string lock_hash;          // empty on a plain cache hit (not re-resolved)
  std::string cache_tag;          // "env-<spec hash>"
  std::vector<std::string> tags;  // every tag written or found
  enum class Outcome { CacheHit, Built, CopiedCurated, Planned } outcome = Outcome::Built;
  std::string base_reference;
  registry::Digest base_digest;
  // Builds: what happened to the base's layers in the target store.
  size_t base_layers = 0, base_layers_present = 0, base_layers_mounted = 0, base_layers_copied = 0;
  std::string log_tag;            // where the build log went (builds only)
  std::vector<std::string> plan;  // human-readable steps (--dry-run, and the log)
  // Builds and plans with conda packages: what was (or would be) installed.
  std::vector<conda::PackageRecord> conda_packages;
  size_t conda_downloaded = 0;  // archives fetched; the rest were in the package cache
  size_t conda_layers = 0;
};

const char* outcome_name(CreateResult::Outcome o);

CreateResult create_environment(const EnvironmentDefinition& def, const CreateOptions& options,
                                BuildLog& log);

}  // namespace envbuild::builder
