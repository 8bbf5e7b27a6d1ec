#pragma once
// Content addresses for the files of a walk, reusing the stat cache so an
// unchanged tree is not read again. XXH3-128 tells whether bytes changed
// (cheap); SHA-256 is the address the stores use.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "registry/digest.hpp"
#include "snapshot/source_tree.hpp"
#include "snapshot/stat_cache.hpp"

namespace envbuild::snapshot {

struct HashStats {
  uint64_t files_hashed = 0;  // files whose bytes were read
  uint64_t bytes_hashed = 0;
  uint64_t cache_hits = 0;  // files answered by the stat cache alone
  uint64_t sha_reused = 0;  // of files_hashed: XXH3 matched the cache, SHA-256 reused
  uint64_t racy = 0;        // of files_hashed: modified in the tick they were read in
};

struct HashedTree {
  // Parallel to WalkResult::entries: the SHA-256 of a File entry's bytes;
  // nullopt for symlinks and directories.
  std::vector<std::optional<registry::Digest>> digests;
  HashStats stats;
};

// Hashes every File entry of `walk` (paths relative to `root`) with `workers`
// threads, consulting and updating `cache`. A file whose size, mtime or
// ctime changes while it is read is read again (up to 3 times), then refused
// with Error(BadInput) naming it. An unreadable file is Error(BadInput)
// naming it. The entries' stat fields are refreshed to what was hashed.
HashedTree hash_tree(const std::filesystem::path& root, WalkResult& walk, StatCache& cache,
                     size_t workers);

// Reads one file of the tree and checks that its bytes still have `expected`
// as SHA-256 (the file may have changed since it was hashed). Returns the
// bytes; throws Error(BadInput) "PATH changed while the snapshot was being
// taken; run the push again" on a mismatch. For files small enough to pack.
std::string read_verified(const std::filesystem::path& root, const SourceEntry& entry,
                          const registry::Digest& expected);

}  // namespace envbuild::snapshot
