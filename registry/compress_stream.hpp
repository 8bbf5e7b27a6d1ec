#pragma once
// Byte-stream plumbing for layer blobs: a compressor pushes into a sink, a
// decompressor pulls from a BlobReader. Gzip and zstd are driven through zlib
// and libzstd directly so that the bytes we produce are pinned to our code
// and settings, not to an archiver's filter defaults.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "registry/blob_io.hpp"

namespace envbuild::registry {

enum class Codec { None, Gzip, Zstd };

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(const char* data, size_t size) = 0;
};

class Compressor {
 public:
  virtual ~Compressor() = default;
  virtual void write(const char* data, size_t size) = 0;
  // Flushes the end of the stream into the sink; no write may follow.
  virtual void finish() = 0;
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes; 0 means the end of the stream. Throws Error(BadInput)
  // on corrupt or truncated input.
  virtual size_t read(char* buf, size_t n) = 0;
};

// `level` < 0 picks the codec's default (gzip 6, zstd 3). `threads` 0 uses
// every core; the output bytes do not depend on it.
std::unique_ptr<Compressor> make_compressor(Codec codec, int level, ByteSink& out,
                                            size_t threads = 0);

// `prefix` holds bytes already taken from `in` (e.g. for sniffing); they are
// decoded first. `name` labels error messages.
std::unique_ptr<ByteSource> make_decompressor(Codec codec, BlobReader& in, std::string prefix,
                                              std::string name);

// Sniffs the codec from the first bytes of `in` (sniff_codec; those bytes
// are handed on to the decoder) and decodes it.
std::unique_ptr<ByteSource> make_sniffing_decompressor(BlobReader& in, std::string name);

// Identifies gzip and zstd by their magic bytes; anything else is None.
Codec sniff_codec(std::string_view first_bytes);

// Size of the staging buffers used on both sides.
inline constexpr size_t kStreamBufferSize = 1 << 20;

}  // namespace envbuild::registry
