#pragma once
// Remembers a folder's git metadata between pushes, so a push of an unchanged
// folder in an unchanged repository never loads libgit2. An entry answers
// only while three things are as they were when it was read: the snapshot's
// tree (every included file's bytes, modes and names), the git fingerprint
// (git_fingerprint.hpp: HEAD, refs, index, config, owners), and the stat of
// the tracked files the walk left out. The environment's AZUREML_GIT_*
// overrides are applied after, never cached.
//
// One small JSON file per root, next to its stat cache; a missing, corrupt
// or foreign file is an empty cache.
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "registry/digest.hpp"
#include "snapshot/git_metadata.hpp"

namespace envbuild::snapshot {

class GitMetadataCache {
 public:
  // The cache file for `root` (absolute, canonical) under `cache_dir`.
  static std::filesystem::path file_for(const std::filesystem::path& cache_dir,
                                        const std::filesystem::path& root);
  static GitMetadataCache load(const std::filesystem::path& file);

  // Whether an entry exists for this fingerprint (the tree is known later):
  // lets the caller skip starting libgit2 early when a hit is likely.
  bool may_answer(const std::string& fingerprint) const;
  // The cached metadata when fingerprint, tree and outside files all match.
  std::optional<GitMetadata> find(const std::string& fingerprint,
                                  const registry::Digest& tree) const;
  // Records `m` (read by read_repository_metadata for this state) and writes
  // the file atomically; does nothing when `m` is not cacheable.
  void store(const std::filesystem::path& file, const std::string& fingerprint,
             const registry::Digest& tree, const GitMetadata& m);

 private:
  struct Entry {
    std::string fingerprint;
    registry::Digest tree;
    std::vector<std::pair<std::string, std::string>> outside;  // path, stat_line
    GitMetadata metadata;
  };
  std::optional<Entry> entry_;
};

}  // namespace envbuild::snapshot
