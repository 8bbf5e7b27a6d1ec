#pragma once
// Hashing a package archive as it streams by, and comparing the result with
// what the channel's repodata promised. SHA-256 always (it is what the cache
// keys and the lock use); MD5 only for records without a sha256 (old
// repodata and explicit lock files that carry "#md5"), since it costs as
// much again and proves little once a sha256 is known.
#include <cstdint>
#include <memory>
#include <string>

#include "builder/conda/package_record.hpp"
#include "registry/digest.hpp"

namespace envbuild::builder::conda {

struct ArchiveDigests {
  std::string sha256;  // lowercase hex
  std::string md5;     // lowercase hex; empty when not computed
  uint64_t size = 0;
};

class ArchiveHasher {
 public:
  explicit ArchiveHasher(bool with_md5);
  ~ArchiveHasher();
  ArchiveHasher(ArchiveHasher&&) noexcept;
  ArchiveHasher& operator=(ArchiveHasher&&) noexcept;

  void update(const void* data, size_t size);
  uint64_t bytes() const { return bytes_; }
  // Finishes both hashes; the hasher must not be updated afterwards.
  ArchiveDigests finish();

 private:
  struct Md5;
  registry::Hasher sha256_;
  std::unique_ptr<Md5> md5_;  // null when not wanted
  uint64_t bytes_ = 0;
};

// A hasher with MD5 exactly when `record` has no sha256.
ArchiveHasher hasher_for(const PackageRecord& record);

// Empty when `got` satisfies `record` (its size when known, its sha256, or
// its md5 when it has no sha256); otherwise what differs, e.g. "sha256 is
// ab12..., the record says cd34...". Record digests are compared
// case-insensitively.
std::string describe_mismatch(const PackageRecord& record, const ArchiveDigests& got);

}  // namespace envbuild::builder::conda
