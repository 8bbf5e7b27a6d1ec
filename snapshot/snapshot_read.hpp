#pragma once
// Reads snapshots back from a Store: the root, then every tree node
// (verified by digest, bounded in size, depth and count, names validated:
// manifests are hostile input), flattened into a file list.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "registry/digest.hpp"
#include "registry/store.hpp"
#include "snapshot/source_tree.hpp"

namespace envbuild::snapshot {

struct SnapshotFile {
  std::string path;  // '/'-separated, raw bytes
  EntryType type = EntryType::File;
  bool executable = false;
  uint64_t size = 0;        // file bytes; symlink target length
  registry::Digest sha256;  // files only
  std::string link_target;  // symlinks only
  // Where a file's bytes live: a pack slice when `pack` is set, else its own
  // blob (sha256) when size > 0, else nowhere (empty file).
  registry::Digest pack;
  uint64_t pack_size = 0, pack_offset = 0;
};

struct SnapshotInfo {
  registry::Digest id;
  // All root annotations: the caller's (git metadata) and the format's
  // dev.envbuild.snapshot.* keys (tree, counts).
  std::map<std::string, std::string> annotations;
  std::vector<SnapshotFile> files;  // sorted by path bytes; includes empty dirs as Directory
  uint64_t total_bytes = 0;
};

// `id_or_tag`: "sha256:<hex>", a unique hex prefix (>= 12 chars) of a
// snapshot id tagged in the store, or a tag. Throws Error(NotFound) when
// absent, Error(BadInput) when ambiguous, not a snapshot, or malformed.
SnapshotInfo read_snapshot(registry::Store& store, std::string_view id_or_tag, size_t workers = 4);

struct SnapshotSummary {
  registry::Digest id;
  std::string tag;
  std::map<std::string, std::string> annotations;
};

// Snapshots tagged in the store ("snapshot-<hex>" tags whose root is a
// snapshot): newest first by org.opencontainers.image.created when present
// (those without it after), else by tag.
std::vector<SnapshotSummary> list_snapshots(registry::Store& store);

}  // namespace envbuild::snapshot
