#include "snapshot/stat_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>

#include "registry/atomic_file.hpp"
#include "registry/error.hpp"
#include "registry/unique_fd.hpp"
#include "snapshot/file_read.hpp"
#include "snapshot/stat_cache_format.hpp"

namespace envbuild::snapshot {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxNoteKey = 1024;
constexpr size_t kMaxNoteValue = size_t{16} << 20;

// The whole file, or nullopt when it is missing, unreadable or too large.
std::optional<std::string> read_small_file(const fs::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  auto size = static_cast<uint64_t>(st.st_size);
  if (size > kMaxStatCacheBytes) return std::nullopt;
  std::string bytes;
  bytes.reserve(static_cast<size_t>(size));
  try {
    read_all(fd.get(), size, kReadChunk, file.string(),
             [&](const char* data, size_t n) { bytes.append(data, n); });
  } catch (const Error&) {
    return std::nullopt;
  }
  if (bytes.size() != size) return std::nullopt;  // changed under us: not worth trusting
  return bytes;
}

int64_t realtime_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

fs::path StatCache::file_for(const fs::path& cache_dir, const fs::path& root) {
  std::string absolute = fs::absolute(root).string();
  return cache_dir / (registry::Digest::sha256_of(absolute).hex() + ".statcache");
}

StatCache StatCache::load(const fs::path& file) {
  StatCache cache;
  std::optional<std::string> bytes = read_small_file(file);
  if (!bytes) return cache;
  std::optional<StatCacheContents> contents = decode_stat_cache(*bytes);
  if (!contents) return cache;
  cache.loaded_ = std::move(contents->entries);
  cache.notes_ = std::move(contents->notes);
  cache.written_at_ns_ = contents->written_at_ns;
  cache.loaded_from_ = file;
  return cache;
}

std::optional<CachedFile> StatCache::trusted(const SourceEntry& entry) const {
  if (entry.type != EntryType::File) return std::nullopt;
  auto it = loaded_.find(entry.path);
  if (it == loaded_.end()) return std::nullopt;
  const CachedFile& f = it->second;
  if (f.size != entry.size || f.mtime_ns != entry.mtime_ns || f.ctime_ns != entry.ctime_ns ||
      f.inode != entry.inode) {
    return std::nullopt;
  }
  // Racy: modified in the same timestamp tick the cache was written in (or
  // later), so a second change may hide behind an identical stat.
  if (f.mtime_ns >= written_at_ns_) return std::nullopt;
  return f;
}

const CachedFile* StatCache::previous(const std::string& path) const {
  auto it = loaded_.find(path);
  return it == loaded_.end() ? nullptr : &it->second;
}

void StatCache::record(const std::string& path, const CachedFile& facts) {
  recorded_.insert_or_assign(path, facts);
}

std::optional<std::string> StatCache::note(const std::string& key) const {
  auto it = notes_.find(key);
  if (it == notes_.end()) return std::nullopt;
  return it->second;
}

void StatCache::set_note(const std::string& key, std::string value) {
  if (key.empty() || key.size() > kMaxNoteKey || value.size() > kMaxNoteValue) {
    throw Error(ErrorKind::BadInput, "stat cache note '" + key.substr(0, 100) +
                                         "': key must be 1 to 1024 bytes and value at most 16 MiB");
  }
  auto it = notes_.find(key);
  if (it != notes_.end() && it->second == value) return;
  notes_.insert_or_assign(key, std::move(value));
  notes_changed_ = true;
}

bool StatCache::unchanged_since_load() const {
  if (loaded_from_.empty() || notes_changed_ || recorded_.size() != loaded_.size()) return false;
  for (const auto& [path, f] : recorded_) {
    auto it = loaded_.find(path);
    if (it == loaded_.end()) return false;
    const CachedFile& old = it->second;
    // A racy entry must be written again so its next check uses a later
    // write time; an old file's stamp is stricter, never looser.
    if (f.size != old.size || f.mtime_ns != old.mtime_ns || f.ctime_ns != old.ctime_ns ||
        f.inode != old.inode || f.xxh3 != old.xxh3 || f.sha256 != old.sha256 ||
        f.mtime_ns >= written_at_ns_) {
      return false;
    }
  }
  return true;
}

void StatCache::save(const fs::path& file) const {
  if (file == loaded_from_ && unchanged_since_load()) {
    std::error_code ec;
    if (fs::is_regular_file(file, ec)) return;
  }
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) {
    throw Error(ErrorKind::Internal,
                "cannot create cache folder " + file.parent_path().string() + ": " + ec.message());
  }
  registry::AtomicFile out(file);
  // The racy rule compares file mtimes with this moment, so take it from the
  // filesystem clock: the new cache file's own mtime, stamped now, after all
  // hashing. Kernel timestamps come from a coarse clock that can lag the
  // precise one by a tick; a precise reading could exceed the mtime that a
  // later write in the same tick receives, and that write would be trusted.
  // The earlier of the two readings is kept (if the cache folder's
  // filesystem runs ahead of this machine's clock, the local clock wins).
  int64_t written_at = realtime_now_ns();
  struct stat st {};
  if (::stat(out.temp_path().c_str(), &st) == 0) {
    written_at = std::min(written_at, to_file_stat(st).mtime_ns);
  }
  out.write(encode_stat_cache(written_at, recorded_, notes_));
  out.commit();
}

}  // namespace envbuild::snapshot
