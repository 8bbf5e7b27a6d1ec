#pragma once
// The snapshot format in a Store (version 1). Everything here is pinned by
// tests/unit/snapshot_format_test.cpp: changing any byte changes snapshot ids.
//
// Blobs (all content-addressed by SHA-256, in the same repository/layout):
//  - file  (kFileMediaType): one regular file of >= kBigFileBytes, its bytes.
//  - pack  (kPackMediaType): small files (1 .. kBigFileBytes-1 bytes) of ONE
//    directory, in name order, concatenated with nothing in between. Empty
//    files live in no blob (their digest is the empty SHA-256).
//    Pack boundaries are content-defined so that editing, adding or removing
//    one small file changes only its own pack (and at most merges it with, or
//    splits it from, a neighbour): a pack ends after a member whose
//    XXH64(name '\0' sha256-hex, seed 0) < 2^64 * (size + 256) / kPackTargetBytes
//    (expected pack size ~1 MiB), or before a member that would take it past
//    kPackMaxBytes (a rare hard cut that keeps packs bounded).
//  - tree  (kTreeMediaType): one node per directory, canonical JSON (keys
//    sorted, no whitespace), a Merkle tree:
//      {"entries":[E...],"packs":[{"digest":"sha256:..","size":N}...]}
//    entries sorted by name bytes, unique; each E has
//      "name" (UTF-8) or "name64" (base64 of raw bytes when not UTF-8),
//      "type": "file" | "symlink" | "dir",
//      file:    "size", "digest" (sha256 of content), "exec":true only when
//               the owner-execute bit is set (never the full mode), and for a
//               packed file "pack" (index into "packs") + "offset";
//      symlink: "target" or "target64" (raw bytes, never followed), "size";
//      dir:     "tree" (digest of the child node) + "size" (its byte count).
//    Empty directories are nodes with no entries.
//  - the OCI empty config {} (kOciEmpty), config of every chunk manifest.
// Manifests:
//  - chunk: an OCI image manifest, artifactType kSnapshotArtifactType,
//    config = the empty descriptor, layers = up to kMaxChunkLayers blobs
//    (files, packs AND tree nodes, so registry GC keeps them all), sorted by
//    digest. Chunks split the sorted unique digests content-defined: a chunk
//    ends after a digest whose first 8 hex digits are 0 mod
//    kChunkCutModulus, or at kMaxChunkLayers; a new blob thus changes one
//    chunk, not every chunk after it.
//  - root: an OCI image index, artifactType kSnapshotArtifactType, listing
//    the chunks in order, with annotations: the caller's (git metadata)
//    plus kTreeAnnotation/kTreeSizeAnnotation (root node) and the counts
//    (files, bytes, symlinks, directories). No timestamps: the same tree has
//    the same id on any machine at any time.
//  - The snapshot id is the root's digest; the root is tagged
//    "snapshot-" + the id's full 64 hex (73 chars, under the 128 limit), so
//    garbage collection keeps everything and the id is readable from tags.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/descriptor.hpp"
#include "registry/digest.hpp"
#include "registry/store.hpp"
#include "snapshot/source_tree.hpp"

namespace envbuild::snapshot {

inline constexpr std::string_view kSnapshotArtifactType = "application/vnd.envbuild.snapshot.v1";
inline constexpr std::string_view kFileMediaType = "application/vnd.envbuild.snapshot.file.v1";
inline constexpr std::string_view kPackMediaType = "application/vnd.envbuild.snapshot.pack.v1";
inline constexpr std::string_view kTreeMediaType = "application/vnd.envbuild.snapshot.tree.v1+json";

inline constexpr std::string_view kTagPrefix = "snapshot-";
inline constexpr std::string_view kTreeAnnotation = "dev.envbuild.snapshot.tree";
inline constexpr std::string_view kTreeSizeAnnotation = "dev.envbuild.snapshot.tree.size";
inline constexpr std::string_view kFilesAnnotation = "dev.envbuild.snapshot.files";
inline constexpr std::string_view kBytesAnnotation = "dev.envbuild.snapshot.bytes";
inline constexpr std::string_view kSymlinksAnnotation = "dev.envbuild.snapshot.symlinks";
inline constexpr std::string_view kDirectoriesAnnotation = "dev.envbuild.snapshot.directories";

inline constexpr uint64_t kBigFileBytes = 256 * 1024;
inline constexpr uint64_t kPackTargetBytes = 1024 * 1024;
inline constexpr uint64_t kPackMaxBytes = 4 * 1024 * 1024;
inline constexpr uint64_t kPackMemberOverhead = 256;  // so runs of tiny files still cut
inline constexpr size_t kMaxChunkLayers = 400;
inline constexpr uint32_t kChunkCutModulus = 128;

// Bounds applied to everything read back (hostile manifests).
inline constexpr uint64_t kMaxTreeNodeBytes = 16 * 1024 * 1024;
inline constexpr uint64_t kMaxPackBytes = 16 * 1024 * 1024;
inline constexpr size_t kMaxNameBytes = 4096;
inline constexpr size_t kMaxLinkTargetBytes = 4096;
inline constexpr size_t kMaxDepth = 256;
inline constexpr uint64_t kMaxSnapshotEntries = 10'000'000;

struct TreeEntry {
  std::string name;  // raw bytes
  EntryType type = EntryType::File;
  bool executable = false;
  uint64_t size = 0;             // file bytes, link target length, or child node bytes
  registry::Digest digest;       // file content, or child node (dir)
  std::optional<uint32_t> pack;  // packed file: index into TreeNode::packs
  uint64_t offset = 0;           // packed file: where it starts in the pack
  std::string link_target;       // raw bytes
};

struct PackRef {
  registry::Digest digest;
  uint64_t size = 0;
};

struct TreeNode {
  std::vector<TreeEntry> entries;  // sorted by name bytes
  std::vector<PackRef> packs;
};

// Canonical bytes of a node. Entries must already be sorted and unique.
std::string encode_tree_node(const TreeNode& node);
// Parses and validates a node (names, types, digests, pack ranges, order);
// throws Error(BadInput) naming `where` (e.g. the node's digest and path).
TreeNode decode_tree_node(std::string_view bytes, std::string_view where);

// The pack cut rule above: true when a pack ends after this member.
bool pack_cut_after(std::string_view name, const registry::Digest& digest, uint64_t size);

// Splits the sorted unique digests into chunk ranges [begin, end).
std::vector<std::pair<size_t, size_t>> chunk_ranges(const std::vector<registry::Digest>& sorted);

registry::Descriptor blob_descriptor(std::string_view media_type, const registry::Digest& digest,
                                     uint64_t size);

// The OCI empty config descriptor ({} , 2 bytes) and its bytes.
registry::Descriptor empty_config_descriptor();
inline constexpr std::string_view kEmptyConfigBytes = "{}";

registry::ManifestBytes encode_chunk_manifest(const std::vector<registry::Descriptor>& layers);
registry::ManifestBytes encode_root_index(const std::vector<registry::Descriptor>& chunks,
                                          const std::map<std::string, std::string>& annotations);

// The tag of a snapshot id, and the id of a snapshot tag (nullopt for other tags).
std::string snapshot_tag(const registry::Digest& id);
std::optional<registry::Digest> id_of_tag(std::string_view tag);

// A parsed root: verifies it is an OCI index with our artifactType.
struct SnapshotRoot {
  registry::Digest id;
  std::vector<registry::Descriptor> chunks;
  std::map<std::string, std::string> annotations;
  registry::Descriptor tree;  // root node descriptor from the annotations
};
SnapshotRoot parse_snapshot_root(const registry::ManifestBytes& manifest, std::string_view name);

}  // namespace envbuild::snapshot
