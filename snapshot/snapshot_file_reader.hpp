#pragma once
// Streams a big file of the tree into put_blob while checking that its bytes
// are still the ones hashed: a file edited between hashing and upload is
// refused with a clear message, never stored under the old digest.
#include <cstdint>
#include <filesystem>
#include <string>

#include "registry/blob_io.hpp"
#include "registry/digest.hpp"
#include "registry/unique_fd.hpp"

namespace envbuild::snapshot {

class SnapshotFileReader : public registry::BlobReader {
 public:
  // Opens `rel` below `root`, following no symlink on the way.
  SnapshotFileReader(const std::filesystem::path& root, const std::string& rel,
                     registry::Digest expected, uint64_t expected_size);
  size_t read(char* buf, size_t n) override;
  void seek(uint64_t offset) override;
  uint64_t size() const override { return expected_size_; }

 private:
  [[noreturn]] void changed() const;
  void verify_end();

  UniqueFd fd_;
  std::string display_;
  registry::Digest expected_;
  uint64_t expected_size_;
  uint64_t pos_ = 0;
  registry::Hasher hasher_;
  bool hashing_ = true;  // false after a seek away from 0 (the store still verifies)
};

}  // namespace envbuild::snapshot
