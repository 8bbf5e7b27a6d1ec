#pragma once
// Walks a source folder the way git sees it: nested .gitignore files (a
// directory's .amlignore replaces its .gitignore), the ignore files of parent
// directories up to the git work-tree root and info/exclude, `.git` never
// included, ignored directories never entered. Works relative to directory
// descriptors, so path length is unbounded and symlinks are never followed.
#include <filesystem>
#include <string>
#include <string_view>

#include "snapshot/source_tree.hpp"

namespace envbuild::snapshot {

struct WalkOptions {
  // When root lies inside a git work tree: the ignore files of root's parent
  // directories up to the work-tree root, and <gitdir>/info/exclude, apply too.
  bool honor_parent_ignores = true;
};

// Throws Error(BadInput) naming the directory when one cannot be read.
WalkResult walk_source_tree(const std::filesystem::path& root, const WalkOptions& options = {});

// For `snapshot check`: which rule in which file decided for one path.
struct IgnoreDecision {
  bool ignored = false;
  // The ignore file that decided: relative to root for files inside root,
  // absolute otherwise; "(built-in)" for .git; empty when no rule matched.
  std::string source;
  int line = 0;         // 1-based line in that file
  std::string pattern;  // as written, e.g. "!keep.log" for a re-include
};

// `relative_path` is relative to root, '/'-separated; a trailing '/' or an
// existing directory means a directory. A path inside an ignored directory is
// ignored by that directory's rule.
IgnoreDecision explain_path(const std::filesystem::path& root, std::string_view relative_path,
                            const WalkOptions& options = {});

}  // namespace envbuild::snapshot
