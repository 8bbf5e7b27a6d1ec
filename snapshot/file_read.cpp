#include "snapshot/file_read.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "registry/error.hpp"

namespace envbuild::snapshot {

namespace {

[[noreturn]] void fail_open(int err, const std::string& display) {
  if (err == ELOOP) {
    throw Error(ErrorKind::BadInput,
                display + " was replaced by a symlink while being read; refusing to follow it");
  }
  throw Error(ErrorKind::BadInput, "cannot read " + display + ": " + std::strerror(err));
}

int open_retrying(int dir_fd, const char* name, int flags) {
  for (;;) {
    int fd = ::openat(dir_fd, name, flags);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

}  // namespace

FileStat to_file_stat(const struct stat& st) {
  FileStat s;
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  s.inode = static_cast<uint64_t>(st.st_ino);
  s.device = static_cast<uint64_t>(st.st_dev);
  s.mode = static_cast<uint32_t>(st.st_mode);
  return s;
}

FileStat stat_open_file(int fd, const std::string& display) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw Error(ErrorKind::BadInput, "cannot stat " + display + ": " + std::strerror(errno));
  }
  return to_file_stat(st);
}

void check_relative_path(const std::string& rel) {
  auto bad = [&](const char* why) {
    throw Error(ErrorKind::BadInput, "unsafe path in source tree '" + rel + "': " + why);
  };
  if (rel.empty()) bad("empty");
  if (rel.front() == '/') bad("absolute");
  if (rel.find('\0') != std::string::npos) bad("contains NUL");
  size_t start = 0;
  while (start <= rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string_view part(rel.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") bad("empty, '.' or '..' component");
    start = end + 1;
  }
}

UniqueFd open_root(const std::filesystem::path& root) {
  UniqueFd fd(open_retrying(AT_FDCWD, root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    throw Error(ErrorKind::BadInput,
                "cannot open source folder " + root.string() + ": " + std::strerror(errno));
  }
  return fd;
}

UniqueFd open_beneath_by_components(int root_fd, const std::string& rel,
                                    const std::string& display) {
  check_relative_path(rel);
  UniqueFd dir;  // invalid while the current directory is root_fd itself
  size_t start = 0;
  for (;;) {
    size_t slash = rel.find('/', start);
    bool last = slash == std::string::npos;
    std::string part = rel.substr(start, last ? std::string::npos : slash - start);
    // O_NONBLOCK: a fifo swapped in for a file must not block the open.
    int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (last ? O_NOCTTY | O_NONBLOCK : O_DIRECTORY);
    UniqueFd next(open_retrying(dir.valid() ? dir.get() : root_fd, part.c_str(), flags));
    if (!next.valid()) {
      // A directory component that is a symlink gives ENOTDIR with
      // O_NOFOLLOW|O_DIRECTORY; it is the same swap as a final symlink.
      int err = errno;
      if (!last && err == ENOTDIR) {
        struct stat st {};
        if (::fstatat(dir.valid() ? dir.get() : root_fd, part.c_str(), &st, AT_SYMLINK_NOFOLLOW) ==
                0 &&
            S_ISLNK(st.st_mode)) {
          err = ELOOP;
        }
      }
      fail_open(err, display);
    }
    if (last) return next;
    dir = std::move(next);
    start = slash + 1;
  }
}

UniqueFd open_beneath(int root_fd, const std::string& rel, const std::string& display) {
  check_relative_path(rel);
  struct open_how how {};
  // O_NONBLOCK: a fifo swapped in for a file must not block the open.
  how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EINTR || errno == EAGAIN) continue;  // EAGAIN: a concurrent rename
    // ENAMETOOLONG: a path over PATH_MAX, which a walk on directory
    // descriptors produces; one component at a time has no such limit.
    if (errno == ENOSYS || errno == EPERM || errno == ENAMETOOLONG)
      return open_beneath_by_components(root_fd, rel, display);
    // EXDEV would mean an escape from the root, which check_relative_path
    // and RESOLVE_NO_SYMLINKS already rule out; report it like any failure.
    fail_open(errno, display);
  }
}

uint64_t read_all(int fd, uint64_t limit, size_t chunk, const std::string& display,
                  const std::function<void(const char*, size_t)>& sink) {
  // +1 so that a file which grew shows up as one byte too many.
  uint64_t want_total = limit + 1;
  size_t buffer_size = static_cast<size_t>(std::min<uint64_t>(chunk, want_total));
  auto buffer = std::make_unique_for_overwrite<char[]>(buffer_size);
  uint64_t total = 0;
  while (total < want_total) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer_size, want_total - total));
    ssize_t n = ::pread(fd, buffer.get(), want, static_cast<off_t>(total));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorKind::BadInput, "cannot read " + display + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    sink(buffer.get(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  return total;
}

}  // namespace envbuild::snapshot
