#include "snapshot/snapshot_restore.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "registry/error.hpp"
#include "registry/parallel.hpp"
#include "registry/unique_fd.hpp"
#include "snapshot/snapshot_format.hpp"
#include "snapshot/snapshot_name_codec.hpp"

namespace envbuild::snapshot {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(ErrorKind kind, const std::string& what) {
  throw Error(kind, what + (errno ? std::string(": ") + std::strerror(errno) : std::string()));
}

std::pair<std::string, std::string> split_parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = std::min(path.find('/', start), path.size());
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

// Refuses any entry list that could escape DEST or clash, before writing.
void validate_entries(const SnapshotInfo& snapshot) {
  std::set<std::string> seen, non_dirs;
  for (const SnapshotFile& f : snapshot.files) {
    const std::string where = "snapshot entry '" + f.path + "'";
    if (f.path.size() > kMaxDepth * (kMaxNameBytes + 1)) {
      throw Error(ErrorKind::BadInput, where + ": path too long");
    }
    const auto parts = components(f.path);
    if (parts.size() > kMaxDepth) throw Error(ErrorKind::BadInput, where + ": too deep");
    for (const std::string& part : parts) validate_entry_name(part, where);
    if (!seen.insert(f.path).second) throw Error(ErrorKind::BadInput, where + " appears twice");
    if (f.type != EntryType::Directory) non_dirs.insert(f.path);
    if (f.type == EntryType::Symlink &&
        (f.link_target.empty() || f.link_target.size() > kMaxLinkTargetBytes ||
         f.link_target.find('\0') != std::string::npos)) {
      throw Error(ErrorKind::BadInput, where + ": invalid symlink target");
    }
    if (f.type == EntryType::File && !f.pack.empty() &&
        (f.pack_size > kMaxPackBytes || f.pack_offset > f.pack_size ||
         f.size > f.pack_size - f.pack_offset)) {
      throw Error(ErrorKind::BadInput, where + ": slice outside its pack");
    }
  }
  for (const SnapshotFile& f : snapshot.files) {
    for (size_t slash = f.path.find('/'); slash != std::string::npos;
         slash = f.path.find('/', slash + 1)) {
      if (non_dirs.count(f.path.substr(0, slash))) {
        throw Error(ErrorKind::BadInput, "snapshot entry '" + f.path + "' lies under '" +
                                             f.path.substr(0, slash) +
                                             "', which is not a directory; refusing to restore");
      }
    }
  }
}

// Opens (creating when asked) a directory below `root_fd`, one component
// at a time with O_NOFOLLOW: a symlink anywhere on the way is an error.
UniqueFd open_dir(int root_fd, const std::string& path, bool create) {
  UniqueFd current(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (!current.valid()) fail(ErrorKind::Internal, "dup");
  if (path.empty()) return current;
  for (const std::string& part : components(path)) {
    if (create && ::mkdirat(current.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
      fail(ErrorKind::Internal, "cannot create directory '" + path + "'");
    }
    UniqueFd next(
        ::openat(current.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) fail(ErrorKind::BadInput, "cannot open directory '" + path + "' safely");
    current = std::move(next);
  }
  return current;
}

// A temp file in the entry's directory, renamed into place (never replacing
// anything) once its content is complete and verified.
class PendingFile {
 public:
  PendingFile(int root_fd, const SnapshotFile& file) : file_(file) {
    auto [parent, name] = split_parent(file.path);
    name_ = name;
    dir_ = open_dir(root_fd, parent, false);
    std::random_device random;
    for (int attempt = 0; attempt < 8 && !fd_.valid(); ++attempt) {
      char buf[40];
      std::snprintf(buf, sizeof buf, ".envbuild-partial-%08x%08x", random(), random());
      temp_ = buf;
      fd_.reset(::openat(dir_.get(), temp_.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!fd_.valid() && errno != EEXIST) break;
    }
    if (!fd_.valid())
      fail(ErrorKind::Internal, "cannot create a temp file for '" + file.path + "'");
  }
  ~PendingFile() {
    if (!committed_) ::unlinkat(dir_.get(), temp_.c_str(), 0);
  }
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;

  void write(const char* data, size_t size) {
    hasher_.update(data, size);
    written_ += size;
    while (size > 0) {
      const ssize_t n = ::write(fd_.get(), data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail(ErrorKind::Internal, "cannot write '" + file_.path + "'");
      data += n;
      size -= static_cast<size_t>(n);
    }
  }

  void commit() {
    if (written_ != file_.size || hasher_.finish() != file_.sha256) {
      errno = 0;
      fail(ErrorKind::BadInput, "snapshot content of '" + file_.path +
                                    "' does not match its recorded sha256; refusing it");
    }
    // Exact bits: only the executable bit is recorded, so the umask of
    // whoever restores must not change what the tree looks like.
    if (::fchmod(fd_.get(), file_.executable ? 0755 : 0644) != 0) {
      fail(ErrorKind::Internal, "cannot chmod '" + file_.path + "'");
    }
    fd_.reset();
    if (::renameat2(dir_.get(), temp_.c_str(), dir_.get(), name_.c_str(), RENAME_NOREPLACE) != 0) {
      fail(ErrorKind::BadInput, "cannot move '" + file_.path + "' into place");
    }
    committed_ = true;
  }

 private:
  const SnapshotFile& file_;
  std::string name_, temp_;
  UniqueFd dir_, fd_;
  registry::Hasher hasher_;
  uint64_t written_ = 0;
  bool committed_ = false;
};

void prepare_dest(const fs::path& dest) {
  struct stat st {};
  if (::lstat(dest.c_str(), &st) != 0) {
    if (errno != ENOENT) fail(ErrorKind::BadInput, dest.string());
    if (::mkdir(dest.c_str(), 0755) != 0)
      fail(ErrorKind::BadInput, "cannot create " + dest.string());
    return;
  }
  if (!S_ISDIR(st.st_mode) || !fs::is_empty(dest)) {
    errno = 0;
    fail(ErrorKind::BadInput, dest.string() + " exists and is not an empty directory");
  }
}

}  // namespace

RestoreResult restore_snapshot(registry::Store& store, const SnapshotInfo& snapshot,
                               const fs::path& dest, size_t workers) {
  validate_entries(snapshot);
  prepare_dest(dest);
  const UniqueFd root(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) fail(ErrorKind::BadInput, "cannot open " + dest.string());

  RestoreResult result;
  // Directories first, parents before children (a prefix sorts first).
  std::set<std::string> dirs;
  for (const SnapshotFile& f : snapshot.files) {
    if (f.type == EntryType::Directory) {
      dirs.insert(f.path);
      ++result.directories;
    }
    for (size_t slash = f.path.find('/'); slash != std::string::npos;
         slash = f.path.find('/', slash + 1)) {
      dirs.insert(f.path.substr(0, slash));
    }
  }
  for (const std::string& d : dirs) open_dir(root.get(), d, true);

  // One task per pack (its slices) and per file with its own blob or none.
  std::map<registry::Digest, std::vector<const SnapshotFile*>> packs;
  std::vector<std::vector<const SnapshotFile*>> tasks;
  for (const SnapshotFile& f : snapshot.files) {
    if (f.type != EntryType::File) continue;
    ++result.files;
    result.bytes += f.size;
    if (!f.pack.empty()) {
      packs[f.pack].push_back(&f);
    } else {
      tasks.push_back({&f});
    }
  }
  for (auto& [digest, members] : packs) tasks.push_back(std::move(members));

  registry::run_parallel(tasks.size(), std::max<size_t>(1, workers), [&](size_t k) {
    const auto& members = tasks[k];
    const SnapshotFile& first = *members.front();
    if (!first.pack.empty()) {
      auto reader = store.open_blob(blob_descriptor(kPackMediaType, first.pack, first.pack_size));
      // Read to the end: the store's reader verifies the pack's digest there.
      const std::string pack = registry::read_all(*reader, kMaxPackBytes);
      for (const SnapshotFile* f : members) {
        if (f->pack_size != pack.size() || f->pack_offset + f->size > pack.size()) {
          throw Error(ErrorKind::BadInput,
                      "snapshot entry '" + f->path + "': slice outside its pack");
        }
        PendingFile out(root.get(), *f);
        out.write(pack.data() + f->pack_offset, f->size);
        out.commit();
      }
      return;
    }
    PendingFile out(root.get(), first);
    if (first.size > 0) {
      auto reader = store.open_blob(blob_descriptor(kFileMediaType, first.sha256, first.size));
      std::vector<char> buf(1 << 20);
      for (size_t n; (n = reader->read(buf.data(), buf.size())) > 0;) out.write(buf.data(), n);
    }
    out.commit();
  });

  // Links last, so no file or directory is ever created through one.
  for (const SnapshotFile& f : snapshot.files) {
    if (f.type != EntryType::Symlink) continue;
    auto [parent, name] = split_parent(f.path);
    const UniqueFd dir = open_dir(root.get(), parent, false);
    if (::symlinkat(f.link_target.c_str(), dir.get(), name.c_str()) != 0) {
      fail(ErrorKind::BadInput, "cannot create symlink '" + f.path + "'");
    }
    ++result.symlinks;
  }
  return result;
}

}  // namespace envbuild::snapshot
