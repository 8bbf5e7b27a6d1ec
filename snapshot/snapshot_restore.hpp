#pragma once
// Restores a snapshot into a new directory, exactly: content (verified per
// file against its SHA-256, pack slices included), the executable bit
// (files get exactly 0644 or 0755, whatever the umask), symlinks as links,
// empty directories.
//
// Safety: every file, directory and link is created relative to directory
// fds opened with O_NOFOLLOW, never through a path that could contain a
// symlink, and the entry list is checked first (valid components, no
// duplicates, nothing under a file or symlink), so nothing is written
// outside DEST whatever the snapshot says. Each file is written to a temp
// name in its directory and renamed (without replacing) into place, so an
// interrupted restore never leaves a partial file under its final name.
// Symlinks are created last.
#include <cstdint>
#include <filesystem>

#include "registry/store.hpp"
#include "snapshot/snapshot_read.hpp"

namespace envbuild::snapshot {

struct RestoreResult {
  uint64_t files = 0, bytes = 0, symlinks = 0, directories = 0;  // directories: empty ones
};

// DEST must not exist or be an empty directory (Error(BadInput) otherwise).
RestoreResult restore_snapshot(registry::Store& store, const SnapshotInfo& snapshot,
                               const std::filesystem::path& dest, size_t workers = 4);

}  // namespace envbuild::snapshot
