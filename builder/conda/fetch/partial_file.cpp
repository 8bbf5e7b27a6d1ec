#include "builder/conda/fetch/partial_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "registry/atomic_file.hpp"
#include "registry/error.hpp"
#include "registry/file_lock.hpp"

namespace envbuild::builder::conda {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw Error(ErrorKind::Internal, what + " " + path.string() + ": " + std::strerror(errno));
}

std::string random_hex16() {
  unsigned char bytes[8];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorKind::Internal, std::string("getrandom failed: ") + std::strerror(errno));
    }
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

bool same_file(int fd, const std::filesystem::path& path) {
  struct stat by_fd {};
  struct stat by_name {};
  if (::fstat(fd, &by_fd) != 0 || ::stat(path.c_str(), &by_name) != 0) return false;
  return by_fd.st_dev == by_name.st_dev && by_fd.st_ino == by_name.st_ino;
}

}  // namespace

PartialFile::PartialFile(std::filesystem::path final_path) : final_path_(std::move(final_path)) {
  std::filesystem::path dir = final_path_.parent_path();
  if (dir.empty()) dir = ".";
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::filesystem::path candidate = dir / (std::string(registry::kTempPrefix) + random_hex16());
    int fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      fail("cannot create temp file", candidate);
    }
    try {
      registry::lock_descriptor(fd, registry::LockMode::Exclusive, /*wait=*/true, candidate);
    } catch (...) {
      ::close(fd);
      throw;
    }
    // A cleanup may have removed the name between open and flock (it saw an
    // unlocked temp); then this inode is orphaned and we start over.
    if (same_file(fd, candidate)) {
      fd_ = fd;
      temp_path_ = std::move(candidate);
      return;
    }
    ::close(fd);
  }
  throw Error(ErrorKind::Internal, "cannot create a temp file in " + dir.string());
}

PartialFile::~PartialFile() { discard(); }

void PartialFile::discard() {
  if (fd_ < 0) return;
  ::unlink(temp_path_.c_str());  // while still locked, so no cleanup races the name
  ::close(fd_);
  fd_ = -1;
}

void PartialFile::write(const void* data, size_t size) {
  if (fd_ < 0)
    throw Error(ErrorKind::Internal, "write to a closed temp for " + final_path_.string());
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", temp_path_);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void PartialFile::backdate_mtime(int seconds_ago) {
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  ::clock_gettime(CLOCK_REALTIME, &times[1]);
  times[1].tv_sec -= seconds_ago;
  if (::futimens(fd_, times) != 0) fail("cannot set the mtime of", temp_path_);
}

void PartialFile::commit() {
  if (fd_ < 0)
    throw Error(ErrorKind::Internal, "commit of a closed temp for " + final_path_.string());
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0)
    fail("cannot rename into", final_path_);
  ::close(fd_);  // releases the flock; the temp name no longer exists
  fd_ = -1;
}

void write_file_replacing(const std::filesystem::path& path, std::string_view content) {
  PartialFile file(path);
  file.write(content.data(), content.size());
  file.commit();
}

void sync_filesystem(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("cannot open directory", dir);
  int rc = ::syncfs(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) {
    errno = saved;
    fail("cannot sync the filesystem of", dir);
  }
}

}  // namespace envbuild::builder::conda
