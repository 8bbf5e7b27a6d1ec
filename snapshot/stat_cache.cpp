#include "snapshot/stat_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>

#include "registry/atomic_file.hpp"
#include "registry/error.hpp"
#include "registry/unique_fd.hpp"
#include "snapshot/cache_file.hpp"
#include "snapshot/stat_cache_format.hpp"

namespace envbuild::snapshot {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxNoteKey = 1024;
constexpr size_t kMaxNoteValue = size_t{16} << 20;

}  // namespace

fs::path StatCache::file_for(const fs::path& cache_dir, const fs::path& root) {
  std::string absolute = fs::absolute(root).string();
  return cache_dir / (registry::Digest::sha256_of(absolute).hex() + ".statcache");
}

StatCache StatCache::load(const fs::path& file) {
  StatCache cache;
  std::optional<std::string> bytes = read_cache_file(file, kMaxStatCacheBytes);
  if (!bytes) return cache;
  std::optional<StatCacheContents> contents = decode_stat_cache(*bytes);
  if (!contents) return cache;
  cache.loaded_ = std::move(contents->entries);
  cache.notes_ = std::move(contents->notes);
  cache.written_at_ns_ = contents->written_at_ns;
  cache.loaded_from_ = file;
  return cache;
}

namespace {

const CachedFile* find_in(const StatCacheEntries& sorted, std::string_view path) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), path,
                             [](const auto& e, std::string_view p) { return e.first < p; });
  return it != sorted.end() && it->first == path ? &it->second : nullptr;
}

}  // namespace

std::optional<CachedFile> StatCache::trusted(const SourceEntry& entry) const {
  if (entry.type != EntryType::File) return std::nullopt;
  const CachedFile* found = find_in(loaded_, entry.path);
  if (found == nullptr) return std::nullopt;
  const CachedFile& f = *found;
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
  return find_in(loaded_, path);
}

void StatCache::record(const std::string& path, const CachedFile& facts) {
  if (recorded_sorted_ && !recorded_.empty() && !(recorded_.back().first < path))
    recorded_sorted_ = false;
  recorded_.emplace_back(path, facts);
}

void StatCache::sort_recorded() {
  if (recorded_sorted_) return;
  sort_keeping_last(recorded_);
  recorded_sorted_ = true;
}

size_t StatCache::size() {
  sort_recorded();
  return recorded_.size();
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
  for (size_t i = 0; i < recorded_.size(); ++i) {
    const auto& [path, f] = recorded_[i];
    const auto& [old_path, old] = loaded_[i];
    // A racy entry must be written again so its next check uses a later
    // write time; an old file's stamp is stricter, never looser.
    if (path != old_path || f.size != old.size || f.mtime_ns != old.mtime_ns ||
        f.ctime_ns != old.ctime_ns || f.inode != old.inode || f.xxh3 != old.xxh3 ||
        f.sha256 != old.sha256 || f.mtime_ns >= written_at_ns_) {
      return false;
    }
  }
  return true;
}

void StatCache::save(const fs::path& file) {
  sort_recorded();
  if (file == loaded_from_ && unchanged_since_load()) {
    std::error_code ec;
    if (fs::is_regular_file(file, ec)) return;
  }
  write_cache_file(
      file, [&](int64_t written_at) { return encode_stat_cache(written_at, recorded_, notes_); });
}

}  // namespace envbuild::snapshot
