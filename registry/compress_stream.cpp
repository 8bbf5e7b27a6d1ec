#include "registry/compress_stream.hpp"

#include <algorithm>
#include <cstring>

#include "registry/gzip_stream.hpp"
#include "registry/parallel_gzip.hpp"
#include "registry/zstd_stream.hpp"

namespace envbuild::registry {

namespace {

class PlainWriter : public Compressor {
 public:
  explicit PlainWriter(ByteSink& out) : out_(out) {}
  void write(const char* data, size_t size) override { out_.write(data, size); }
  void finish() override {}

 private:
  ByteSink& out_;
};

// Serves the sniffed prefix first, then the rest of the reader.
class PlainReader : public ByteSource {
 public:
  PlainReader(BlobReader& in, std::string prefix) : in_(in), prefix_(std::move(prefix)) {}
  size_t read(char* buf, size_t n) override {
    if (pos_ < prefix_.size()) {
      size_t k = std::min(n, prefix_.size() - pos_);
      std::memcpy(buf, prefix_.data() + pos_, k);
      pos_ += k;
      return k;
    }
    return in_.read(buf, n);
  }

 private:
  BlobReader& in_;
  std::string prefix_;
  size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<Compressor> make_compressor(Codec codec, int level, ByteSink& out, size_t threads) {
  switch (codec) {
    case Codec::Gzip:
      return std::make_unique<ParallelGzipCompressor>(level, out, threads);
    case Codec::Zstd:
      return std::make_unique<ZstdCompressor>(level, out, threads);
    case Codec::None:
      break;
  }
  return std::make_unique<PlainWriter>(out);
}

std::unique_ptr<ByteSource> make_decompressor(Codec codec, BlobReader& in, std::string prefix,
                                              std::string name) {
  switch (codec) {
    case Codec::Gzip:
      return std::make_unique<GzipDecompressor>(in, std::move(prefix), std::move(name));
    case Codec::Zstd:
      return std::make_unique<ZstdDecompressor>(in, std::move(prefix), std::move(name));
    case Codec::None:
      break;
  }
  return std::make_unique<PlainReader>(in, std::move(prefix));
}

Codec sniff_codec(std::string_view b) {
  if (b.size() >= 2 && b[0] == '\x1f' && b[1] == '\x8b') return Codec::Gzip;
  if (b.size() >= 4 && b.substr(0, 4) == std::string_view("\x28\xb5\x2f\xfd", 4))
    return Codec::Zstd;
  return Codec::None;
}

std::unique_ptr<ByteSource> make_sniffing_decompressor(BlobReader& in, std::string name) {
  std::string prefix(4, '\0');
  size_t have = 0;
  while (have < prefix.size()) {
    size_t n = in.read(prefix.data() + have, prefix.size() - have);
    if (n == 0) break;
    have += n;
  }
  prefix.resize(have);
  const Codec codec = sniff_codec(prefix);  // before `prefix` is handed over
  return make_decompressor(codec, in, std::move(prefix), std::move(name));
}

}  // namespace envbuild::registry
