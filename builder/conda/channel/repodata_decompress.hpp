#pragma once
// Decompressing repodata.json.zst and repodata.json.bz2 (CEP 36 variants),
// bounded: a decompressed size past `max_out` is Error(BadInput), so a
// small hostile file cannot fill the disk or memory. zstd is libzstd's
// streaming API (fed as bytes arrive, e.g. from HTTP); bzip2 goes through
// libarchive's raw format (already linked; in-process with libbz2, and
// refused if libarchive would run an external bzip2 program).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "registry/compress_stream.hpp"

typedef struct ZSTD_DCtx_s ZSTD_DCtx;

namespace envbuild::builder::conda {

// Push-based zstd decoder: write() compressed bytes, finish() at the end.
// `what` names the input in errors (a public URL or path).
class ZstdPushDecoder {
 public:
  ZstdPushDecoder(registry::ByteSink& out, uint64_t max_out, std::string what);
  ~ZstdPushDecoder();
  ZstdPushDecoder(const ZstdPushDecoder&) = delete;
  ZstdPushDecoder& operator=(const ZstdPushDecoder&) = delete;

  void write(const char* data, size_t size);
  // Error(BadInput) when the input ended inside a frame (or was empty).
  void finish();

 private:
  registry::ByteSink& out_;
  uint64_t max_out_;
  uint64_t produced_ = 0;
  std::string what_;
  ZSTD_DCtx* dctx_ = nullptr;
  std::string buffer_;
  size_t last_ret_ = 1;  // 0 right after a complete frame
};

// Decompresses a .bz2 file into `out`.
void decompress_bzip2_file(const std::filesystem::path& in, registry::ByteSink& out,
                           uint64_t max_out, const std::string& what);

// Whole-buffer helpers for local files.
std::string decompress_zstd(std::string_view in, uint64_t max_out, const std::string& what);

// Collects into a string (bounded by the decoder).
class StringSink : public registry::ByteSink {
 public:
  void write(const char* data, size_t size) override { bytes.append(data, size); }
  std::string bytes;
};

}  // namespace envbuild::builder::conda
