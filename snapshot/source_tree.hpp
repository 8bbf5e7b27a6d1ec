#pragma once
// What a walk of a source folder yields: the entries a snapshot includes,
// after ignore rules, in a stable order. Produced by the walker
// (source_walk.hpp), consumed by hashing, the stat cache and the snapshot
// writer.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace envbuild::snapshot {

enum class EntryType { File, Symlink, Directory };

struct SourceEntry {
  std::string path;  // relative to the root, '/'-separated, raw bytes (may be non-UTF-8)
  EntryType type = EntryType::File;
  uint32_t mode = 0;  // st_mode permission bits (0777 mask)
  uint64_t size = 0;  // files: bytes; symlinks: target length
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  uint64_t device = 0;
  std::string link_target;  // symlinks only, stored as is, never followed
};

// A path the walk did not include, and why (for `snapshot check` and for the
// summary's ignored count).
struct ExcludedEntry {
  std::string path;
  bool is_directory = false;
  std::string reason;  // e.g. ".gitignore:3:build/" or "special file (fifo)"
};

struct WalkResult {
  // Included entries sorted by path bytes. Directories appear only when empty
  // (their files imply the others), so empty directories survive a round trip.
  std::vector<SourceEntry> entries;
  std::vector<ExcludedEntry>
      excluded;                // ignored paths (directories not descended) and special files
  uint64_t ignored_count = 0;  // ignored files and directories (a directory counts once)
};

}  // namespace envbuild::snapshot
