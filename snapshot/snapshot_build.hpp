#pragma once
// Turns a hashed walk into the blobs of a snapshot (snapshot_format.hpp):
// packs, big-file blobs and tree nodes, all computed locally. Pack digests
// are memoized by their members' digests, so an unchanged tree is built
// without reading a single file.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "registry/descriptor.hpp"
#include "snapshot/content_hash.hpp"
#include "snapshot/source_tree.hpp"

namespace envbuild::snapshot {

enum class BlobKind { Tree, Pack, File };

struct SnapshotBlob {
  registry::Descriptor descriptor;
  BlobKind kind = BlobKind::Tree;
  std::string bytes;  // Tree: always; Pack: when kept from building
  bool has_bytes = false;
  std::vector<size_t> members;  // Pack: walk entry indices in order; File: its entry
  uint64_t file_bytes = 0;      // file content carried (for upload counters)
};

struct BuiltSnapshot {
  std::vector<SnapshotBlob> blobs;  // unique by digest, sorted by digest
  registry::Descriptor tree_root;
  uint64_t files = 0, bytes = 0, symlinks = 0, directories = 0;
  std::string pack_memo;  // memo for the next build (only this tree's packs)
};

// `pack_memo` is the previous build's memo text (may be empty or garbage:
// unparseable lines are ignored). Packs not in the memo are read with
// read_verified on `workers` threads. Throws Error(BadInput) for walk paths
// that cannot form a tree (bad components, a file used as a directory).
BuiltSnapshot build_snapshot(const std::filesystem::path& root, const WalkResult& walk,
                             const HashedTree& hashes, std::string_view pack_memo, size_t workers);

// The bytes of a pack blob, re-read from the tree and checked against its
// descriptor (each member by read_verified, the whole by its digest).
std::string read_pack(const std::filesystem::path& root, const WalkResult& walk,
                      const HashedTree& hashes, const SnapshotBlob& pack);

}  // namespace envbuild::snapshot
