#pragma once
// zstd through libzstd's streaming API, single-threaded so output depends
// only on input, level and library version. Reading accepts multiple frames
// and keeps libzstd's default window limit (bounded memory on hostile input).
#include <zstd.h>

#include <string>
#include <vector>

#include "registry/compress_stream.hpp"

namespace envbuild::registry {

class ZstdCompressor : public Compressor {
 public:
  // level: 1..19 (or libzstd's range), or < 0 for 3.
  // threads: 0 for every core. zstd's multi-threaded output is the same for
  // any worker count >= 1, so we always run at least one worker.
  ZstdCompressor(int level, ByteSink& out, size_t threads = 0);
  ~ZstdCompressor() override;
  ZstdCompressor(const ZstdCompressor&) = delete;
  ZstdCompressor& operator=(const ZstdCompressor&) = delete;

  void write(const char* data, size_t size) override;
  void finish() override;

 private:
  ByteSink& out_;
  ZSTD_CCtx* cctx_ = nullptr;
  std::vector<char> buf_;
  bool finished_ = false;
};

class ZstdDecompressor : public ByteSource {
 public:
  ZstdDecompressor(BlobReader& in, std::string prefix, std::string name);
  ~ZstdDecompressor() override;
  ZstdDecompressor(const ZstdDecompressor&) = delete;
  ZstdDecompressor& operator=(const ZstdDecompressor&) = delete;

  size_t read(char* buf, size_t n) override;

 private:
  BlobReader& in_;
  std::string name_;
  ZSTD_DCtx* dctx_ = nullptr;
  std::vector<char> in_buf_;
  ZSTD_inBuffer input_{nullptr, 0, 0};
  bool in_eof_ = false;
  // 0 when the last call ended exactly at a frame end; starts non-zero so an
  // empty input counts as truncated.
  size_t last_ret_ = 1;
};

}  // namespace envbuild::registry
