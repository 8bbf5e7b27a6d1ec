#pragma once
// Reading gzip through zlib. Multi-member streams are read whole: our own
// writer (parallel_gzip.hpp) produces one member per chunk.
#include <zlib.h>

#include <string>
#include <vector>

#include "registry/compress_stream.hpp"

namespace envbuild::registry {

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
