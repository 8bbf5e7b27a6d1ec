#include "snapshot/content_hash.hpp"

#include <algorithm>

#include "registry/error.hpp"
#include "registry/parallel.hpp"
#include "snapshot/content_hash_file.hpp"
#include "snapshot/file_read.hpp"

namespace envbuild::snapshot {

namespace fs = std::filesystem;

namespace {

// A ctime no real file has: the entry's stat can never match it, so the next
// run reads the file again (cheaply, through XXH3) instead of trusting it.
constexpr int64_t kSmudgedCtime = -1;

// Reading a file into memory for a pack is bounded far above any packed
// member; a larger request is a caller bug or a hostile entry.
constexpr uint64_t kMaxVerifiedRead = uint64_t{1} << 30;

std::string display_path(const fs::path& root, const std::string& rel) {
  return (root / rel).string();
}

void refresh(SourceEntry& entry, const FileStat& stat) {
  entry.size = stat.size;
  entry.mtime_ns = stat.mtime_ns;
  entry.ctime_ns = stat.ctime_ns;
  entry.inode = stat.inode;
  entry.device = stat.device;
  entry.mode = stat.mode & 0777;
}

}  // namespace

HashedTree hash_tree(const fs::path& root, WalkResult& walk, StatCache& cache, size_t workers) {
  HashedTree out;
  out.digests.resize(walk.entries.size());
  // The unchanged tree's path: one hash-map lookup per file, no file opened.
  std::vector<size_t> todo;
  for (size_t i = 0; i < walk.entries.size(); ++i) {
    const SourceEntry& entry = walk.entries[i];
    if (entry.type != EntryType::File) continue;
    if (std::optional<CachedFile> hit = cache.trusted(entry)) {
      out.digests[i] = hit->sha256;
      cache.record(entry.path, *hit);
      ++out.stats.cache_hits;
    } else {
      todo.push_back(i);
    }
  }
  if (todo.empty()) return out;

  // Largest first, so the big files start at once on separate workers and
  // the small ones fill in behind them instead of one big file running last.
  std::stable_sort(todo.begin(), todo.end(),
                   [&](size_t a, size_t b) { return walk.entries[a].size > walk.entries[b].size; });
  UniqueFd root_fd = open_root(root);
  std::vector<FileHash> results(todo.size());
  // StatCache is read-only during the parallel section (previous() only);
  // all recording happens after it.
  registry::run_parallel(todo.size(), workers, [&](size_t k) {
    const SourceEntry& entry = walk.entries[todo[k]];
    results[k] = hash_file(root_fd.get(), entry.path, display_path(root, entry.path),
                           cache.previous(entry.path));
  });

  for (size_t k = 0; k < todo.size(); ++k) {
    SourceEntry& entry = walk.entries[todo[k]];
    FileHash& r = results[k];
    refresh(entry, r.stat);
    CachedFile facts;
    facts.size = r.stat.size;
    facts.mtime_ns = r.stat.mtime_ns;
    facts.ctime_ns = r.racy ? kSmudgedCtime : r.stat.ctime_ns;
    facts.inode = r.stat.inode;
    facts.xxh3 = r.xxh3;
    facts.sha256 = r.sha256;
    cache.record(entry.path, facts);
    out.digests[todo[k]] = std::move(r.sha256);
    ++out.stats.files_hashed;
    out.stats.bytes_hashed += r.bytes_read;
    if (r.sha_reused) ++out.stats.sha_reused;
    if (r.racy) ++out.stats.racy;
  }
  return out;
}

std::string read_verified(const fs::path& root, const SourceEntry& entry,
                          const registry::Digest& expected) {
  std::string display = display_path(root, entry.path);
  auto changed = [&] {
    return Error(ErrorKind::BadInput,
                 display + " changed while the snapshot was being taken; run the push again");
  };
  if (entry.size > kMaxVerifiedRead) {
    throw Error(ErrorKind::BadInput, display + " is too large to read into memory (" +
                                         std::to_string(entry.size) + " bytes)");
  }
  UniqueFd root_fd = open_root(root);
  UniqueFd fd = open_beneath(root_fd.get(), entry.path, display);
  FileStat stat = stat_open_file(fd.get(), display);
  if (!S_ISREG(stat.mode) || stat.size != entry.size) throw changed();
  std::string bytes;
  bytes.reserve(static_cast<size_t>(entry.size));
  registry::Hasher sha;
  read_all(fd.get(), entry.size, kReadChunk, display, [&](const char* data, size_t n) {
    bytes.append(data, n);
    sha.update(data, n);
  });
  if (bytes.size() != entry.size || sha.finish() != expected) throw changed();
  return bytes;
}

}  // namespace envbuild::snapshot
