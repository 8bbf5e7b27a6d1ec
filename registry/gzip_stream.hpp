#pragma once
// gzip over zlib's raw deflate with a header and trailer we write ourselves
// (mtime 0, no name, OS byte 255), so the container bytes never depend on
// zlib's OS_CODE or on the host. Reading accepts multi-member streams.
#include <zlib.h>

#include <string>
#include <vector>

#include "registry/compress_stream.hpp"

namespace envbuild::registry {

class GzipCompressor : public Compressor {
 public:
  // level: 1..9, or < 0 for 6.
  GzipCompressor(int level, ByteSink& out);
  ~GzipCompressor() override;
  GzipCompressor(const GzipCompressor&) = delete;
  GzipCompressor& operator=(const GzipCompressor&) = delete;

  void write(const char* data, size_t size) override;
  void finish() override;

 private:
  void pump(int flush);

  ByteSink& out_;
  z_stream zs_{};
  std::vector<char> buf_;
  uLong crc_ = 0;
  uint32_t isize_ = 0;  // input size modulo 2^32, as the trailer wants
  bool finished_ = false;
};

class GzipDecompressor : public ByteSource {
 public:
  GzipDecompressor(BlobReader& in, std::string prefix, std::string name);
  ~GzipDecompressor() override;
  GzipDecompressor(const GzipDecompressor&) = delete;
  GzipDecompressor& operator=(const GzipDecompressor&) = delete;

  size_t read(char* buf, size_t n) override;

 private:
  bool refill();

  BlobReader& in_;
  std::string name_;
  z_stream zs_{};
  std::vector<char> in_buf_;
  bool in_eof_ = false;
  bool member_done_ = false;  // the last inflate() reached a member's end
  bool done_ = false;
};

}  // namespace envbuild::registry
