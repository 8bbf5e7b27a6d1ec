#pragma once
// Hashing one file of a source tree: XXH3-128 and SHA-256 of a stable read
// (the file's stat is the same before and after), reusing the previous
// SHA-256 when the XXH3 shows the bytes did not change.
#include <cstdint>
#include <string>

#include "registry/digest.hpp"
#include "snapshot/file_read.hpp"
#include "snapshot/stat_cache.hpp"

namespace envbuild::snapshot {

inline constexpr int kMaxReadAttempts = 3;

struct FileHash {
  FileStat stat;  // the stat the bytes were read under
  Xxh128 xxh3{};
  registry::Digest sha256;
  bool sha_reused = false;  // taken from `previous` after an XXH3 match
  uint64_t bytes_read = 0;  // over all passes of the successful attempt
  // The file's mtime is not older than the (coarse) clock when its read
  // began: a later write in the same timestamp tick would leave its stat
  // unchanged, so its stat must not be trusted next time.
  bool racy = false;
};

// Reads `rel` below `root_fd` (never following a symlink). With a previous
// entry of the same size it reads once for XXH3 and reuses the previous
// SHA-256 on a match (a second read computes SHA-256 on a mismatch);
// otherwise one read computes both. A file whose stat changes during a read
// is read again, up to kMaxReadAttempts times, then refused with
// Error(BadInput) "PATH keeps changing while being read".
FileHash hash_file(int root_fd, const std::string& rel, const std::string& display,
                   const CachedFile* previous);

}  // namespace envbuild::snapshot
