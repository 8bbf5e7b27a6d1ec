#include "registry/atomic_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "registry/digest.hpp"
#include "registry/error.hpp"
#include "registry/file_lock.hpp"

namespace envbuild::registry {

namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw Error(ErrorKind::Internal, what + " " + path.string() + ": " + std::strerror(errno));
}

}  // namespace

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
  return to_hex(bytes, sizeof bytes);
}

namespace {

bool same_file(int fd, const std::filesystem::path& path) {
  struct stat by_fd {};
  struct stat by_name {};
  if (::fstat(fd, &by_fd) != 0 || ::stat(path.c_str(), &by_name) != 0) return false;
  return by_fd.st_dev == by_name.st_dev && by_fd.st_ino == by_name.st_ino;
}

}  // namespace

bool is_temp_name(std::string_view file_name) { return file_name.starts_with(kTempPrefix); }

void fsync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("cannot open directory", dir);
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  // Some filesystems cannot fsync directories; the rename is still atomic.
  if (rc != 0 && saved != EINVAL && saved != EROFS) {
    errno = saved;
    fail("cannot fsync directory", dir);
  }
}

AtomicFile::AtomicFile(std::filesystem::path final_path, Durability durability)
    : final_path_(std::move(final_path)), durability_(durability) {
  std::filesystem::path dir = final_path_.parent_path();
  if (dir.empty()) dir = ".";
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::filesystem::path candidate = dir / (std::string(kTempPrefix) + random_hex16());
    int fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      fail("cannot create temp file", candidate);
    }
    try {
      lock_descriptor(fd, LockMode::Exclusive, /*wait=*/true, candidate);
    } catch (...) {
      ::close(fd);
      throw;
    }
    // A gc may have removed the name between open and flock (it saw an
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

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() {
  if (fd_ < 0) return;
  ::unlink(temp_path_.c_str());  // while still locked, so no gc races the name
  ::close(fd_);
  fd_ = -1;
}

void AtomicFile::write(const void* data, size_t size) {
  if (fd_ < 0)
    throw Error(ErrorKind::Internal, "write to a closed temp file for " + final_path_.string());
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

void AtomicFile::commit() {
  if (fd_ < 0)
    throw Error(ErrorKind::Internal, "commit of a closed temp file for " + final_path_.string());
  const bool sync = durability_ == Durability::OnCommit;
  if (sync && ::fsync(fd_) != 0) fail("cannot fsync", temp_path_);
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0)
    fail("cannot rename into", final_path_);
  ::close(fd_);  // releases the flock; the temp name no longer exists
  fd_ = -1;
  if (!sync) return;
  std::filesystem::path dir = final_path_.parent_path();
  fsync_directory(dir.empty() ? std::filesystem::path(".") : dir);
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  AtomicFile file(path);
  file.write(content);
  file.commit();
}

std::optional<uint64_t> remove_abandoned_temp(const std::filesystem::path& path, bool dry_run) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;  // gone (committed or removed) or not ours to open
  std::optional<uint64_t> result;
  try {
    // Holding the lock while checking the name and unlinking means the writer
    // (if any) is neither mid-write nor about to rename this name.
    if (lock_descriptor(fd, LockMode::Exclusive, /*wait=*/false, path) && same_file(fd, path)) {
      struct stat st {};
      if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if (dry_run || ::unlink(path.c_str()) == 0) result = static_cast<uint64_t>(st.st_size);
      }
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return result;
}

}  // namespace envbuild::registry
