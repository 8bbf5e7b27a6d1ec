#pragma once
// Differences between two snapshots, or a snapshot and a directory.
#include <string>
#include <vector>

#include "snapshot/content_hash.hpp"
#include "snapshot/snapshot_read.hpp"
#include "snapshot/source_tree.hpp"

namespace envbuild::snapshot {

struct SnapshotDiff {
  // Paths sorted by bytes. modified: content, type, exec bit or link target changed.
  std::vector<std::string> added, removed, modified;
};

// Compares by path; the inputs need not be sorted. Where a file lives
// (pack or own blob) does not count as a change.
SnapshotDiff diff_snapshots(const std::vector<SnapshotFile>& before,
                            const std::vector<SnapshotFile>& after);

// The walk as a snapshot's file list (sorted by path), to diff against a
// directory. Throws Error(Internal) when `hashes` does not match `walk`.
std::vector<SnapshotFile> files_of_walk(const WalkResult& walk, const HashedTree& hashes);

}  // namespace envbuild::snapshot
