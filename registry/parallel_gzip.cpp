#include "registry/parallel_gzip.hpp"

#include <libdeflate.h>

#include <algorithm>
#include <thread>

#include "registry/error.hpp"

namespace envbuild::registry {

namespace {

size_t thread_count(size_t requested) {
  if (requested > 0) return requested;
  size_t cores = std::thread::hardware_concurrency();
  return std::clamp<size_t>(cores, 1, 16);
}

int checked_level(int level) {
  if (level < 0) return 6;
  if (level < 1 || level > 9)
    throw Error(ErrorKind::BadInput, "gzip level " + std::to_string(level) + " is out of 1..9");
  return level;
}

void put_le32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

void ParallelGzipCompressor::CompressorDeleter::operator()(libdeflate_compressor* c) const {
  libdeflate_free_compressor(c);
}

ParallelGzipCompressor::ParallelGzipCompressor(int level, ByteSink& out, size_t threads)
    : level_(checked_level(level)),
      compressors_(thread_count(threads)),
      pipeline_(
          thread_count(threads),
          [this](size_t worker, const std::string& in, std::string& result) {
            compress_member(worker, in, result);
          },
          [&out](const std::string& member) { out.write(member.data(), member.size()); }) {
  for (auto& c : compressors_) {
    c.reset(libdeflate_alloc_compressor(level_));
    if (!c) throw Error(ErrorKind::Internal, "cannot allocate a libdeflate compressor");
  }
  pending_.reserve(kGzipMemberSize);
}

ParallelGzipCompressor::~ParallelGzipCompressor() = default;

void ParallelGzipCompressor::compress_member(size_t worker, const std::string& in,
                                             std::string& out) {
  libdeflate_compressor* c = compressors_[worker].get();
  size_t bound = libdeflate_deflate_compress_bound(c, in.size());
  out.resize(10 + bound + 8);
  // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL OS=255 (unknown): our own pinned
  // header, as in the single-stream writer.
  const char header[10] = {
      '\x1f', '\x8b', 8, 0, 0, 0, 0, 0, static_cast<char>(level_ == 9 ? 2 : (level_ == 1 ? 4 : 0)),
      '\xff'};
  std::copy(header, header + 10, out.data());
  size_t n = libdeflate_deflate_compress(c, in.data(), in.size(), out.data() + 10, bound);
  if (n == 0) throw Error(ErrorKind::Internal, "libdeflate: output larger than its own bound");
  uint32_t crc = libdeflate_crc32(0, in.data(), in.size());
  put_le32(out.data() + 10 + n, crc);
  put_le32(out.data() + 14 + n, static_cast<uint32_t>(in.size()));
  out.resize(10 + n + 8);
}

void ParallelGzipCompressor::write(const char* data, size_t size) {
  if (finished_) throw Error(ErrorKind::Internal, "write after finish of a gzip stream");
  while (size > 0) {
    size_t take = std::min(size, kGzipMemberSize - pending_.size());
    pending_.append(data, take);
    data += take;
    size -= take;
    if (pending_.size() == kGzipMemberSize) {
      pipeline_.submit(std::move(pending_));
      any_member_ = true;
      pending_ = std::string();
      pending_.reserve(kGzipMemberSize);
    }
  }
}

void ParallelGzipCompressor::finish() {
  if (finished_) return;
  finished_ = true;
  // An empty stream still needs one (empty) member to be valid gzip.
  if (!pending_.empty() || !any_member_) pipeline_.submit(std::move(pending_));
  pipeline_.finish();
}

}  // namespace envbuild::registry
