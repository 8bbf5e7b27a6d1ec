#pragma once
// Git facts about a snapshot's folder, under the keys Azure ML and MLflow
// record (azureml.git.*, mlflow.source.git.*), read through libgit2. A
// folder outside any repository simply gets no git keys: git metadata never
// fails a push, its problems become warnings.
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "snapshot/source_tree.hpp"

namespace envbuild::snapshot {

// Environment lookup, injectable so tests need not touch the process
// environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup process_env();

struct GitMetadata {
  std::map<std::string, std::string> properties;  // key -> value
  std::vector<std::string> warnings;              // one line each
  // For the metadata cache (git_metadata_cache.hpp): whether the answer
  // follows from the tree, the git fingerprint and the stat of
  // `tracked_outside_walk` alone (not with submodules under the folder).
  bool cacheable = true;
  std::vector<std::filesystem::path> tracked_outside_walk;
};

// What the repository says, without the environment's overrides. With `walk`
// (the snapshot's own walk of `dir`), dirtiness is computed from it and the
// index instead of a second scan of the work tree.
GitMetadata read_repository_metadata(const std::filesystem::path& dir,
                                     const WalkResult* walk = nullptr);

// AZUREML_GIT_REPOSITORY_URI, _BRANCH, _COMMIT, _DIRTY, _BUILD_ID and
// _BUILD_URI, when set and non-empty, replace what the repository says.
void apply_git_overrides(GitMetadata& m, const EnvLookup& env);

// read_repository_metadata, then apply_git_overrides.
GitMetadata read_git_metadata(const std::filesystem::path& dir, const EnvLookup& env,
                              const WalkResult* walk = nullptr);

// Removes user:password@ from URLs with a scheme; scp-like "git@host:path"
// is kept (its user is not a secret).
std::string strip_url_credentials(const std::string& url);

}  // namespace envbuild::snapshot
