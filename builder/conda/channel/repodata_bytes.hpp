#pragma once
// The bytes of one repodata document, kept for the lifetime of the index
// that points into them: a read-only mapping of a cache file (we replace
// cache files only by rename, so a mapping never sees them change), or a
// buffer for local channels and decompressed input (a user's file may be
// rewritten in place, which would make a mapping fault).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace envbuild::builder::conda {

class RepodataBytes {
 public:
  // Maps `fd`'s file (the caller keeps ownership of fd; the mapping
  // outlives it). Error(BadInput) past `max_bytes`, naming `what`.
  static std::shared_ptr<const RepodataBytes> map(int fd, uint64_t max_bytes,
                                                  const std::string& what);
  // Reads a whole file; Error(BadInput) past `max_bytes`.
  static std::shared_ptr<const RepodataBytes> read(const std::filesystem::path& path,
                                                   uint64_t max_bytes, const std::string& what);
  static std::shared_ptr<const RepodataBytes> own(std::string bytes);

  ~RepodataBytes();
  RepodataBytes(const RepodataBytes&) = delete;
  RepodataBytes& operator=(const RepodataBytes&) = delete;

  std::string_view view() const { return {data_, size_}; }
  bool mapped() const { return mapped_; }
  // After the index pass: lets the kernel drop the mapped pages from this
  // process (they stay in the page cache and come back on access), so
  // resident memory is the index plus the records actually parsed. No-op
  // for buffers.
  void release_pages() const;

 private:
  RepodataBytes() = default;
  const char* data_ = "";
  size_t size_ = 0;
  bool mapped_ = false;
  std::string owned_;
};

}  // namespace envbuild::builder::conda
