#pragma once
// What the last push of a root produced, keyed by a fingerprint of its walk
// (every included path with its type, mode, size, times, inode and link
// target). When the next walk has the same fingerprint and no file is racy
// (modified at or after the stat cache was written), every file is known to
// hold the bytes hashed last time, so the tree root and the chunk list are
// known too: an unchanged push neither reads the stat cache nor hashes a
// single file. One small file per root, next to its stat cache.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/descriptor.hpp"
#include "snapshot/source_tree.hpp"

namespace envbuild::snapshot {

// XXH3-128 (hex) over the walk's entries, in order.
std::string walk_fingerprint(const WalkResult& walk);

// True when some file's mtime is not older than `written_at_ns` (git's racy
// rule): its stat may hide a change made in the same timestamp tick.
bool has_racy_file(const WalkResult& walk, int64_t written_at_ns);

struct TreeMemo {
  int64_t written_at_ns = 0;  // set by save(): the racy rule's reference time
  std::string walk;           // walk_fingerprint of the tree as hashed
  registry::Descriptor tree_root;
  std::vector<registry::Descriptor> chunks;  // the root index's children
  uint64_t files = 0, bytes = 0, symlinks = 0, directories = 0;

  std::string encode() const;
  // nullopt for anything but a well-formed memo of this version.
  static std::optional<TreeMemo> decode(std::string_view text);

  // The memo file for `root` (absolute, canonical) under `cache_dir`.
  static std::filesystem::path file_for(const std::filesystem::path& cache_dir,
                                        const std::filesystem::path& root);
  // nullopt when missing or not readable as a memo.
  static std::optional<TreeMemo> load(const std::filesystem::path& file);
  // Writes atomically, stamping written_at_ns.
  void save(const std::filesystem::path& file);
  // Whether `walk` is the tree this memo describes, and no file in it may
  // have changed unseen since.
  bool describes(const WalkResult& walk) const;
};

}  // namespace envbuild::snapshot
