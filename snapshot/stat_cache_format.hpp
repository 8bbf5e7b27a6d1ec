#pragma once
// The on-disk form of a stat cache: a compact little-endian binary file.
//
//   magic "EBSTATC\n" | u32 version | i64 written_at_ns
//   u64 entry count | entries (sorted by path bytes, unique): u32 path length, path bytes, u64
//   size,
//       i64 mtime_ns, i64 ctime_ns, u64 inode, 16 bytes XXH3-128 (canonical),
//       32 bytes SHA-256
//   u64 note count  | notes: u32 key length, key, u32 value length, value
//   u64 XXH3-64 of every byte before it
//
// Decoding treats the bytes as hostile: every length is checked against what
// is left before it is used, so a corrupt file cannot cause a huge allocation.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "snapshot/stat_cache.hpp"

namespace envbuild::snapshot {

// 2: entries sorted by path and unique (1 had them in any order).
inline constexpr uint32_t kStatCacheVersion = 2;
// Far above any tree we accept (a million entries take ~150 MB); bounds the
// read of a hostile file.
inline constexpr uint64_t kMaxStatCacheBytes = uint64_t{1} << 30;

struct StatCacheContents {
  int64_t written_at_ns = 0;
  StatCacheEntries entries;  // sorted by path, unique
  std::map<std::string, std::string> notes;
};

// Sorts by path; of several records of one path only the last one stays.
void sort_keeping_last(StatCacheEntries& entries);

// Entries are written in path order (any order is read back).
std::string encode_stat_cache(int64_t written_at_ns, const StatCacheEntries& entries,
                              const std::map<std::string, std::string>& notes);

// nullopt for anything but a complete, well-formed file of this version
// (entries out of order or repeated included).
std::optional<StatCacheContents> decode_stat_cache(std::string_view bytes);

}  // namespace envbuild::snapshot
