#include "builder/conda/package/tar_extractor.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <vector>

#include "builder/conda/package/package_path.hpp"
#include "registry/error.hpp"
#include "registry/scoped_utf8_locale.hpp"

namespace envbuild::builder::conda {

namespace {

constexpr size_t kReadBuffer = 1 << 16;

// libarchive pulls compressed bytes through this; exceptions are parked and
// rethrown once libarchive returns, never unwound through its C frames.
struct Pull {
  registry::ByteSource* source = nullptr;
  std::vector<char> buf;
  std::exception_ptr error;
};

la_ssize_t pull_cb(struct archive* a, void* ctx, const void** out) {
  auto* p = static_cast<Pull*>(ctx);
  try {
    size_t n = p->source->read(p->buf.data(), p->buf.size());
    *out = p->buf.data();
    return static_cast<la_ssize_t>(n);
  } catch (...) {
    p->error = std::current_exception();
    archive_set_error(a, EIO, "package stream failed");
    return -1;
  }
}

struct ReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

// umask 022 semantics, independent of the process umask: no group/other
// write, no set-id or sticky bits. Files stay readable by their owner (the
// linker reads them); directories stay traversable and writable by their
// owner (the cache must stay removable).
mode_t file_mode(mode_t perm) { return (perm & 0755) | 0400; }
mode_t dir_mode(mode_t perm) { return (perm & 0755) | 0700; }

class Extractor {
 public:
  Extractor(const RootedDir& root, TarScope scope, const ExtractOptions& options,
            ExtractBudget& budget, const std::string& name)
      : root_(root), scope_(scope), options_(options), budget_(budget), name_(name) {}

  void entry(struct archive* a, struct archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    if (raw == nullptr) raw = archive_entry_pathname_utf8(e);
    if (raw == nullptr) bad("an entry without a path");
    std::string raw_path = raw;
    std::vector<std::string> comps = package_path_components(raw_path, name_ + ": entry");
    if (comps.empty()) return;  // "./": the destination itself
    std::string path = join_components(comps, comps.size());
    check_scope(path, path);

    if (++budget_.entries > options_.max_entries)
      bad("more than " + std::to_string(options_.max_entries) + " entries");

    if (const char* target = archive_entry_hardlink(e)) {
      hardlink(comps, path, target);
      return;
    }
    mode_t perm = archive_entry_perm(e);
    switch (archive_entry_filetype(e)) {
      case AE_IFREG:
        regular(a, e, comps, path, perm);
        return;
      case AE_IFDIR:
        directory(comps, path, perm);
        return;
      case AE_IFLNK:
        symlink(comps, path, archive_entry_symlink(e));
        return;
      default:
        bad("entry " + path + " is a device, fifo or socket; refused");
    }
  }

  // Directory modes go on last, so a read-only directory cannot stop the
  // extraction of its own children.
  void finish() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      UniqueFd parent = root_.open_parent(it->comps, false, where(it->path));
      if (!parent.valid()) continue;
      UniqueFd fd(::openat(parent.get(), it->comps.back().c_str(),
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd.valid()) continue;
      if (::fchmod(fd.get(), it->mode) != 0) fail_errno("cannot chmod", it->path);
    }
  }

 private:
  struct DirMode {
    std::vector<std::string> comps;
    std::string path;
    mode_t mode;
  };

  std::string where(const std::string& path) const { return name_ + ": entry " + path; }

  [[noreturn]] void bad(const std::string& why) const {
    throw Error(ErrorKind::BadInput, name_ + ": " + why);
  }
  [[noreturn]] void fail_errno(const std::string& action, const std::string& path) const {
    throw Error(ErrorKind::Internal,
                name_ + ": " + action + " " + path + ": " + std::strerror(errno));
  }

  void check_scope(const std::string& path, const std::string& shown) const {
    bool in_info = path_is_within(path, "info");
    if (scope_ == TarScope::InfoOnly && !in_info)
      bad("entry " + shown + " is outside info/ in the info tar");
    if (scope_ == TarScope::ExceptInfo && in_info)
      bad("entry " + shown + " is inside info/ in the pkg tar");
  }

  // The parent directory fd, created as needed. The last one is kept: the
  // tree only grows (nothing is ever removed or replaced), so a directory
  // once checked stays a real directory.
  int parent_of(const std::vector<std::string>& comps, const std::string& path) {
    std::string key = join_components(comps, comps.size() - 1);
    if (!cached_.valid() || key != cached_key_) {
      cached_ = root_.open_parent(comps, /*create=*/true, where(path));
      cached_key_ = key;
    }
    return cached_.get();
  }

  [[noreturn]] void exists(const std::string& path) const {
    bad("entry " + path + " appears twice or collides with another entry");
  }

  void regular(struct archive* a, struct archive_entry* e, const std::vector<std::string>& comps,
               const std::string& path, mode_t perm) {
    la_int64_t declared = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (declared < 0) bad("entry " + path + " has a negative size");
    uint64_t size = static_cast<uint64_t>(declared);
    if (size > options_.max_file_bytes)
      bad("entry " + path + " is larger than the limit of " +
          std::to_string(options_.max_file_bytes) + " bytes");
    if (size > options_.max_total_bytes - budget_.bytes)
      bad("entries exceed the package size limit of " + std::to_string(options_.max_total_bytes) +
          " bytes at " + path);
    budget_.bytes += size;

    int parent = parent_of(comps, path);
    // O_EXCL|O_NOFOLLOW: always a new inode, never through a link.
    UniqueFd fd(::openat(parent, comps.back().c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) {
      if (errno == EEXIST) exists(path);
      fail_errno("cannot create", path);
    }
    for (;;) {
      const void* buf = nullptr;
      size_t n = 0;
      la_int64_t offset = 0;
      int rc = archive_read_data_block(a, &buf, &n, &offset);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN) archive_failed(a, "cannot read data of " + path);
      if (offset < 0 || static_cast<uint64_t>(offset) + n > size)
        bad("entry " + path + " has data beyond its declared size");
      const char* p = static_cast<const char*>(buf);
      while (n > 0) {
        ssize_t w = ::pwrite(fd.get(), p, n, offset);
        if (w < 0) {
          if (errno == EINTR) continue;
          fail_errno("cannot write", path);
        }
        p += w;
        n -= static_cast<size_t>(w);
        offset += w;
      }
    }
    // Sparse entries may end in a hole.
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) fail_errno("cannot size", path);
    if (::fchmod(fd.get(), file_mode(perm)) != 0) fail_errno("cannot chmod", path);
  }

  void directory(const std::vector<std::string>& comps, const std::string& path, mode_t perm) {
    int parent = parent_of(comps, path);
    const char* name = comps.back().c_str();
    if (::mkdirat(parent, name, 0700) != 0) {
      if (errno != EEXIST) fail_errno("cannot create directory", path);
      // A directory made implicitly for an earlier child: fine. Anything
      // else at that name is a collision.
      struct stat st {};
      if (::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
        exists(path);
    }
    dirs_.push_back(DirMode{comps, path, dir_mode(perm)});
  }

  void symlink(const std::vector<std::string>& comps, const std::string& path, const char* target) {
    int parent = parent_of(comps, path);
    const char* name = comps.back().c_str();
    if (target == nullptr || *target == '\0') {
      // See package_archive.hpp: stored as the .tar.bz2 form stores it.
      UniqueFd fd(
          ::openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
      if (!fd.valid()) {
        if (errno == EEXIST) exists(path);
        fail_errno("cannot create", path);
      }
      if (::fchmod(fd.get(), 0644) != 0) fail_errno("cannot chmod", path);
      return;
    }
    if (std::strlen(target) > kMaxPackagePathBytes) bad("symlink " + path + " target too long");
    if (::symlinkat(target, parent, name) != 0) {
      if (errno == EEXIST) exists(path);
      fail_errno("cannot create symlink", path);
    }
  }

  void hardlink(const std::vector<std::string>& comps, const std::string& path,
                const char* target) {
    std::vector<std::string> tcomps =
        package_path_components(target, name_ + ": hardlink " + path + " target");
    if (tcomps.empty()) bad("hardlink " + path + " points at the package root");
    std::string tpath = join_components(tcomps, tcomps.size());
    check_scope(tpath, "hardlink target " + tpath);
    UniqueFd tparent = root_.open_parent(tcomps, /*create=*/false, where(path));
    struct stat st {};
    if (!tparent.valid() ||
        ::fstatat(tparent.get(), tcomps.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      bad("hardlink " + path + " -> " + tpath + ": target was not extracted before it");
    if (!S_ISREG(st.st_mode))
      bad("hardlink " + path + " -> " + tpath + ": target is not a regular file");
    int parent = parent_of(comps, path);
    // flags 0: link the target inode itself, never what a symlink names.
    if (::linkat(tparent.get(), tcomps.back().c_str(), parent, comps.back().c_str(), 0) != 0) {
      if (errno == EEXIST) exists(path);
      fail_errno("cannot create hardlink", path);
    }
  }

 public:
  [[noreturn]] void archive_failed(struct archive* a, const std::string& what) const {
    if (pull_ && pull_->error) std::rethrow_exception(pull_->error);
    const char* msg = archive_error_string(a);
    bad(what + ": " + (msg ? msg : "unknown libarchive error"));
  }
  const Pull* pull_ = nullptr;

 private:
  const RootedDir& root_;
  TarScope scope_;
  const ExtractOptions& options_;
  ExtractBudget& budget_;
  const std::string& name_;
  std::vector<DirMode> dirs_;
  UniqueFd cached_;
  std::string cached_key_;
};

}  // namespace

void extract_tar(registry::ByteSource& source, TarCompression compression, const RootedDir& root,
                 TarScope scope, const ExtractOptions& options, ExtractBudget& budget,
                 const std::string& name) {
  registry::ScopedUtf8Locale locale;  // names decode the same under any LANG
  Pull pull;
  pull.source = &source;
  pull.buf.resize(kReadBuffer);

  std::unique_ptr<struct archive, ReadDeleter> a(archive_read_new());
  if (!a) throw Error(ErrorKind::Internal, "libarchive allocation failed");
  // Exactly one format and one filter: nothing else may be auto-detected.
  archive_read_support_format_tar(a.get());
  if (compression == TarCompression::Zstd) {
    archive_read_support_filter_zstd(a.get());
  } else {
    archive_read_support_filter_bzip2(a.get());
  }
  Extractor ex(root, scope, options, budget, name);
  ex.pull_ = &pull;
  if (archive_read_open(a.get(), &pull, nullptr, pull_cb, nullptr) != ARCHIVE_OK)
    ex.archive_failed(a.get(), "not a tar stream");
  // Exactly the expected compression: a plain tar where zstd belongs is a
  // malformed package, not something to guess about.
  if (archive_filter_count(a.get()) < 2)
    throw Error(
        ErrorKind::BadInput,
        name + ": not " + (compression == TarCompression::Zstd ? "zstd" : "bzip2") + "-compressed");
  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) ex.archive_failed(a.get(), "cannot read tar header");
    ex.entry(a.get(), e);
  }
  ex.finish();
  if (pull.error) std::rethrow_exception(pull.error);
  // Read the rest of the source: a zip member checks its CRC at its end.
  while (source.read(pull.buf.data(), pull.buf.size()) > 0) {
  }
}

}  // namespace envbuild::builder::conda
