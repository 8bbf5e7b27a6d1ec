#pragma once
// The local stat cache of one source root: what each file's stat looked like
// when it was last hashed, and its XXH3-128 and SHA-256. Lives under
// $ENVBUILD_HOME/cache/snapshot/ (one file per absolute root path), written
// atomically; a missing or corrupt cache is an empty one.
//
// Git's racy-entry rule: a file whose mtime is not older than the moment the
// cache was written may have changed within the same timestamp tick after it
// was hashed, so its stat match is not trusted and its bytes are checked.
#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "registry/digest.hpp"
#include "snapshot/source_tree.hpp"

namespace envbuild::snapshot {

using Xxh128 = std::array<uint8_t, 16>;

struct CachedFile {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  Xxh128 xxh3{};
  registry::Digest sha256;
};

// Path -> facts, sorted by path and unique (lookups are binary searches; a
// walk's entries arrive in the same order).
using StatCacheEntries = std::vector<std::pair<std::string, CachedFile>>;

class StatCache {
 public:
  // The cache file for `root` (absolute, canonical) under `cache_dir`.
  static std::filesystem::path file_for(const std::filesystem::path& cache_dir,
                                        const std::filesystem::path& root);
  // Loads `file`; a missing, truncated, corrupt or other-version file gives
  // an empty cache (never an error: the cache only saves work).
  static StatCache load(const std::filesystem::path& file);

  // The cached facts of `path` when its stat matches `entry` exactly and the
  // entry is not racy; nullopt otherwise.
  std::optional<CachedFile> trusted(const SourceEntry& entry) const;
  // The cached facts of `path` regardless of stat (to compare XXH3 after a
  // stat change or for a racy entry).
  const CachedFile* previous(const std::string& path) const;
  void record(const std::string& path, const CachedFile& facts);  // the last record of a path wins

  // Free-form small values the snapshot writer keeps between runs (e.g. the
  // last snapshot id pushed per store, pack digests); kept as is.
  std::optional<std::string> note(const std::string& key) const;
  void set_note(const std::string& key, std::string value);

  // Writes atomically. Keeps only the paths recorded in this run (deleted
  // files drop out) and all notes. Records the write time used by the racy
  // rule on the next load. Writes nothing when `file` is the file loaded and
  // this run recorded exactly its entries, all trusted, and no note changed
  // (the unchanged re-push then costs no write and no fsync).
  void save(const std::filesystem::path& file);

  size_t size();  // paths recorded so far

 private:
  StatCacheEntries loaded_;
  // In recording order until sort_recorded() (save, size) sorts it and
  // drops all but the last record of each path.
  StatCacheEntries recorded_;
  bool recorded_sorted_ = true;
  void sort_recorded();
  std::map<std::string, std::string> notes_;
  int64_t written_at_ns_ = 0;          // when the loaded file was written
  std::filesystem::path loaded_from_;  // empty unless load() read a valid file
  bool notes_changed_ = false;
  bool unchanged_since_load() const;
};

}  // namespace envbuild::snapshot
