#include "registry/gzip_stream.hpp"

#include <algorithm>
#include <climits>
#include <cstring>

#include "registry/error.hpp"

namespace envbuild::registry {

namespace {

// zlib counts in uInt; feed it at most this much per call.
constexpr size_t kMaxChunk = 1u << 30;

}  // namespace

GzipDecompressor::GzipDecompressor(BlobReader& in, std::string prefix, std::string name)
    : in_(in), name_(std::move(name)), in_buf_(std::max(kStreamBufferSize, prefix.size())) {
  // 16 + 15: gzip framing only, zlib checks the header, CRC and ISIZE.
  if (inflateInit2(&zs_, 16 + 15) != Z_OK)
    throw Error(ErrorKind::Internal, "cannot initialise zlib inflate");
  std::memcpy(in_buf_.data(), prefix.data(), prefix.size());
  zs_.next_in = reinterpret_cast<Bytef*>(in_buf_.data());
  zs_.avail_in = static_cast<uInt>(prefix.size());
}

GzipDecompressor::~GzipDecompressor() { inflateEnd(&zs_); }

bool GzipDecompressor::refill() {
  if (zs_.avail_in > 0) return true;
  if (in_eof_) return false;
  size_t got = in_.read(in_buf_.data(), in_buf_.size());
  if (got == 0) {
    in_eof_ = true;
    return false;
  }
  zs_.next_in = reinterpret_cast<Bytef*>(in_buf_.data());
  zs_.avail_in = static_cast<uInt>(got);
  return true;
}

size_t GzipDecompressor::read(char* buf, size_t n) {
  if (done_ || n == 0) return 0;
  size_t want = std::min(n, kMaxChunk);
  zs_.next_out = reinterpret_cast<Bytef*>(buf);
  zs_.avail_out = static_cast<uInt>(want);
  while (zs_.avail_out == want) {
    bool have_input = refill();
    if (member_done_) {
      // A gzip file may hold several members back to back.
      if (!have_input) {
        done_ = true;
        break;
      }
      inflateReset(&zs_);
      member_done_ = false;
    }
    if (!have_input) throw Error(ErrorKind::BadInput, "truncated gzip stream in " + name_);
    int rc = inflate(&zs_, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      member_done_ = true;
    } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && zs_.avail_in == 0)) {
      throw Error(ErrorKind::BadInput,
                  "corrupt gzip stream in " + name_ + ": " +
                      (zs_.msg ? zs_.msg : "inflate error " + std::to_string(rc)));
    }
  }
  return want - zs_.avail_out;
}

}  // namespace envbuild::registry
