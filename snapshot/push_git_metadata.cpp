#include "snapshot/push_git_metadata.hpp"

#include "registry/error.hpp"
#include "snapshot/git_fingerprint.hpp"

namespace envbuild::snapshot {

namespace fs = std::filesystem;

PushGitMetadata::PushGitMetadata(fs::path root, const WalkResult& walk, const fs::path& cache_dir,
                                 EnvLookup env)
    : root_(std::move(root)), env_(std::move(env)), fingerprint_(git_state_fingerprint(root_)) {
  if (!cache_dir.empty()) {
    cache_file_ = GitMetadataCache::file_for(cache_dir, root_);
    cache_ = GitMetadataCache::load(cache_file_);
  }
  if (!cache_.may_answer(fingerprint_)) {
    early_ = std::async(std::launch::async, [root = root_, walk_copy = walk]() {
      return read_repository_metadata(root, &walk_copy);
    });
  }
}

const GitMetadata& PushGitMetadata::for_tree(const registry::Digest& tree, const WalkResult& walk) {
  if (result_) return *result_;
  GitMetadata m;
  if (early_.valid()) {
    m = early_.get();
  } else if (std::optional<GitMetadata> hit = cache_.find(fingerprint_, tree)) {
    m = std::move(*hit);
    from_cache_ = true;
  } else {
    m = read_repository_metadata(root_, &walk);
  }
  if (!from_cache_ && !cache_file_.empty()) {
    try {
      cache_.store(cache_file_, fingerprint_, tree, m);
    } catch (const Error&) {
      // The cache only saves work; the next push reads the repository again.
    }
  }
  apply_git_overrides(m, env_);
  result_ = std::move(m);
  return *result_;
}

}  // namespace envbuild::snapshot
