#include "builder/conda/package/rooted_dir.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "builder/conda/package/package_path.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {

namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

[[noreturn]] void fail_errno(std::string_view what, const std::string& action) {
  throw Error(ErrorKind::Internal, std::string(what) + ": " + action + ": " + std::strerror(errno));
}

[[noreturn]] void bad(std::string_view what, const std::string& reason) {
  throw Error(ErrorKind::BadInput, std::string(what) + ": " + reason);
}

}  // namespace

RootedDir::RootedDir(const std::filesystem::path& root) : path_(root) {
  fd_ = UniqueFd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd_.valid())
    throw Error(ErrorKind::BadInput,
                "cannot open directory " + root.string() + ": " + std::strerror(errno));
}

UniqueFd RootedDir::open_parent(const std::vector<std::string>& comps, bool create,
                                std::string_view what) const {
  UniqueFd cur(::dup(fd_.get()));
  if (!cur.valid()) fail_errno(what, "cannot dup directory fd");
  for (size_t i = 0; i + 1 < comps.size(); ++i) {
    const char* name = comps[i].c_str();
    int fd = ::openat(cur.get(), name, kDirFlags);
    if (fd < 0 && errno == ENOENT) {
      if (!create) return UniqueFd();
      if (::mkdirat(cur.get(), name, 0755) != 0 && errno != EEXIST)
        fail_errno(what, "cannot create directory " + join_components(comps, i + 1));
      fd = ::openat(cur.get(), name, kDirFlags);
    }
    if (fd < 0) {
      if (errno == ELOOP || errno == ENOTDIR)
        bad(what, "refusing to go through the symlink or non-directory '" +
                      join_components(comps, i + 1) + "'");
      fail_errno(what, "cannot open directory " + join_components(comps, i + 1));
    }
    cur = UniqueFd(fd);
  }
  return cur;
}

std::optional<struct stat> RootedDir::lstat(const std::vector<std::string>& comps,
                                            std::string_view what) const {
  if (comps.empty()) {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) fail_errno(what, "cannot stat the root");
    return st;
  }
  UniqueFd parent = open_parent(comps, /*create=*/false, what);
  if (!parent.valid()) return std::nullopt;
  struct stat st {};
  if (::fstatat(parent.get(), comps.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::nullopt;
    fail_errno(what, "cannot stat");
  }
  return st;
}

UniqueFd RootedDir::open_regular(const std::vector<std::string>& comps,
                                 std::string_view what) const {
  if (comps.empty()) bad(what, "not a regular file");
  UniqueFd parent = open_parent(comps, /*create=*/false, what);
  if (!parent.valid()) bad(what, "missing from the package");
  // O_NONBLOCK: a fifo planted in the tree must not block the open.
  int fd =
      ::openat(parent.get(), comps.back().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) bad(what, "missing from the package");
    if (errno == ELOOP) bad(what, "is a symlink, expected a regular file");
    fail_errno(what, "cannot open");
  }
  UniqueFd file(fd);
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) fail_errno(what, "cannot stat");
  if (!S_ISREG(st.st_mode)) bad(what, "is not a regular file");
  return file;
}

std::string RootedDir::read_file(const std::vector<std::string>& comps, uint64_t max_bytes,
                                 std::string_view what) const {
  UniqueFd fd = open_regular(comps, what);
  return read_fd(fd.get(), max_bytes, what);
}

std::string RootedDir::read_link(const std::vector<std::string>& comps,
                                 std::string_view what) const {
  if (comps.empty()) bad(what, "not a symlink");
  UniqueFd parent = open_parent(comps, /*create=*/false, what);
  if (!parent.valid()) bad(what, "missing from the package");
  std::string buf(kMaxPackagePathBytes + 1, '\0');
  ssize_t n = ::readlinkat(parent.get(), comps.back().c_str(), buf.data(), buf.size());
  if (n < 0) {
    if (errno == EINVAL) bad(what, "is not a symlink");
    if (errno == ENOENT) bad(what, "missing from the package");
    fail_errno(what, "cannot read link");
  }
  if (static_cast<size_t>(n) > kMaxPackagePathBytes) bad(what, "symlink target too long");
  buf.resize(static_cast<size_t>(n));
  return buf;
}

std::string read_fd(int fd, uint64_t max_bytes, std::string_view what) {
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    if (static_cast<uint64_t>(st.st_size) > max_bytes)
      bad(what, "larger than " + std::to_string(max_bytes) + " bytes");
    out.reserve(static_cast<size_t>(st.st_size));
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno(what, "cannot read");
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes)
      bad(what, "larger than " + std::to_string(max_bytes) + " bytes");
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace envbuild::builder::conda
