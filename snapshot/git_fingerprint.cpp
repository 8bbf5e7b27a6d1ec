#include "snapshot/git_fingerprint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "registry/unique_fd.hpp"
#include "snapshot/git_worktree.hpp"

namespace envbuild::snapshot {

namespace {

namespace fs = std::filesystem;

constexpr int kMaxRefDepth = 5;  // git itself gives up on deeper symref chains

int64_t ns(const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

// The first line of a small file (HEAD, a loose ref), or "-".
std::string small_file_line(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) return "-";
  char buf[512];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0) return "-";
  std::string line(buf, static_cast<size_t>(n));
  line = line.substr(0, line.find('\n'));
  return line;
}

void add(std::string& out, const std::string& label, const std::string& value) {
  out += label;
  out += ' ';
  out += value;
  out += '\n';
}

fs::path user_config_home() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) return fs::path(xdg) / "git";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".config/git";
  return {};
}

// "uid type" of `path` (not followed), or "-": who owns it decides whether
// git trusts it (safe.directory).
std::string owner_line(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "-";
  return std::to_string(st.st_uid) + " " + std::to_string(st.st_mode & S_IFMT);
}

}  // namespace

std::string stat_line(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "-";
  return std::to_string(st.st_size) + " " + std::to_string(ns(st.st_mtim)) + " " +
         std::to_string(ns(st.st_ctim)) + " " + std::to_string(st.st_ino) + " " +
         std::to_string(st.st_uid);
}

std::string git_state_fingerprint(const fs::path& dir) {
  std::string out = "git-fingerprint v1\n";
  add(out, "dir", dir.string());
  add(out, "euid", std::to_string(::geteuid()));
  // The user's config files (remote URL rewrites, safe.directory).
  if (const char* home = std::getenv("HOME"); home && *home)
    add(out, "global", stat_line(fs::path(home) / ".gitconfig"));
  if (fs::path xdg = user_config_home(); !xdg.empty()) add(out, "xdg", stat_line(xdg / "config"));
  add(out, "system", stat_line("/etc/gitconfig"));

  std::optional<WorkTree> wt = find_work_tree(dir);
  if (!wt) {
    add(out, "repository", "-");
    return out;
  }
  // Directories by owner only: git touches the gitdir's mtime whenever it
  // takes and drops index.lock, even in a read-only `git status`.
  add(out, "worktree", wt->root.string() + " " + owner_line(wt->root));
  add(out, "dotgit", owner_line(wt->root / ".git"));
  add(out, "gitdir", wt->git_dir.string() + " " + owner_line(wt->git_dir));
  add(out, "commondir", wt->common_dir.string());
  add(out, "config", stat_line(wt->common_dir / "config"));
  add(out, "config.worktree", stat_line(wt->git_dir / "config.worktree"));
  add(out, "index", stat_line(wt->git_dir / "index"));
  add(out, "packed-refs", stat_line(wt->common_dir / "packed-refs"));
  add(out, ".gitmodules", stat_line(wt->root / ".gitmodules"));
  // HEAD and the chain of loose refs it names, by content: a commit moves a
  // branch by rewriting its ref file.
  std::string head = small_file_line(wt->git_dir / "HEAD");
  add(out, "HEAD", head);
  for (int depth = 0; depth < kMaxRefDepth && head.rfind("ref: ", 0) == 0; ++depth) {
    std::string name = head.substr(5);
    if (name.find("..") != std::string::npos) break;  // hostile: never leave the gitdir
    // Per-worktree refs live in the gitdir, the rest in the common dir.
    fs::path base = name.rfind("refs/heads/", 0) == 0 || name.rfind("refs/tags/", 0) == 0 ||
                            name.rfind("refs/remotes/", 0) == 0
                        ? wt->common_dir
                        : wt->git_dir;
    head = small_file_line(base / name);
    add(out, name, head);
  }
  return out;
}

}  // namespace envbuild::snapshot
