#pragma once
// Git metadata for one push. When the metadata cache may answer (same git
// fingerprint as last time), nothing starts until the tree's digest is
// known; a hit then costs no libgit2 at all. Otherwise libgit2 reads the
// repository on its own thread while the tree is hashed. Either way a fresh
// reading is cached for the next push.
#include <filesystem>
#include <future>
#include <string>

#include "registry/digest.hpp"
#include "snapshot/git_metadata.hpp"
#include "snapshot/git_metadata_cache.hpp"
#include "snapshot/source_tree.hpp"

namespace envbuild::snapshot {

class PushGitMetadata {
 public:
  // `root` absolute and canonical; `walk` is copied for the early reader
  // (hashing refreshes the caller's entries). An empty `cache_dir` caches
  // nothing.
  PushGitMetadata(std::filesystem::path root, const WalkResult& walk,
                  const std::filesystem::path& cache_dir, EnvLookup env);
  PushGitMetadata(const PushGitMetadata&) = delete;
  PushGitMetadata& operator=(const PushGitMetadata&) = delete;

  // The metadata, overrides applied, for the tree whose root node is `tree`
  // (`walk` as hashed). Computed once; later calls return the same.
  const GitMetadata& for_tree(const registry::Digest& tree, const WalkResult& walk);
  bool from_cache() const { return from_cache_; }

 private:
  std::filesystem::path root_;
  std::filesystem::path cache_file_;
  EnvLookup env_;
  std::string fingerprint_;
  GitMetadataCache cache_;
  std::future<GitMetadata> early_;
  std::optional<GitMetadata> result_;
  bool from_cache_ = false;
};

}  // namespace envbuild::snapshot
