#pragma once
// A package archive being written: registry::AtomicFile (a flocked
// ".tmp-<16 hex>" beside its final name, renamed into place) without the
// fsyncs on every commit. A fetch writes hundreds of archives, and four
// fsyncs each (file, directory, marker, directory) made 200 packages of
// 256 KiB take 3-5 s instead of 0.3 s. Durability comes from one syncfs per
// fetch instead (fetch_run.cpp), before anyone builds from the archives.
#include <filesystem>
#include <string_view>

#include "registry/atomic_file.hpp"

namespace envbuild::builder::conda {

class PartialFile : public registry::AtomicFile {
 public:
  explicit PartialFile(std::filesystem::path final_path)
      : AtomicFile(std::move(final_path), registry::Durability::Deferred) {}

  // Sets the temp's mtime to `seconds_ago` before now.
  void backdate_mtime(int seconds_ago);
};

// Writes `content` to `path` through a PartialFile (no fsync).
void write_file_replacing(const std::filesystem::path& path, std::string_view content);

// syncfs(2) of the filesystem holding `dir`: everything written there so far
// is durable afterwards.
void sync_filesystem(const std::filesystem::path& dir);

}  // namespace envbuild::builder::conda
