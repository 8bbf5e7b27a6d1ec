#include "builder/conda/fetch/partial_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "registry/error.hpp"

namespace envbuild::builder::conda {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw Error(ErrorKind::Internal, what + " " + path.string() + ": " + std::strerror(errno));
}

}  // namespace

void PartialFile::backdate_mtime(int seconds_ago) {
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  ::clock_gettime(CLOCK_REALTIME, &times[1]);
  times[1].tv_sec -= seconds_ago;
  if (::futimens(descriptor(), times) != 0) fail("cannot set the mtime of", temp_path());
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
