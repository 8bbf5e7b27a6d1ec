#pragma once
// A package archive being written: a temp file beside its final name that
// follows registry/atomic_file.hpp's convention (named ".tmp-<16 hex>",
// flocked by its writer from creation to rename), so remove_abandoned_temp
// removes it once its writer is dead and never while it is alive.
//
// Unlike AtomicFile it does not fsync on every commit: a fetch writes
// hundreds of archives, and four fsyncs each (file, directory, marker,
// directory) made 200 packages of 256 KiB take 3-5 s instead of 0.3 s.
// Durability comes from one syncfs per fetch instead (package_cache.hpp
// explains why that is enough for the cache's guarantees).
#include <filesystem>
#include <string_view>

namespace envbuild::builder::conda {

class PartialFile {
 public:
  // Creates and locks a fresh temp file next to `final_path`.
  explicit PartialFile(std::filesystem::path final_path);
  ~PartialFile();  // removes the temp unless committed
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  void write(const void* data, size_t size);
  // Sets the temp's mtime to `seconds_ago` before now.
  void backdate_mtime(int seconds_ago);
  // Renames the temp over the final path and releases it.
  void commit();
  // Removes the temp now.
  void discard();

  const std::filesystem::path& temp_path() const { return temp_path_; }
  const std::filesystem::path& final_path() const { return final_path_; }

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
};

// Writes `content` to `path` through a PartialFile (no fsync).
void write_file_replacing(const std::filesystem::path& path, std::string_view content);

// syncfs(2) of the filesystem holding `dir`: everything written there so far
// is durable afterwards.
void sync_filesystem(const std::filesystem::path& dir);

}  // namespace envbuild::builder::conda
