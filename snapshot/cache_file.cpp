#include "snapshot/cache_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>

#include "registry/atomic_file.hpp"
#include "registry/error.hpp"
#include "registry/unique_fd.hpp"
#include "snapshot/file_read.hpp"

namespace envbuild::snapshot {

namespace fs = std::filesystem;

namespace {

int64_t realtime_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

std::optional<std::string> read_cache_file(const fs::path& file, uint64_t max_bytes) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  auto size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) return std::nullopt;
  std::string bytes;
  bytes.reserve(static_cast<size_t>(size));
  try {
    read_all(fd.get(), size, kReadChunk, file.string(),
             [&](const char* data, size_t n) { bytes.append(data, n); });
  } catch (const Error&) {
    return std::nullopt;
  }
  if (bytes.size() != size) return std::nullopt;  // changed under us: not worth trusting
  return bytes;
}

int64_t write_cache_file(const fs::path& file,
                         const std::function<std::string(int64_t written_at_ns)>& content) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) {
    throw Error(ErrorKind::Internal,
                "cannot create cache folder " + file.parent_path().string() + ": " + ec.message());
  }
  registry::AtomicFile out(file);
  // The racy rule compares file mtimes with this moment, so take it from the
  // filesystem clock: the new file's own mtime, stamped now, after all
  // hashing. Kernel timestamps come from a coarse clock that can lag the
  // precise one by a tick; a precise reading could exceed the mtime that a
  // later write in the same tick receives, and that write would be trusted.
  // The earlier of the two readings is kept (if the cache folder's
  // filesystem runs ahead of this machine's clock, the local clock wins).
  int64_t written_at = realtime_now_ns();
  struct stat st {};
  if (::stat(out.temp_path().c_str(), &st) == 0) {
    written_at = std::min(written_at, to_file_stat(st).mtime_ns);
  }
  out.write(content(written_at));
  out.commit();
  return written_at;
}

}  // namespace envbuild::snapshot
