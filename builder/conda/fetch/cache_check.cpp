#include "builder/conda/fetch/cache_check.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "builder/conda/fetch/archive_digest.hpp"
#include "builder/conda/fetch/verification_marker.hpp"
#include "registry/atomic_file.hpp"
#include "registry/error.hpp"
#include "registry/file_lock.hpp"
#include "registry/unique_fd.hpp"

namespace envbuild::builder::conda {

bool is_vouched(const CachePaths& paths, const PackageRecord& record) {
  auto archive = stamp_of(paths.archive);
  if (!archive) return false;
  auto marker = read_marker(paths.marker);
  return marker && marker_vouches(marker->first, marker->second, *archive, record);
}

InPlace verify_in_place(const CachePaths& paths, const PackageRecord& record) {
  UniqueFd fd(::open(paths.archive.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  auto before = fd.valid() ? stamp_of(paths.archive) : std::nullopt;
  if (!before) {
    ::unlink(paths.marker.c_str());
    return InPlace::Missing;
  }
  ArchiveHasher hasher = hasher_for(record);
  bool read_failed = false;
  if (record.size == 0 || before->size == record.size) {
    std::vector<char> buffer(1 << 20);
    for (;;) {
      ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) read_failed = true;
      if (n <= 0) break;
      hasher.update(buffer.data(), static_cast<size_t>(n));
    }
  }
  ArchiveDigests digests = hasher.finish();
  auto after = stamp_of(paths.archive);
  if (!read_failed && after && *after == *before && describe_mismatch(record, digests).empty()) {
    write_marker(paths.marker, {digests, *before});
    return InPlace::Verified;
  }
  ::unlink(paths.archive.c_str());
  ::unlink(paths.marker.c_str());
  return InPlace::Corrupt;
}

void remove_abandoned(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> links;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (registry::is_temp_name(name)) {
      registry::remove_abandoned_temp(it->path(), /*dry_run=*/false);
    } else if (is_link_temp_name(name)) {
      links.push_back(it->path());
    }
  }
  for (const auto& link : links) {
    std::string lock = link.string();
    lock.replace(lock.size() - 5, 5, ".lock");  // "X.conda.link" -> "X.conda.lock"
    if (auto held = registry::FileLock::try_acquire(lock)) ::unlink(link.c_str());
  }
}

}  // namespace envbuild::builder::conda
