#pragma once
// The ignore files in effect at one point of a walk, and git's precedence
// among them: the deepest directory's file first, then shallower ones, then
// <gitdir>/info/exclude; within a file the last matching line wins.
//
// Paths are relative to the walk's "top": the git work-tree root when the
// snapshot root lies inside one (so parent ignore files apply with their
// own bases), else the snapshot root.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "snapshot/ignore_pattern.hpp"

namespace envbuild::snapshot {

struct IgnoreFile {
  std::string base;    // directory of the file relative to the top, "" or ending in '/'
  std::string source;  // how `snapshot check` names the file
  std::vector<IgnorePattern> patterns;
};

struct IgnoreMatch {
  const IgnoreFile* file = nullptr;  // null: no rule matched
  const IgnorePattern* pattern = nullptr;
  bool ignored() const { return pattern != nullptr && !pattern->negated; }
};

// Cheap to copy (the files are shared and never change once pushed), so a
// parallel walk hands each directory its own copy of the stack above it.
class IgnoreRules {
 public:
  // Lowest priority, below every per-directory file.
  void set_exclude_file(IgnoreFile file) {
    exclude_ = std::make_shared<const IgnoreFile>(std::move(file));
  }
  // A file without patterns is not kept: it can never match.
  void push(IgnoreFile file);
  void pop() { stack_.pop_back(); }
  size_t depth() const { return stack_.size(); }

  // `path`: relative to the top; `name`: its last component. The match
  // points into files this object (or a copy) keeps alive.
  IgnoreMatch match(std::string_view path, std::string_view name, bool is_directory) const;

 private:
  std::vector<std::shared_ptr<const IgnoreFile>> stack_;  // shallow to deep; null: no patterns
  std::shared_ptr<const IgnoreFile> exclude_;
};

// Reads the ignore file of one directory: `.amlignore` if the directory has
// one, else `.gitignore`. Symlinked ignore files are not followed (git does
// not follow them either). `dir_fd` is an open descriptor of the directory.
// Returns an IgnoreFile with no patterns when there is none.
IgnoreFile read_directory_ignore_file(int dir_fd, bool has_amlignore, bool has_gitignore,
                                      std::string base, const std::string& source_dir);

// Reads an ignore file by path (info/exclude); missing gives no patterns.
IgnoreFile read_ignore_file(const std::filesystem::path& file, std::string base,
                            std::string source);

}  // namespace envbuild::snapshot
