#include "builder/conda/channel/repodata_bytes.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "registry/error.hpp"
#include "registry/unique_fd.hpp"

namespace envbuild::builder::conda {
namespace {

[[noreturn]] void too_big(const std::string& what, uint64_t max_bytes) {
  throw Error(ErrorKind::BadInput,
              what + " is larger than " + std::to_string(max_bytes) + " bytes");
}

}  // namespace

std::shared_ptr<const RepodataBytes> RepodataBytes::map(int fd, uint64_t max_bytes,
                                                        const std::string& what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw Error(ErrorKind::Internal, "cannot stat " + what + ": " + std::strerror(errno));
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) too_big(what, max_bytes);
  std::shared_ptr<RepodataBytes> out(new RepodataBytes());
  if (st.st_size == 0) return out;
  void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    throw Error(ErrorKind::Internal, "cannot map " + what + ": " + std::strerror(errno));
  }
  // The index pass reads front to back.
  ::madvise(p, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
  out->data_ = static_cast<const char*>(p);
  out->size_ = static_cast<size_t>(st.st_size);
  out->mapped_ = true;
  return out;
}

std::shared_ptr<const RepodataBytes> RepodataBytes::read(const std::filesystem::path& path,
                                                         uint64_t max_bytes,
                                                         const std::string& what) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    throw Error(errno == ENOENT ? ErrorKind::NotFound : ErrorKind::Internal,
                "cannot read " + what + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(ErrorKind::BadInput, what + " is not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) too_big(what, max_bytes);
  std::string bytes;
  bytes.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  // The file may grow or shrink while we read: read what is there, bounded.
  for (;;) {
    if (got == bytes.size()) {
      if (bytes.size() >= max_bytes) {
        char probe = 0;
        ssize_t n = ::read(fd.get(), &probe, 1);
        if (n > 0) too_big(what, max_bytes);
        break;
      }
      bytes.resize(std::min<uint64_t>(max_bytes, bytes.size() + (1 << 20)));
    }
    ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorKind::Internal, "cannot read " + what + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  return own(std::move(bytes));
}

std::shared_ptr<const RepodataBytes> RepodataBytes::own(std::string bytes) {
  std::shared_ptr<RepodataBytes> out(new RepodataBytes());
  out->owned_ = std::move(bytes);
  out->data_ = out->owned_.data();
  out->size_ = out->owned_.size();
  return out;
}

RepodataBytes::~RepodataBytes() {
  if (mapped_) ::munmap(const_cast<char*>(data_), size_);
}

void RepodataBytes::release_pages() const {
  if (mapped_) ::madvise(const_cast<char*>(data_), size_, MADV_DONTNEED);
}

}  // namespace envbuild::builder::conda
