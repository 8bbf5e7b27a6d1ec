#pragma once
// gzip on every core. The input is cut into fixed-size chunks; each chunk
// becomes one complete gzip member (RFC 1952 allows a file to be a series of
// members, and gzip(1), Go's compress/gzip, zlib and libarchive all read
// them), compressed by libdeflate at a pinned level. The member boundaries
// depend only on the input offset, so the bytes are the same whatever the
// thread count or machine.
#include <cstddef>
#include <memory>
#include <string>

#include "registry/chunk_pipeline.hpp"
#include "registry/compress_stream.hpp"

struct libdeflate_compressor;

namespace envbuild::registry {

// Uncompressed bytes per gzip member: large enough that the restarted
// window costs well under 1% of ratio, small enough to spread a 20 MiB
// layer over two cores.
inline constexpr size_t kGzipMemberSize = 4 << 20;

class ParallelGzipCompressor : public Compressor {
 public:
  // level: 1..9 (libdeflate goes to 12; we keep gzip's range), < 0 for 6.
  // threads: 0 picks the machine's core count.
  ParallelGzipCompressor(int level, ByteSink& out, size_t threads = 0);
  ~ParallelGzipCompressor() override;
  ParallelGzipCompressor(const ParallelGzipCompressor&) = delete;
  ParallelGzipCompressor& operator=(const ParallelGzipCompressor&) = delete;

  void write(const char* data, size_t size) override;
  void finish() override;

 private:
  struct CompressorDeleter {
    void operator()(libdeflate_compressor* c) const;
  };
  void compress_member(size_t worker, const std::string& in, std::string& out);

  int level_;
  std::vector<std::unique_ptr<libdeflate_compressor, CompressorDeleter>> compressors_;
  std::string pending_;
  bool any_member_ = false;
  bool finished_ = false;
  ChunkPipeline pipeline_;  // last: its threads use the members above
};

}  // namespace envbuild::registry
