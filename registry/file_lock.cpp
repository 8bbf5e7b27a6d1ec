#include "registry/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "registry/error.hpp"

namespace envbuild::registry {

namespace {

int open_lock_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    throw Error(ErrorKind::Internal,
                "cannot open lock file " + path.string() + ": " + std::strerror(errno));
  }
  return fd;
}

}  // namespace

bool lock_descriptor(int fd, LockMode mode, bool wait, const std::filesystem::path& what) {
  int op = (mode == LockMode::Exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  for (;;) {
    if (::flock(fd, op) == 0) return true;
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK && !wait) return false;
    throw Error(ErrorKind::Internal, "cannot lock " + what.string() + ": " + std::strerror(errno));
  }
}

FileLock FileLock::acquire(const std::filesystem::path& lock_file, LockMode mode) {
  int fd = open_lock_file(lock_file);
  try {
    lock_descriptor(fd, mode, /*wait=*/true, lock_file);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return FileLock(fd, lock_file);
}

std::optional<FileLock> FileLock::try_acquire(const std::filesystem::path& lock_file,
                                              LockMode mode) {
  int fd = open_lock_file(lock_file);
  bool held = false;
  try {
    held = lock_descriptor(fd, mode, /*wait=*/false, lock_file);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (!held) {
    ::close(fd);
    return std::nullopt;
  }
  return FileLock(fd, lock_file);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

FileLock::FileLock(FileLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

}  // namespace envbuild::registry
