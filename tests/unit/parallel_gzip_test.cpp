#include "registry/parallel_gzip.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "registry/blob_io.hpp"
#include "registry/compress_stream.hpp"
#include "registry/error.hpp"
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild::registry;

namespace {

struct StringSink : ByteSink {
  std::string bytes;
  void write(const char* data, size_t size) override { bytes.append(data, size); }
};

// Compressible but not trivial: words from a small vocabulary with noise.
std::string sample(size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  static const char* words[] = {"layer ", "conda ", "python ", "site-packages/", "\x00\x01", "lib"};
  std::string out;
  out.reserve(size);
  while (out.size() < size) {
    if (rng() % 7 == 0)
      out.push_back(static_cast<char>(rng()));
    else
      out += words[rng() % 6];
  }
  out.resize(size);
  return out;
}

std::string compress(Codec codec, const std::string& data, size_t threads, size_t piece = 65536) {
  StringSink sink;
  auto c = make_compressor(codec, -1, sink, threads);
  for (size_t at = 0; at < data.size(); at += piece)
    c->write(data.data() + at, std::min(piece, data.size() - at));
  c->finish();
  return sink.bytes;
}

std::string decompress(Codec codec, const std::string& blob) {
  MemoryBlobReader reader(blob);
  auto d = make_decompressor(codec, reader, "", "test blob");
  std::string out, buf(1 << 16, '\0');
  while (size_t n = d->read(buf.data(), buf.size())) out.append(buf.data(), n);
  return out;
}

TEST(ParallelGzip, SameBytesWhateverTheThreadCountOrWriteSizes) {
  std::string data = sample(3 * kGzipMemberSize + 12345, 1);
  std::string one = compress(Codec::Gzip, data, 1);
  EXPECT_EQ(compress(Codec::Gzip, data, 2, 1000), one);
  EXPECT_EQ(compress(Codec::Gzip, data, 7, kGzipMemberSize), one);
  EXPECT_LT(one.size(), data.size() / 2);
  EXPECT_EQ(decompress(Codec::Gzip, one), data);
}

TEST(ParallelGzip, EmptyAndExactMultipleInputsAreValidGzip) {
  for (size_t size : {size_t{0}, size_t{1}, kGzipMemberSize, 2 * kGzipMemberSize}) {
    std::string data = sample(size, 2);
    std::string blob = compress(Codec::Gzip, data, 2);
    ASSERT_GE(blob.size(), 18u) << size;
    EXPECT_EQ(blob.substr(0, 2), "\x1f\x8b");
    EXPECT_EQ(decompress(Codec::Gzip, blob), data) << size;
  }
}

TEST(ParallelGzip, GzipToolReadsTheMultiMemberStream) {
  envbuild::testing::TempDir dir;
  std::string data = sample(2 * kGzipMemberSize + 99, 3);
  envbuild::testing::write_file(dir.path() / "x.gz", compress(Codec::Gzip, data, 2));
  auto r = envbuild::testing::run_process({"gzip", "-t", (dir.path() / "x.gz").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = envbuild::testing::run_process({"gzip", "-dc", (dir.path() / "x.gz").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, data);
}

TEST(ParallelGzip, RejectsLevelsOutsideGzipsRange) {
  StringSink sink;
  EXPECT_THROW(ParallelGzipCompressor(10, sink), envbuild::Error);
  EXPECT_THROW(ParallelGzipCompressor(0, sink), envbuild::Error);
}

TEST(ZstdThreads, SameBytesWhateverTheWorkerCount) {
  std::string data = sample(9 << 20, 4);
  std::string one = compress(Codec::Zstd, data, 1);
  EXPECT_EQ(compress(Codec::Zstd, data, 2, 777), one);
  EXPECT_EQ(compress(Codec::Zstd, data, 4), one);
  EXPECT_EQ(decompress(Codec::Zstd, one), data);
}

}  // namespace
