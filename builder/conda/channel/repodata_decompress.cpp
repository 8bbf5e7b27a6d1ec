#include "builder/conda/channel/repodata_decompress.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include <memory>

#include "registry/error.hpp"

namespace envbuild::builder::conda {
namespace {

[[noreturn]] void too_big(const std::string& what, uint64_t max_out) {
  throw Error(ErrorKind::BadInput,
              what + " decompresses to more than " + std::to_string(max_out) + " bytes");
}

std::string archive_message(archive* a) {
  const char* m = archive_error_string(a);
  return m != nullptr ? m : "unknown error";
}

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

}  // namespace

ZstdPushDecoder::ZstdPushDecoder(registry::ByteSink& out, uint64_t max_out, std::string what)
    : out_(out), max_out_(max_out), what_(std::move(what)), dctx_(ZSTD_createDCtx()) {
  if (dctx_ == nullptr) throw Error(ErrorKind::Internal, "ZSTD_createDCtx failed");
  // libzstd's default window limit (128 MiB) stays: it bounds memory.
  buffer_.resize(ZSTD_DStreamOutSize());
}

ZstdPushDecoder::~ZstdPushDecoder() { ZSTD_freeDCtx(dctx_); }

void ZstdPushDecoder::write(const char* data, size_t size) {
  ZSTD_inBuffer in{data, size, 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{buffer_.data(), buffer_.size(), 0};
    size_t ret = ZSTD_decompressStream(dctx_, &out, &in);
    if (ZSTD_isError(ret)) {
      throw Error(ErrorKind::BadInput, what_ + " is not valid zstd: " + ZSTD_getErrorName(ret));
    }
    last_ret_ = ret;
    produced_ += out.pos;
    if (produced_ > max_out_) too_big(what_, max_out_);
    if (out.pos > 0) out_.write(buffer_.data(), out.pos);
  }
}

void ZstdPushDecoder::finish() {
  // Flush what the decoder still holds.
  for (;;) {
    ZSTD_inBuffer in{nullptr, 0, 0};
    ZSTD_outBuffer out{buffer_.data(), buffer_.size(), 0};
    size_t ret = ZSTD_decompressStream(dctx_, &out, &in);
    if (ZSTD_isError(ret)) {
      throw Error(ErrorKind::BadInput, what_ + " is not valid zstd: " + ZSTD_getErrorName(ret));
    }
    produced_ += out.pos;
    if (produced_ > max_out_) too_big(what_, max_out_);
    if (out.pos > 0) out_.write(buffer_.data(), out.pos);
    if (out.pos == 0) break;
    last_ret_ = ret;
  }
  if (last_ret_ != 0) throw Error(ErrorKind::BadInput, what_ + " is truncated zstd");
}

void decompress_bzip2_file(const std::filesystem::path& in, registry::ByteSink& out,
                           uint64_t max_out, const std::string& what) {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
  if (!a) throw Error(ErrorKind::Internal, "archive_read_new failed");
  // ARCHIVE_WARN means libarchive would run an external bzip2: refuse that.
  if (archive_read_support_filter_bzip2(a.get()) != ARCHIVE_OK ||
      archive_read_support_format_raw(a.get()) != ARCHIVE_OK) {
    throw Error(ErrorKind::Internal, "libarchive was built without bzip2 support");
  }
  if (archive_read_open_filename(a.get(), in.c_str(), 1 << 16) != ARCHIVE_OK) {
    throw Error(ErrorKind::BadInput, what + " is not readable bzip2: " + archive_message(a.get()));
  }
  archive_entry* entry = nullptr;
  int r = archive_read_next_header(a.get(), &entry);
  if (r == ARCHIVE_EOF) return;  // an empty stream: an empty document
  if (r != ARCHIVE_OK) {
    throw Error(ErrorKind::BadInput, what + " is not valid bzip2: " + archive_message(a.get()));
  }
  if (archive_filter_code(a.get(), 0) != ARCHIVE_FILTER_BZIP2) {
    throw Error(ErrorKind::BadInput, what + " is not bzip2");
  }
  std::string buffer(1 << 20, '\0');
  uint64_t produced = 0;
  for (;;) {
    la_ssize_t n = archive_read_data(a.get(), buffer.data(), buffer.size());
    if (n < 0) {
      throw Error(ErrorKind::BadInput, what + " is not valid bzip2: " + archive_message(a.get()));
    }
    if (n == 0) break;
    produced += static_cast<uint64_t>(n);
    if (produced > max_out) too_big(what, max_out);
    out.write(buffer.data(), static_cast<size_t>(n));
  }
}

std::string decompress_zstd(std::string_view in, uint64_t max_out, const std::string& what) {
  StringSink sink;
  ZstdPushDecoder decoder(sink, max_out, what);
  decoder.write(in.data(), in.size());
  decoder.finish();
  return std::move(sink.bytes);
}

}  // namespace envbuild::builder::conda
