#pragma once
// Whether a snapshot's folder differs from git's HEAD, computed from the walk
// the snapshot already made instead of a second scan of the work tree: the
// index's stat data against the walk's, git's blob hash where they disagree,
// untracked = walked but not in the index (our ignore rules are git's); a
// submodule counts when moved off its recorded commit or dirty itself.
#include <git2.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "snapshot/source_tree.hpp"

namespace envbuild::snapshot {

// `dir` relative to the work tree as a literal pathspec ("" for the root,
// else "sub/dir/"); nullopt when either path cannot be resolved or `dir` is
// not inside the work tree.
std::optional<std::string> work_tree_prefix(const char* workdir, const std::filesystem::path& dir);

// What the answer rested on besides the walk, the index and HEAD (for the git
// metadata cache): tracked files the walk left out, and submodules, whose
// own HEAD no fingerprint of ours covers.
struct DirtyEvidence {
  std::vector<std::filesystem::path> tracked_outside_walk;  // absolute
  bool submodules = false;
};

// nullopt (with `problem` set) when the index cannot be read. Files in the
// walk are compared by the walk's stat data; only tracked files it left out
// are stat'ed again.
std::optional<bool> dirty_from_walk(git_repository* repo, const std::filesystem::path& dir,
                                    const WalkResult& walk, std::string& problem,
                                    DirtyEvidence* evidence = nullptr);

}  // namespace envbuild::snapshot
