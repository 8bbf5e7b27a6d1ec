#pragma once
// Finds the git work tree around a directory without libgit2: the facts the
// ignore rules need (the work-tree root and the info/exclude file) and where
// its git directories are (for the git metadata cache's fingerprint).
#include <filesystem>
#include <optional>

namespace envbuild::snapshot {

struct WorkTree {
  std::filesystem::path root;          // directory holding .git
  std::filesystem::path exclude_file;  // <common gitdir>/info/exclude
  std::filesystem::path git_dir;       // .git, or where a gitfile points (HEAD, index)
  std::filesystem::path common_dir;    // shared by linked worktrees (config, refs)
};

// Looks for `.git` (a directory, or a gitfile "gitdir: PATH") in `dir` and
// its parents. `dir` must be absolute and canonical.
std::optional<WorkTree> find_work_tree(const std::filesystem::path& dir);

}  // namespace envbuild::snapshot
