#include "builder/conda/fetch/local_archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "builder/conda/fetch/archive_sink.hpp"
#include "registry/error.hpp"
#include "registry/unique_fd.hpp"

namespace envbuild::builder::conda {
namespace {

constexpr size_t kChunk = 1 << 20;

FileStamp stamp_of_fd(int fd, const std::filesystem::path& what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw Error(ErrorKind::Internal, "cannot stat " + what.string() + ": " + std::strerror(errno));
  }
  FileStamp s;
  s.device = static_cast<uint64_t>(st.st_dev);
  s.inode = static_cast<uint64_t>(st.st_ino);
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return s;
}

// Reads all of `fd` from offset 0, handing each chunk to `use`.
template <typename Use>
void read_all(int fd, const std::filesystem::path& source, Use&& use) {
  std::vector<char> buffer(kChunk);
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorKind::Internal,
                  "cannot read " + source.string() + ": " + std::strerror(errno));
    }
    if (n == 0) return;
    use(buffer.data(), static_cast<size_t>(n));
    offset += n;
  }
}

// Removes the link temp unless released: a failed placement leaves nothing.
class LinkGuard {
 public:
  explicit LinkGuard(const std::filesystem::path& path) : path_(path) {}
  ~LinkGuard() {
    if (armed_) ::unlink(path_.c_str());
  }
  LinkGuard(const LinkGuard&) = delete;
  LinkGuard& operator=(const LinkGuard&) = delete;
  void release() { armed_ = false; }

 private:
  const std::filesystem::path& path_;
  bool armed_ = true;
};

// Hardlinks `source` to the archive name and verifies the shared inode. An
// empty result means "could not link, copy instead" (another filesystem, a
// file the kernel will not let us link, the source replaced meanwhile).
std::optional<VerificationMarker> try_hardlink(int fd, const FileStamp& before,
                                               const std::filesystem::path& source,
                                               const CachePaths& paths, const PackageRecord& record,
                                               const std::string& what, const std::string& shown) {
  ::unlink(paths.link_temp.c_str());  // a leftover of a killed process
  if (::link(source.c_str(), paths.link_temp.c_str()) != 0) return std::nullopt;
  LinkGuard guard(paths.link_temp);
  auto linked = stamp_of(paths.link_temp);
  if (!linked || linked->device != before.device || linked->inode != before.inode) {
    return std::nullopt;  // the name now points at another file than the one opened
  }
  ArchiveHasher hasher = hasher_for(record);
  read_all(fd, source, [&](const char* data, size_t n) { hasher.update(data, n); });
  if (!(stamp_of_fd(fd, source) == before)) {
    throw Error(ErrorKind::BadInput,
                what + " from " + shown + ": the file changed while it was read");
  }
  ArchiveDigests digests = hasher.finish();
  std::string why = describe_mismatch(record, digests);
  if (!why.empty()) throw Error(ErrorKind::BadInput, what + " from " + shown + ": " + why);
  if (::rename(paths.link_temp.c_str(), paths.archive.c_str()) != 0) {
    throw Error(ErrorKind::Internal,
                "cannot rename into " + paths.archive.string() + ": " + std::strerror(errno));
  }
  guard.release();
  return VerificationMarker{digests, before};
}

}  // namespace

LocalPlacement place_local_archive(const std::filesystem::path& source, const CachePaths& paths,
                                   const PackageRecord& record, const std::string& what,
                                   const std::string& shown) {
  UniqueFd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      throw Error(ErrorKind::NotFound, what + " not found at " + shown);
    }
    throw Error(ErrorKind::Internal,
                "cannot open " + what + " at " + shown + ": " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(ErrorKind::BadInput, what + " at " + shown + " is not a regular file");
  }
  FileStamp before = stamp_of_fd(fd.get(), source);
  if (record.size != 0 && before.size != record.size) {
    throw Error(ErrorKind::BadInput, what + " from " + shown + ": size is " +
                                         std::to_string(before.size) + " bytes, the record says " +
                                         std::to_string(record.size));
  }
  if (auto marker = try_hardlink(fd.get(), before, source, paths, record, what, shown)) {
    return {*marker, true};
  }
  PartialFile file(paths.archive);
  ArchiveHasher hasher = hasher_for(record);
  read_all(fd.get(), source, [&](const char* data, size_t n) {
    file.write(data, n);
    hasher.update(data, n);
  });
  return {commit_verified(file, hasher, record, what, shown), false};
}

}  // namespace envbuild::builder::conda
