#include "registry/zstd_stream.hpp"

#include <algorithm>
#include <cstring>
#include <thread>

#include "registry/error.hpp"

namespace envbuild::registry {

namespace {

void check(size_t rc, const std::string& what) {
  if (ZSTD_isError(rc)) throw Error(ErrorKind::Internal, what + ": " + ZSTD_getErrorName(rc));
}

}  // namespace

ZstdCompressor::ZstdCompressor(int level, ByteSink& out, size_t threads)
    : out_(out), cctx_(ZSTD_createCCtx()), buf_(ZSTD_CStreamOutSize()) {
  if (!cctx_) throw Error(ErrorKind::Internal, "cannot create a zstd compression context");
  if (level < 0) level = 3;
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
    ZSTD_freeCCtx(cctx_);
    throw Error(ErrorKind::BadInput, "zstd level " + std::to_string(level) + " is out of range");
  }
  check(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level), "zstd level");
  // A content checksum lets readers detect corruption inside the frame.
  check(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1), "zstd checksum flag");
  if (threads == 0) threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 16);
  check(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_nbWorkers, static_cast<int>(threads)),
        "zstd worker threads");
}

ZstdCompressor::~ZstdCompressor() { ZSTD_freeCCtx(cctx_); }

void ZstdCompressor::write(const char* data, size_t size) {
  if (finished_) throw Error(ErrorKind::Internal, "write after finish of a zstd stream");
  ZSTD_inBuffer in{data, size, 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{buf_.data(), buf_.size(), 0};
    check(ZSTD_compressStream2(cctx_, &out, &in, ZSTD_e_continue), "zstd compression failed");
    if (out.pos > 0) out_.write(buf_.data(), out.pos);
  }
}

void ZstdCompressor::finish() {
  if (finished_) return;
  ZSTD_inBuffer in{nullptr, 0, 0};
  size_t remaining = 0;
  do {
    ZSTD_outBuffer out{buf_.data(), buf_.size(), 0};
    remaining = ZSTD_compressStream2(cctx_, &out, &in, ZSTD_e_end);
    check(remaining, "zstd compression failed");
    if (out.pos > 0) out_.write(buf_.data(), out.pos);
  } while (remaining != 0);
  finished_ = true;
}

ZstdDecompressor::ZstdDecompressor(BlobReader& in, std::string prefix, std::string name)
    : in_(in),
      name_(std::move(name)),
      dctx_(ZSTD_createDCtx()),
      in_buf_(std::max(kStreamBufferSize, prefix.size())) {
  if (!dctx_) throw Error(ErrorKind::Internal, "cannot create a zstd decompression context");
  std::memcpy(in_buf_.data(), prefix.data(), prefix.size());
  input_ = ZSTD_inBuffer{in_buf_.data(), prefix.size(), 0};
}

ZstdDecompressor::~ZstdDecompressor() { ZSTD_freeDCtx(dctx_); }

size_t ZstdDecompressor::read(char* buf, size_t n) {
  ZSTD_outBuffer out{buf, n, 0};
  while (out.pos == 0 && n > 0) {
    if (input_.pos == input_.size) {
      if (!in_eof_) {
        size_t got = in_.read(in_buf_.data(), in_buf_.size());
        input_ = ZSTD_inBuffer{in_buf_.data(), got, 0};
        if (got == 0) in_eof_ = true;
      }
      if (in_eof_) {
        if (last_ret_ != 0) throw Error(ErrorKind::BadInput, "truncated zstd stream in " + name_);
        return 0;
      }
    }
    size_t rc = ZSTD_decompressStream(dctx_, &out, &input_);
    if (ZSTD_isError(rc))
      throw Error(ErrorKind::BadInput,
                  "corrupt zstd stream in " + name_ + ": " + ZSTD_getErrorName(rc));
    last_ret_ = rc;
  }
  return out.pos;
}

}  // namespace envbuild::registry
