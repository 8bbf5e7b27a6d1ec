#pragma once
// A read-only ZIP reader for `.conda` archives (CEP 35), driven by the
// central directory, the index a ZIP keeps at its end, rather than by
// scanning local headers: local headers may carry zero sizes (data
// descriptors) and a hostile file may hold local entries the directory does
// not list. Zip64 end records and extra fields are read, so members and
// offsets past 4 GiB work. Members are stored (the .conda rule) or deflated
// (tolerated); every member's size and CRC-32 are checked as it is read, and
// members may not overlap each other or the directory.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "registry/compress_stream.hpp"
#include "registry/unique_fd.hpp"

namespace envbuild::builder::conda {

struct ZipMember {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflate
  uint16_t flags = 0;
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
  uint64_t data_offset = 0;  // where the member's bytes start (from its local header)
};

class ZipReader {
 public:
  // Reads and checks the central directory. Throws Error(BadInput) naming
  // `path` for anything that is not a well-formed single-disk ZIP, and for
  // encrypted members or methods other than stored and deflate.
  explicit ZipReader(const std::filesystem::path& path);

  const std::vector<ZipMember>& members() const { return members_; }
  // nullptr when absent.
  const ZipMember* find(std::string_view name) const;

  // The member's uncompressed bytes. The stream throws Error(BadInput) when
  // the data runs past its declared size, ends early, or fails its CRC-32.
  // It reads through this reader's descriptor: keep the reader alive.
  std::unique_ptr<registry::ByteSource> open(const ZipMember& member) const;

 private:
  std::filesystem::path path_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  std::vector<ZipMember> members_;
};

}  // namespace envbuild::builder::conda
