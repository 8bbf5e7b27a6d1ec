#include "registry/layer_reader.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <unordered_set>
#include <vector>

#include "registry/compress_stream.hpp"
#include "registry/error.hpp"
#include "registry/scoped_utf8_locale.hpp"
#include "registry/tar_source.hpp"
#include "registry/unique_fd.hpp"

namespace envbuild::registry {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueName = ".wh..wh..opq";
constexpr size_t kMaxPathBytes = 4096;

std::string join(const std::vector<std::string>& comps, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += '/';
    out += comps[i];
  }
  return out;
}

class Applier {
 public:
  Applier(const fs::path& root, const ApplyOptions& options) : options_(options) {
    root_ = UniqueFd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (root_.get() < 0)
      throw Error(ErrorKind::BadInput,
                  "cannot open layer root " + root.string() + ": " + std::strerror(errno));
  }

  void apply(struct archive_entry* e, struct archive* a, ApplyStats& stats) {
    const char* raw = archive_entry_pathname(e);
    if (raw == nullptr) raw = archive_entry_pathname_utf8(e);
    if (raw == nullptr) bad("an entry without a path", "");
    std::string path_text = raw;
    std::vector<std::string> comps = split(path_text, "entry");
    if (comps.empty()) return;  // the root itself ("./"): lower layers own it
    const std::string& base = comps.back();
    std::string path = join(comps, comps.size());

    if (base.starts_with(kWhiteoutPrefix)) {
      ++stats.whiteouts;
      if (base == kOpaqueName) {
        opaque(comps);
      } else {
        whiteout(comps, path);
      }
      return;
    }

    const char* hardlink = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    mode_t mode = archive_entry_perm(e) & (options_.keep_setid_bits ? 07777 : 01777);
    struct timespec mtime {};
    mtime.tv_sec = archive_entry_mtime(e);
    mtime.tv_nsec = archive_entry_mtime_nsec(e);

    if (hardlink != nullptr) {
      link(comps, path, hardlink);
      return;
    }
    switch (type) {
      case AE_IFDIR:
        directory(comps, path, mode, mtime);
        return;
      case AE_IFREG:
        stats.bytes += regular(comps, path, mode, mtime, a, archive_entry_size(e));
        return;
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (target == nullptr || *target == '\0') bad("symlink without a target", path);
        symlink(comps, path, target, mtime);
        return;
      }
      default:
        special(comps, path, type, mode, archive_entry_rdev(e), stats);
        return;
    }
  }

  // Directory modes and mtimes go on last: children change a directory's
  // mtime, and a read-only mode would stop this layer's own writes.
  void finish() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      std::vector<std::string> comps = split(it->path, "directory");
      UniqueFd parent = open_parent(comps, it->path, /*create=*/false);
      if (parent.get() < 0) continue;
      UniqueFd fd(::openat(parent.get(), comps.back().c_str(),
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (fd.get() < 0) continue;  // replaced later in this layer
      if (::fchmod(fd.get(), it->mode) != 0) fail_errno("cannot chmod", it->path);
      struct timespec times[2] = {it->mtime, it->mtime};
      if (::futimens(fd.get(), times) != 0) fail_errno("cannot set mtime of", it->path);
    }
  }

 private:
  struct DirMeta {
    std::string path;
    mode_t mode;
    struct timespec mtime;
  };

  [[noreturn]] void bad(const std::string& what, const std::string& path) const {
    throw Error(ErrorKind::BadInput,
                options_.name + ": " + what + (path.empty() ? "" : ": ") + path);
  }
  [[noreturn]] void fail_errno(const std::string& what, const std::string& path) const {
    throw Error(ErrorKind::Internal,
                options_.name + ": " + what + " " + path + ": " + std::strerror(errno));
  }

  // Splits a tar path into components, dropping "." and empty ones. Refuses
  // absolute paths and "..".
  std::vector<std::string> split(const std::string& raw, const char* what) const {
    if (raw.size() > kMaxPathBytes) bad(std::string(what) + " path too long", raw.substr(0, 200));
    if (!raw.empty() && raw.front() == '/') bad(std::string(what) + " path is absolute", raw);
    std::vector<std::string> comps;
    size_t pos = 0;
    while (pos <= raw.size()) {
      size_t end = raw.find('/', pos);
      if (end == std::string::npos) end = raw.size();
      std::string_view c(raw.data() + pos, end - pos);
      pos = end + 1;
      if (c.empty() || c == ".") continue;
      if (c == "..") bad(std::string(what) + " path contains '..'", raw);
      comps.emplace_back(c);
    }
    return comps;
  }

  // Opens the directory holding comps.back(), walking from the root fd and
  // never following a symlink. Missing parents are created (create) or make
  // the result -1 (!create).
  UniqueFd open_parent(const std::vector<std::string>& comps, const std::string& path,
                       bool create) {
    size_t depth = comps.size() - 1;
    std::string parent_key = join(comps, depth);
    if (create && cache_valid_ && parent_key == cache_key_) {
      return UniqueFd(::dup(cache_fd_.get()));
    }
    UniqueFd cur(::dup(root_.get()));
    if (cur.get() < 0) fail_errno("cannot dup root fd for", path);
    for (size_t i = 0; i < depth; ++i) {
      const std::string& c = comps[i];
      int fd = ::openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 && errno == ENOENT) {
        if (!create) return UniqueFd();
        if (::mkdirat(cur.get(), c.c_str(), 0755) != 0 && errno != EEXIST)
          fail_errno("cannot create directory", join(comps, i + 1));
        written_.insert(join(comps, i + 1));
        fd = ::openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      }
      if (fd < 0) {
        if (errno == ELOOP || errno == ENOTDIR)
          bad("refusing to write through a symlink or non-directory '" + join(comps, i + 1) + "'",
              path);
        fail_errno("cannot open directory", join(comps, i + 1));
      }
      cur = UniqueFd(fd);
    }
    if (create) {
      cache_fd_ = UniqueFd(::dup(cur.get()));
      cache_key_ = parent_key;
      cache_valid_ = cache_fd_.get() >= 0;
    }
    return cur;
  }

  void invalidate_cache() {
    cache_valid_ = false;
    cache_fd_.reset();
  }

  // Removes `name` in `dirfd`, recursively for directories, never following
  // symlinks.
  void remove_tree_at(int dirfd, const std::string& name, const std::string& path) {
    invalidate_cache();
    if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return;
    if (errno != EISDIR && errno != EPERM) fail_errno("cannot remove", path);
    UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) fail_errno("cannot open directory for removal", path);
    for (const std::string& child : list_dir(fd.get(), path))
      remove_tree_at(fd.get(), child, path + "/" + child);
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
      fail_errno("cannot remove directory", path);
  }

  std::vector<std::string> list_dir(int fd, const std::string& path) {
    int dup_fd = ::dup(fd);
    if (dup_fd < 0) fail_errno("cannot dup fd of", path);
    DIR* dir = ::fdopendir(dup_fd);
    if (!dir) {
      ::close(dup_fd);
      fail_errno("cannot list", path);
    }
    std::vector<std::string> names;
    while (struct dirent* d = ::readdir(dir)) {
      std::string_view n = d->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    ::closedir(dir);
    return names;
  }

  void whiteout(const std::vector<std::string>& comps, const std::string& path) {
    std::string victim = comps.back().substr(kWhiteoutPrefix.size());
    if (victim.empty() || victim == "." || victim == "..") bad("invalid whiteout", path);
    std::vector<std::string> target = comps;
    target.back() = victim;
    std::string target_path = join(target, target.size());
    // Whiteouts only hide lower layers, never this layer's own entries.
    if (written_.count(target_path)) return;
    UniqueFd parent = open_parent(target, path, /*create=*/false);
    if (parent.get() < 0) return;
    remove_tree_at(parent.get(), victim, target_path);
  }

  void opaque(const std::vector<std::string>& comps) {
    std::string dir = join(comps, comps.size() - 1);
    UniqueFd parent = open_parent(comps, dir, /*create=*/false);
    if (parent.get() < 0) return;
    clear_lower(parent.get(), dir);
  }

  // Removes everything under `dirfd` that this layer did not write.
  void clear_lower(int dirfd, const std::string& dir) {
    invalidate_cache();
    for (const std::string& name : list_dir(dirfd, dir)) {
      std::string child = dir.empty() ? name : dir + "/" + name;
      if (!written_.count(child)) {
        remove_tree_at(dirfd, name, child);
        continue;
      }
      UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.get() >= 0) clear_lower(sub.get(), child);
    }
  }

  void directory(const std::vector<std::string>& comps, const std::string& path, mode_t mode,
                 struct timespec mtime) {
    invalidate_cache();
    UniqueFd parent = open_parent(comps, path, /*create=*/true);
    const char* name = comps.back().c_str();
    if (::mkdirat(parent.get(), name, 0700) != 0) {
      if (errno != EEXIST) fail_errno("cannot create directory", path);
      struct stat st {};
      if (::fstatat(parent.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        fail_errno("cannot stat", path);
      if (!S_ISDIR(st.st_mode)) {
        remove_tree_at(parent.get(), comps.back(), path);
        if (::mkdirat(parent.get(), name, 0700) != 0) fail_errno("cannot create directory", path);
      }
    }
    written_.insert(path);
    dirs_.push_back(DirMeta{path, mode, mtime});
  }

  // Creates a fresh inode at the entry's name, replacing whatever was there.
  template <typename Create>
  void replace_at(int parent, const std::vector<std::string>& comps, const std::string& path,
                  Create create) {
    if (create() == 0) return;
    if (errno != EEXIST) fail_errno("cannot create", path);
    remove_tree_at(parent, comps.back(), path);
    if (create() != 0) fail_errno("cannot create", path);
  }

  uint64_t regular(const std::vector<std::string>& comps, const std::string& path, mode_t mode,
                   struct timespec mtime, struct archive* a, la_int64_t declared_size) {
    UniqueFd parent = open_parent(comps, path, /*create=*/true);
    const char* name = comps.back().c_str();
    UniqueFd fd;
    replace_at(parent.get(), comps, path, [&] {
      // O_EXCL|O_NOFOLLOW: always a new inode, never through a link.
      int f =
          ::openat(parent.get(), name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (f < 0) return -1;
      fd = UniqueFd(f);
      return 0;
    });
    written_.insert(path);
    uint64_t written = 0;
    for (;;) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      int rc = archive_read_data_block(a, &buf, &size, &offset);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN) archive_failed(a, "cannot read data of", path);
      const char* p = static_cast<const char*>(buf);
      while (size > 0) {
        ssize_t n = ::pwrite(fd.get(), p, size, offset);
        if (n < 0) {
          if (errno == EINTR) continue;
          fail_errno("cannot write", path);
        }
        p += n;
        size -= static_cast<size_t>(n);
        offset += n;
        written += static_cast<uint64_t>(n);
      }
    }
    // Sparse entries may end in a hole.
    if (declared_size > 0 && ::ftruncate(fd.get(), declared_size) != 0)
      fail_errno("cannot size", path);
    if (::fchmod(fd.get(), mode) != 0) fail_errno("cannot chmod", path);
    struct timespec times[2] = {mtime, mtime};
    if (::futimens(fd.get(), times) != 0) fail_errno("cannot set mtime of", path);
    return written;
  }

  void symlink(const std::vector<std::string>& comps, const std::string& path, const char* target,
               struct timespec mtime) {
    invalidate_cache();
    UniqueFd parent = open_parent(comps, path, /*create=*/true);
    const char* name = comps.back().c_str();
    replace_at(parent.get(), comps, path, [&] { return ::symlinkat(target, parent.get(), name); });
    written_.insert(path);
    struct timespec times[2] = {mtime, mtime};
    if (::utimensat(parent.get(), name, times, AT_SYMLINK_NOFOLLOW) != 0)
      fail_errno("cannot set mtime of", path);
  }

  void link(const std::vector<std::string>& comps, const std::string& path, const char* target) {
    std::vector<std::string> tcomps = split(target, "hardlink target");
    if (tcomps.empty()) bad("hardlink to the root", path);
    std::string tpath = join(tcomps, tcomps.size());
    if (tpath == path) bad("hardlink to itself", path);
    UniqueFd tparent = open_parent(tcomps, path + " -> " + tpath, /*create=*/false);
    if (tparent.get() < 0) bad("hardlink target does not exist", path + " -> " + tpath);
    UniqueFd parent = open_parent(comps, path, /*create=*/true);
    const char* name = comps.back().c_str();
    // flags 0: link the target inode itself, never what a symlink points to.
    replace_at(parent.get(), comps, path, [&] {
      return ::linkat(tparent.get(), tcomps.back().c_str(), parent.get(), name, 0);
    });
    written_.insert(path);
  }

  void special(const std::vector<std::string>& comps, const std::string& path, mode_t type,
               mode_t mode, dev_t rdev, ApplyStats& stats) {
    bool creatable = type == AE_IFIFO || type == AE_IFCHR || type == AE_IFBLK;
    if (!options_.create_special_files || !creatable) {
      ++stats.skipped_special;
      return;
    }
    UniqueFd parent = open_parent(comps, path, /*create=*/true);
    const char* name = comps.back().c_str();
    replace_at(parent.get(), comps, path,
               [&] { return ::mknodat(parent.get(), name, type | mode, rdev); });
    written_.insert(path);
  }

  [[noreturn]] void archive_failed(struct archive* a, const std::string& what,
                                   const std::string& path) const {
    if (source_ && source_->error) std::rethrow_exception(source_->error);
    const char* msg = archive_error_string(a);
    bad(what + " " + path, msg ? msg : "unknown libarchive error");
  }

 public:
  TarSource* source_ = nullptr;

 private:
  const ApplyOptions& options_;
  UniqueFd root_;
  std::unordered_set<std::string> written_;  // paths this layer created
  std::vector<DirMeta> dirs_;
  UniqueFd cache_fd_;
  std::string cache_key_;
  bool cache_valid_ = false;
};

}  // namespace

bool is_layer_media_type(std::string_view mt) {
  static constexpr std::string_view kTypes[] = {
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  };
  for (std::string_view t : kTypes)
    if (mt == t) return true;
  return false;
}

ApplyStats apply_layer(BlobReader& blob, std::string_view media_type, const fs::path& root,
                       const ApplyOptions& options) {
  if (!media_type.empty() && !is_layer_media_type(media_type))
    throw Error(ErrorKind::BadInput,
                options.name + ": unsupported layer media type " + std::string(media_type));
  std::unique_ptr<ByteSource> source = make_sniffing_decompressor(blob, options.name);

  ScopedUtf8Locale locale;  // tar names decode the same under any LANG
  TarSource src;
  src.source = source.get();
  src.buf.resize(kStreamBufferSize);
  src.limit = options.max_uncompressed_bytes;
  src.name = options.name;

  std::unique_ptr<struct archive, ReadArchiveDeleter> a(archive_read_new());
  if (!a) throw Error(ErrorKind::Internal, "libarchive allocation failed");
  // Tar only: no other archive format or filter may be auto-detected.
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_none(a.get());
  Applier applier(root, options);
  applier.source_ = &src;
  auto fail = [&](const char* what) {
    if (src.error) std::rethrow_exception(src.error);
    const char* msg = archive_error_string(a.get());
    throw Error(ErrorKind::BadInput,
                options.name + ": " + what + ": " + (msg ? msg : "unknown libarchive error"));
  };
  if (archive_read_open(a.get(), &src, nullptr, tar_read_cb, nullptr) != ARCHIVE_OK)
    fail("not a tar stream");

  ApplyStats stats;
  for (;;) {
    struct archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) fail("cannot read tar header");
    if (++stats.entries > options.max_entries)
      throw Error(ErrorKind::BadInput, options.name + " has more than " +
                                           std::to_string(options.max_entries) + " entries");
    applier.apply(entry, a.get(), stats);
  }
  applier.finish();
  // libarchive stops at the end-of-archive blocks; the DiffID covers the
  // whole stream, and draining also surfaces a truncated compressed tail.
  if (src.error) std::rethrow_exception(src.error);
  while (src.pull() > 0) {
  }
  stats.uncompressed_size = src.size;
  stats.diff_id = src.diff.finish();
  return stats;
}

}  // namespace envbuild::registry
