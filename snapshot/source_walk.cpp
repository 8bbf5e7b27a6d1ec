#include "snapshot/source_walk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "registry/error.hpp"
#include "registry/unique_fd.hpp"
#include "snapshot/git_worktree.hpp"
#include "snapshot/ignore_rules.hpp"

namespace envbuild::snapshot {

namespace {

namespace fs = std::filesystem;

constexpr const char* kGitReason = "(built-in):0:.git";

[[noreturn]] void cannot(const std::string& what, const std::string& path, int err) {
  throw Error(ErrorKind::BadInput, "cannot " + what + " " + path + ": " + std::strerror(err));
}

UniqueFd open_directory(int at, const char* name) {
  return UniqueFd(::openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

std::vector<std::string> read_names(int dir_fd, const std::string& display) {
  int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) cannot("read directory", display, errno);
  DIR* dir = ::fdopendir(dup);
  if (dir == nullptr) {
    int err = errno;
    ::close(dup);
    cannot("read directory", display, err);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* d = ::readdir(dir)) {
    if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
    names.emplace_back(d->d_name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) cannot("read directory", display, err);
  std::sort(names.begin(), names.end());
  return names;
}

std::string reason_of(const IgnoreMatch& m) {
  return m.file->source + ":" + std::to_string(m.pattern->line) + ":" + m.pattern->text;
}

const char* special_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISCHR(mode)) return "character device";
  return "unknown file type";
}

int64_t ns(const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

// The rules in effect at the snapshot root: parent ignore files and
// info/exclude when the root lies in a git work tree. `top_prefix` is the
// root's path relative to the top ("" or ending in '/'). Sets
// `root_ignored` when a parent rule ignores the root or a directory above it.
struct RootContext {
  IgnoreRules rules;
  std::string top_prefix;
  std::optional<IgnoreMatch> root_ignored;
};

bool has_name(const std::vector<std::string>& names, const char* n) {
  return std::binary_search(names.begin(), names.end(), std::string(n));
}

void push_directory_rules(IgnoreRules& rules, int dir_fd, const std::vector<std::string>& names,
                          std::string base, const std::string& source_dir) {
  rules.push(read_directory_ignore_file(dir_fd, has_name(names, ".amlignore"),
                                        has_name(names, ".gitignore"), std::move(base),
                                        source_dir));
}

void setup_root(RootContext& ctx, const fs::path& root, const WalkOptions& options) {
  if (!options.honor_parent_ignores) return;
  std::optional<WorkTree> wt = find_work_tree(root);
  if (!wt) return;
  ctx.rules.set_exclude_file(read_ignore_file(wt->exclude_file, "", wt->exclude_file.string()));
  fs::path rel = root.lexically_relative(wt->root);
  std::vector<std::string> parts;
  for (const auto& part : rel)
    if (part != ".") parts.push_back(part.string());
  fs::path dir = wt->root;
  std::string base;
  for (const std::string& part : parts) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.valid()) {
      std::vector<std::string> names = read_names(fd.get(), dir.string());
      push_directory_rules(ctx.rules, fd.get(), names, base, (dir / "").string());
    }
    std::string path = base + part;
    IgnoreMatch m = ctx.rules.match(path, part, true);
    if (m.ignored() && !ctx.root_ignored) ctx.root_ignored = m;
    if (part == ".git" && !ctx.root_ignored) ctx.root_ignored = IgnoreMatch{};
    base = path + "/";
    dir /= part;
  }
  ctx.top_prefix = base;
}

class Walker {
 public:
  Walker(RootContext& ctx, const fs::path& root) : ctx_(ctx), root_(root) {}

  void walk(int dir_fd, const std::string& rel) {
    std::string display = rel.empty() ? root_.string() : (root_ / rel).string();
    std::vector<std::string> names = read_names(dir_fd, display);
    push_directory_rules(ctx_.rules, dir_fd, names, ctx_.top_prefix + rel, rel);
    for (const std::string& name : names) visit(dir_fd, rel, name);
    ctx_.rules.pop();
  }

  WalkResult result;

 private:
  void visit(int dir_fd, const std::string& rel, const std::string& name) {
    std::string path = rel + name;
    if (name == ".git") {
      result.excluded.push_back({path, true, kGitReason});
      ++result.ignored_count;
      return;
    }
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return;  // deleted while we walk
      cannot("stat", (root_ / path).string(), errno);
    }
    bool is_dir = S_ISDIR(st.st_mode);
    IgnoreMatch m = ctx_.rules.match(ctx_.top_prefix + path, name, is_dir);
    if (m.ignored()) {
      result.excluded.push_back({path, is_dir, reason_of(m)});
      ++result.ignored_count;
      return;
    }
    SourceEntry e;
    e.path = path;
    e.mode = static_cast<uint32_t>(st.st_mode & 07777);
    e.mtime_ns = ns(st.st_mtim);
    e.ctime_ns = ns(st.st_ctim);
    e.inode = st.st_ino;
    e.device = st.st_dev;
    if (is_dir) {
      UniqueFd sub = open_directory(dir_fd, name.c_str());
      if (!sub.valid()) cannot("read directory", (root_ / path).string(), errno);
      size_t before = result.entries.size();
      walk(sub.get(), path + "/");
      if (result.entries.size() == before) {
        e.type = EntryType::Directory;
        result.entries.push_back(std::move(e));
      }
    } else if (S_ISREG(st.st_mode)) {
      e.type = EntryType::File;
      e.size = static_cast<uint64_t>(st.st_size);
      result.entries.push_back(std::move(e));
    } else if (S_ISLNK(st.st_mode)) {
      e.type = EntryType::Symlink;
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      for (;;) {
        ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
        if (n < 0) cannot("read symlink", (root_ / path).string(), errno);
        if (static_cast<size_t>(n) < target.size()) {
          target.resize(static_cast<size_t>(n));
          break;
        }
        target.resize(target.size() * 2);
      }
      e.size = target.size();
      e.link_target = std::move(target);
      result.entries.push_back(std::move(e));
    } else {
      result.excluded.push_back(
          {path, false, std::string("special file (") + special_kind(st.st_mode) + ")"});
    }
  }

  RootContext& ctx_;
  fs::path root_;
};

fs::path canonical_root(const fs::path& root) {
  std::error_code ec;
  fs::path r = fs::canonical(root, ec);
  if (ec) throw Error(ErrorKind::BadInput, "cannot open " + root.string() + ": " + ec.message());
  return r;
}

}  // namespace

WalkResult walk_source_tree(const fs::path& root_in, const WalkOptions& options) {
  fs::path root = canonical_root(root_in);
  RootContext ctx;
  setup_root(ctx, root, options);
  Walker walker(ctx, root);
  if (ctx.root_ignored) {
    walker.result.excluded.push_back(
        {"", true, ctx.root_ignored->pattern ? reason_of(*ctx.root_ignored) : kGitReason});
    walker.result.ignored_count = 1;
    return std::move(walker.result);
  }
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) cannot("read directory", root.string(), errno);
  walker.walk(fd.get(), "");
  // Byte order of whole paths ("a-b" < "a/b"), which a depth-first walk of
  // sorted names does not give by itself.
  std::sort(walker.result.entries.begin(), walker.result.entries.end(),
            [](const SourceEntry& a, const SourceEntry& b) { return a.path < b.path; });
  return std::move(walker.result);
}

IgnoreDecision explain_path(const fs::path& root_in, std::string_view relative_path,
                            const WalkOptions& options) {
  fs::path root = canonical_root(root_in);
  RootContext ctx;
  setup_root(ctx, root, options);
  auto decision = [](const IgnoreMatch& m) {
    IgnoreDecision d;
    if (m.pattern == nullptr) {
      d.ignored = true;
      d.source = "(built-in)";
      d.pattern = ".git";
      return d;
    }
    d.ignored = m.ignored();
    d.source = m.file->source;
    d.line = m.pattern->line;
    d.pattern = m.pattern->text;
    return d;
  };
  if (ctx.root_ignored) return decision(*ctx.root_ignored);

  std::string path(relative_path);
  bool trailing_slash = !path.empty() && path.back() == '/';
  while (!path.empty() && path.back() == '/') path.pop_back();
  while (path.compare(0, 2, "./") == 0) path.erase(0, 2);
  std::vector<std::string> parts;
  for (size_t start = 0; start <= path.size();) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  if (parts.empty()) return {};
  for (const std::string& p : parts) {
    if (p == "..") throw Error(ErrorKind::BadInput, "path " + path + " leaves " + root.string());
  }

  UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::string rel;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& name = parts[i];
    if (dir.valid()) {
      std::vector<std::string> names = read_names(dir.get(), (root / rel).string());
      push_directory_rules(ctx.rules, dir.get(), names, ctx.top_prefix + rel, rel);
    }
    if (name == ".git") return decision(IgnoreMatch{});
    bool last = i + 1 == parts.size();
    bool is_dir = !last || trailing_slash;
    if (last && !is_dir && dir.valid()) {
      struct stat st {};
      is_dir =
          ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    IgnoreMatch m = ctx.rules.match(ctx.top_prefix + rel + name, name, is_dir);
    if (m.ignored() || (last && m.pattern != nullptr)) return decision(m);
    if (last) return {};
    UniqueFd sub = dir.valid() ? open_directory(dir.get(), name.c_str()) : UniqueFd();
    dir = std::move(sub);
    rel += name + "/";
  }
  return {};
}

}  // namespace envbuild::snapshot
