#pragma once
// Opening and reading one file of a source tree without ever following a
// symlink (the tree may change under us: a file swapped for a symlink must be
// refused, not followed out of the root), and the stat facts that tell
// whether a file changed while it was read.
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "registry/unique_fd.hpp"

namespace envbuild::snapshot {

// The fields of a stat that change when a file's bytes change.
struct FileStat {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  uint64_t device = 0;
  uint32_t mode = 0;  // full st_mode
  friend bool operator==(const FileStat&, const FileStat&) = default;
};

FileStat to_file_stat(const struct stat& st);
// fstat of an open file; throws Error(BadInput) naming `display` on failure.
FileStat stat_open_file(int fd, const std::string& display);

// Throws Error(BadInput) unless `rel` is a relative '/'-separated path with
// no empty, "." or ".." component (so it cannot leave the root).
void check_relative_path(const std::string& rel);

// Opens the directory `root` (following symlinks: the caller chose it).
UniqueFd open_root(const std::filesystem::path& root);

// Opens `rel` below the directory `root_fd` read-only, following no symlink
// in any component. Throws Error(BadInput): "PATH was replaced by a symlink
// while being read; refusing to follow it" for a symlink, "cannot read PATH:
// <strerror>" otherwise. `display` names the file in messages.
UniqueFd open_beneath(int root_fd, const std::string& rel, const std::string& display);
// The same without openat2 (kernels before 5.6, or seccomp filters that
// refuse it): one openat per component with O_NOFOLLOW.
UniqueFd open_beneath_by_components(int root_fd, const std::string& rel,
                                    const std::string& display);

// Reads `fd` from offset 0 in chunks of up to `chunk` bytes, handing each to
// `sink`, and stops after `limit` + 1 bytes (a file that grew past what its
// stat said is a change the caller detects from the count). Returns the
// number of bytes read. Throws Error(BadInput) "cannot read PATH: ..." on an
// I/O error.
uint64_t read_all(int fd, uint64_t limit, size_t chunk, const std::string& display,
                  const std::function<void(const char*, size_t)>& sink);

inline constexpr size_t kReadChunk = size_t{1} << 20;

}  // namespace envbuild::snapshot
