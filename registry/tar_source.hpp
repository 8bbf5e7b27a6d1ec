#pragma once
// The bridge between a decompressed layer stream and libarchive's tar
// reader, shared by everything that reads layers: it hashes what passes
// (the DiffID), bounds the size, and parks exceptions instead of throwing
// them through libarchive's C frames.
#include <archive.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "registry/compress_stream.hpp"
#include "registry/digest.hpp"

namespace envbuild::registry {

struct TarSource {
  ByteSource* source = nullptr;
  std::vector<char> buf;
  Hasher diff;
  uint64_t size = 0;
  uint64_t limit = 0;
  std::string name;
  std::exception_ptr error;

  // Reads the next chunk into buf; throws Error(BadInput) past `limit`.
  size_t pull();
};

// libarchive's read callback over a TarSource.
la_ssize_t tar_read_cb(struct archive* a, void* ctx, const void** out);

struct ReadArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ReadArchive = std::unique_ptr<struct archive, ReadArchiveDeleter>;

}  // namespace envbuild::registry
