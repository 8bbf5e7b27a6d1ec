#include "registry/blob_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "registry/error.hpp"

namespace envbuild::registry {

FileBlobReader::FileBlobReader(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    throw Error(errno == ENOENT ? ErrorKind::NotFound : ErrorKind::Internal,
                "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    ::close(fd_);
    throw Error(ErrorKind::Internal, "cannot stat " + path.string() + ": " + std::strerror(errno));
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

FileBlobReader::~FileBlobReader() {
  if (fd_ >= 0) ::close(fd_);
}

size_t FileBlobReader::read(char* buf, size_t n) {
  for (;;) {
    ssize_t got = ::read(fd_, buf, n);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno == EINTR) continue;
    throw Error(ErrorKind::Internal, "cannot read " + path_.string() + ": " + std::strerror(errno));
  }
}

void FileBlobReader::seek(uint64_t offset) {
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    throw Error(ErrorKind::Internal, "cannot seek " + path_.string() + ": " + std::strerror(errno));
  }
}

size_t MemoryBlobReader::read(char* buf, size_t n) {
  size_t left = data_.size() - pos_;
  size_t take = n < left ? n : left;
  std::memcpy(buf, data_.data() + pos_, take);
  pos_ += take;
  return take;
}

VerifyingReader::VerifyingReader(std::unique_ptr<BlobReader> inner, Digest expected,
                                 int64_t expected_size)
    : inner_(std::move(inner)),
      expected_(std::move(expected)),
      expected_size_(expected_size),
      hasher_(expected_.algorithm()) {}

size_t VerifyingReader::read(char* buf, size_t n) {
  size_t got = inner_->read(buf, n);
  if (!hashing_) return got;
  if (got > 0) {
    hasher_.update(buf, got);
    if (expected_size_ >= 0 && hasher_.bytes() > static_cast<uint64_t>(expected_size_)) {
      throw Error(ErrorKind::BadInput, "blob " + expected_.str() +
                                           " is larger than its descriptor size " +
                                           std::to_string(expected_size_));
    }
    return got;
  }
  if (!verified_) {
    uint64_t total = hasher_.bytes();
    Digest actual = hasher_.finish();
    verified_ = true;
    hashing_ = false;
    if (actual != expected_) {
      throw Error(ErrorKind::BadInput, "digest mismatch for blob " + expected_.str() +
                                           ": content hashes to " + actual.str());
    }
    if (expected_size_ >= 0 && total != static_cast<uint64_t>(expected_size_)) {
      throw Error(ErrorKind::BadInput, "size mismatch for blob " + expected_.str() +
                                           ": descriptor says " + std::to_string(expected_size_) +
                                           ", content has " + std::to_string(total));
    }
  }
  return 0;
}

void VerifyingReader::seek(uint64_t offset) {
  inner_->seek(offset);
  if (offset == 0) {
    hasher_ = Hasher(expected_.algorithm());
    hashing_ = true;
    verified_ = false;
  } else {
    // A partial re-read cannot be verified by this reader; the caller that
    // seeks (an upload retry) is checked by the receiving side's digest.
    hashing_ = false;
  }
}

std::string read_all(BlobReader& reader, uint64_t max_bytes) {
  std::string out;
  char buf[65536];
  for (;;) {
    size_t got = reader.read(buf, sizeof buf);
    if (got == 0) break;
    if (out.size() + got > max_bytes) {
      throw Error(ErrorKind::BadInput,
                  "content exceeds the limit of " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, got);
  }
  return out;
}

}  // namespace envbuild::registry
