#include "registry/gzip_stream.hpp"

#include <algorithm>
#include <climits>
#include <cstring>

#include "registry/error.hpp"

namespace envbuild::registry {

namespace {

// zlib counts in uInt; feed it at most this much per call.
constexpr size_t kMaxChunk = 1u << 30;

void put_le32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

GzipCompressor::GzipCompressor(int level, ByteSink& out) : out_(out), buf_(kStreamBufferSize) {
  if (level < 0) level = 6;
  if (level > 9)
    throw Error(ErrorKind::BadInput, "gzip level " + std::to_string(level) + " is out of 0..9");
  // Raw deflate (negative window bits): we own the gzip framing.
  if (deflateInit2(&zs_, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw Error(ErrorKind::Internal, "cannot initialise zlib deflate");
  crc_ = crc32(0L, Z_NULL, 0);
  // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL OS=255 (unknown). XFL follows RFC
  // 1952's hints for the slowest/fastest levels, as gzip(1) does.
  char header[10] = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 0, '\xff'};
  header[8] = level == 9 ? 2 : (level == 1 ? 4 : 0);
  out_.write(header, sizeof header);
}

GzipCompressor::~GzipCompressor() { deflateEnd(&zs_); }

void GzipCompressor::pump(int flush) {
  for (;;) {
    zs_.next_out = reinterpret_cast<Bytef*>(buf_.data());
    zs_.avail_out = static_cast<uInt>(buf_.size());
    int rc = deflate(&zs_, flush);
    if (rc == Z_STREAM_ERROR) throw Error(ErrorKind::Internal, "zlib deflate failed");
    size_t produced = buf_.size() - zs_.avail_out;
    if (produced > 0) out_.write(buf_.data(), produced);
    if (flush == Z_FINISH) {
      if (rc == Z_STREAM_END) return;
    } else if (zs_.avail_in == 0 && zs_.avail_out != 0) {
      return;
    }
  }
}

void GzipCompressor::write(const char* data, size_t size) {
  if (finished_) throw Error(ErrorKind::Internal, "write after finish of a gzip stream");
  while (size > 0) {
    size_t chunk = std::min(size, kMaxChunk);
    crc_ = crc32(crc_, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(chunk));
    isize_ += static_cast<uint32_t>(chunk);  // wraps by design (RFC 1952 ISIZE)
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    zs_.avail_in = static_cast<uInt>(chunk);
    pump(Z_NO_FLUSH);
    data += chunk;
    size -= chunk;
  }
}

void GzipCompressor::finish() {
  if (finished_) return;
  zs_.next_in = nullptr;
  zs_.avail_in = 0;
  pump(Z_FINISH);
  char trailer[8];
  put_le32(trailer, static_cast<uint32_t>(crc_));
  put_le32(trailer + 4, isize_);
  out_.write(trailer, sizeof trailer);
  finished_ = true;
}

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
