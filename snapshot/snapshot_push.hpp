#pragma once
// Pushes a walked source tree as a snapshot (format: snapshot_format.hpp)
// into a Store, uploading only what the store lacks.
//
// Requests: the root id is computed locally (pack digests memoized in the
// stat cache notes, so an unchanged tree is not read), then ONE find_manifest
// of the snapshot tag; if it names this id the push is done. Otherwise the
// previous snapshot pushed from this root to this store (a note keyed by
// store.describe()) tells which blobs are already there (its root and chunk
// manifests: a few requests); every other blob gets one stat_blob and, if
// absent, one put_blob, on `workers` threads. Chunk manifests, then the
// tagged root, are put last, so a failed push tags nothing.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "registry/digest.hpp"
#include "registry/store.hpp"
#include "snapshot/content_hash.hpp"
#include "snapshot/source_tree.hpp"

namespace envbuild::snapshot {

struct PushOptions {
  size_t workers = 4;
  std::map<std::string, std::string> annotations;  // git metadata etc., recorded on the root
  // More root annotations, asked for only once the tree is hashed, with the
  // digest of its root tree node: lets the caller compute them (git
  // metadata) while hashing runs, or reuse what it knows of that tree.
  std::function<std::map<std::string, std::string>(const registry::Digest& tree)> late_annotations;
  std::filesystem::path cache_dir;  // stat cache dir ($ENVBUILD_HOME/cache/snapshot); empty: none
  // Called after each blob considered for upload; total = bytes of the blobs
  // not known to be in the store. May be empty.
  std::function<void(uint64_t done_bytes, uint64_t total_bytes)> progress;
};

struct PushResult {
  registry::Digest id;                     // the snapshot id: digest of the root index
  std::string tag;                         // "snapshot-" + the id's full 64 hex digits
  uint64_t files = 0, bytes = 0;           // included regular files and their bytes
  uint64_t symlinks = 0, directories = 0;  // directories: empty ones
  uint64_t uploaded_files = 0,
           uploaded_bytes = 0;  // file bytes actually sent (a pack's files count)
  uint64_t uploaded_blobs = 0;  // blobs put (files, packs, tree nodes, the empty config)
  uint64_t ignored = 0;         // walk.ignored_count
  HashStats hashing;
};

// Throws Error(BadInput) "PATH changed while the snapshot was being taken;
// run the push again" when a file's bytes no longer match its hash (nothing
// is tagged then); store errors pass through.
PushResult push_snapshot(const std::filesystem::path& root, WalkResult& walk,
                         registry::Store& store, const PushOptions& options);

}  // namespace envbuild::snapshot
