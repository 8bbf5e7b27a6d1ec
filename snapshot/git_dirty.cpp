#include "snapshot/git_dirty.hpp"

#include <fcntl.h>
// Low-level SHA-1, as registry/digest.cpp uses low-level SHA-2: EVP would
// link OpenSSL's provider machinery into every binary.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "registry/unique_fd.hpp"
#include "snapshot/git_library.hpp"

namespace envbuild::snapshot {

namespace {

namespace fs = std::filesystem;

constexpr uint32_t kGitlinkMode = 0160000;
constexpr uint32_t kSymlinkMode = 0120000;

// git's object id of a blob: SHA-1 over "blob <size>\0" and the bytes.
std::optional<git_oid> blob_id(const fs::path& file, bool symlink) {
  std::string content;
  if (symlink) {
    std::error_code ec;
    fs::path target = fs::read_symlink(file, ec);
    if (ec) return std::nullopt;
    content = target.string();
  } else {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return std::nullopt;
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return std::nullopt;
      if (n == 0) break;
      content.append(buf, static_cast<size_t>(n));
    }
  }
  std::string header = "blob " + std::to_string(content.size());
  header.push_back('\0');
  SHA_CTX ctx;
  unsigned char md[SHA_DIGEST_LENGTH];
  static_assert(SHA_DIGEST_LENGTH == GIT_OID_RAWSZ);
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, header.data(), header.size());
  SHA1_Update(&ctx, content.data(), content.size());
  SHA1_Final(md, &ctx);
  git_oid id;
  git_library().oid_fromraw(&id, md);
  return id;
}

// The index entry still describes the file: git's stat comparison, with its
// racy rule (an entry not older than the index file is checked by content).
bool stat_matches(const git_index_entry& e, const struct stat& st, int64_t index_mtime_ns) {
  int64_t mtime_ns = static_cast<int64_t>(e.mtime.seconds) * 1000000000 + e.mtime.nanoseconds;
  return e.mtime.seconds == static_cast<int32_t>(st.st_mtim.tv_sec) &&
         e.mtime.nanoseconds == static_cast<uint32_t>(st.st_mtim.tv_nsec) &&
         e.ctime.seconds == static_cast<int32_t>(st.st_ctim.tv_sec) &&
         e.ctime.nanoseconds == static_cast<uint32_t>(st.st_ctim.tv_nsec) &&
         e.ino == static_cast<uint32_t>(st.st_ino) &&
         e.file_size == static_cast<uint32_t>(st.st_size) && mtime_ns < index_mtime_ns;
}

// The stat fields git compares, as the walk saw them.
struct stat walked_stat(const SourceEntry& e) {
  struct stat st {};
  st.st_mode = (e.type == EntryType::Symlink ? S_IFLNK : S_IFREG) | e.mode;
  st.st_size = static_cast<off_t>(e.size);
  st.st_mtim = {static_cast<time_t>(e.mtime_ns / 1000000000),
                static_cast<long>(e.mtime_ns % 1000000000)};
  st.st_ctim = {static_cast<time_t>(e.ctime_ns / 1000000000),
                static_cast<long>(e.ctime_ns % 1000000000)};
  st.st_ino = static_cast<ino_t>(e.inode);
  return st;
}

bool mode_matches(uint32_t index_mode, const struct stat& st) {
  if (S_ISLNK(st.st_mode)) return index_mode == kSymlinkMode;
  bool exec = (st.st_mode & S_IXUSR) != 0;
  return index_mode == (exec ? 0100755u : 0100644u);
}

bool staged_changes(git_repository* repo, const std::string& prefix, std::string& problem,
                    bool& ok) {
  git_status_options opts = GIT_STATUS_OPTIONS_INIT;
  opts.show = GIT_STATUS_SHOW_INDEX_ONLY;
  // The folder is a literal path: a name like "s*" must not match "sx".
  opts.flags = GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH;
  std::string spec = prefix;
  char* specs[1] = {spec.data()};
  if (!spec.empty()) {
    opts.pathspec.strings = specs;
    opts.pathspec.count = 1;
  }
  git_status_list* list = nullptr;
  if (git_library().status_list_new(&list, repo, &opts) != 0) {
    const git_error* e = git_library().error_last();
    problem = std::string("cannot compare the index with HEAD: ") + (e ? e->message : "");
    ok = false;
    return false;
  }
  bool any = git_library().status_list_entrycount(list) > 0;
  git_library().status_list_free(list);
  return any;
}

// A submodule is clean when its checkout is the commit the index records and
// its own files are clean (git status shows "new commits" or "modified
// content" otherwise); those files are in the parent's walk already.
std::optional<bool> submodule_dirty(const fs::path& root, const git_oid& recorded,
                                    const WalkResult& walk, const std::string& inside,
                                    std::string& problem) {
  git_repository* raw = nullptr;
  // Not checked out (no repository there): git status shows nothing either.
  if (git_library().repository_open(&raw, root.c_str()) != 0) return false;
  GitPtr<git_repository, &GitLibrary::repository_free> sub(raw);
  git_oid head;
  if (git_library().reference_name_to_id(&head, sub.get(), "HEAD") != 0 ||
      git_library().oid_cmp(&head, &recorded) != 0)
    return true;
  WalkResult files;
  for (const SourceEntry& e : walk.entries) {
    if (e.path.compare(0, inside.size(), inside) != 0) continue;
    files.entries.push_back(e);
    files.entries.back().path.erase(0, inside.size());  // a common prefix keeps the order
  }
  return dirty_from_walk(sub.get(), root, files, problem);
}

}  // namespace

std::optional<std::string> work_tree_prefix(const char* workdir, const fs::path& dir) {
  std::error_code ec;
  fs::path root = fs::canonical(workdir, ec);
  if (ec) return std::nullopt;
  fs::path folder = fs::canonical(dir, ec);
  if (ec) return std::nullopt;
  fs::path rel = folder.lexically_relative(root);
  if (rel.empty()) return std::nullopt;
  if (rel == ".") return std::string();
  if (*rel.begin() == "..") return std::nullopt;
  return rel.string() + "/";
}

std::optional<bool> dirty_from_walk(git_repository* repo, const fs::path& dir,
                                    const WalkResult& walk, std::string& problem,
                                    DirtyEvidence* evidence) {
  const char* wd = git_library().repository_workdir(repo);
  if (wd == nullptr) return false;
  std::optional<std::string> in_tree = work_tree_prefix(wd, dir);
  if (!in_tree) {
    problem = "cannot place " + dir.string() + " in the git work tree " + wd;
    return std::nullopt;
  }
  const std::string& prefix = *in_tree;
  std::error_code ec;
  fs::path workdir = fs::canonical(wd, ec);

  bool ok = true;
  if (staged_changes(repo, prefix, problem, ok)) return true;
  if (!ok) return std::nullopt;

  git_index* index = nullptr;
  if (git_library().repository_index(&index, repo) != 0) {
    problem = "cannot read the git index";
    return std::nullopt;
  }
  GitPtr<git_index, &GitLibrary::index_free> holder(index);
  struct stat index_st {};
  int64_t index_mtime_ns = 0;
  if (const char* p = git_library().index_path(index); p && ::stat(p, &index_st) == 0)
    index_mtime_ns =
        static_cast<int64_t>(index_st.st_mtim.tv_sec) * 1000000000 + index_st.st_mtim.tv_nsec;

  // Walk entries that are files or links, by path relative to `dir`.
  std::vector<const SourceEntry*> walked;
  for (const SourceEntry& e : walk.entries)
    if (e.type != EntryType::Directory) walked.push_back(&e);
  std::vector<bool> tracked(walked.size(), false);
  std::vector<std::pair<std::string, git_oid>> gitlinks;  // "path/" inside dir, recorded commit
  auto find = [&](const std::string& path) -> long {
    auto it =
        std::lower_bound(walked.begin(), walked.end(), path,
                         [](const SourceEntry* e, const std::string& p) { return e->path < p; });
    return it != walked.end() && (*it)->path == path ? it - walked.begin() : -1;
  };

  size_t count = git_library().index_entrycount(index);
  for (size_t i = 0; i < count; ++i) {
    const git_index_entry* e = git_library().index_get_byindex(index, i);
    std::string path = e->path;
    if (path.compare(0, prefix.size(), prefix) != 0) continue;
    std::string inside = path.substr(prefix.size());
    if (e->mode == kGitlinkMode) {
      gitlinks.emplace_back(inside + "/", e->id);
      continue;
    }
    long at = find(inside);
    fs::path file = workdir / path;
    struct stat st {};
    if (at >= 0) {
      tracked[static_cast<size_t>(at)] = true;
      st = walked_stat(*walked[static_cast<size_t>(at)]);
    } else {
      // A tracked file the walk skipped (ignored, yet tracked) is still
      // compared, as git status does.
      if (evidence) evidence->tracked_outside_walk.push_back(file);
      if (::lstat(file.c_str(), &st) != 0) return true;  // deleted
    }
    if (!mode_matches(e->mode, st)) return true;
    if (stat_matches(*e, st, index_mtime_ns)) continue;
    auto id = blob_id(file, S_ISLNK(st.st_mode));
    if (!id || git_library().oid_cmp(&*id, &e->id) != 0) return true;
  }
  for (size_t i = 0; i < walked.size(); ++i) {
    if (tracked[i]) continue;
    const std::string& p = walked[i]->path;
    bool in_submodule = std::any_of(gitlinks.begin(), gitlinks.end(), [&](const auto& g) {
      return p.compare(0, g.first.size(), g.first) == 0;
    });
    if (!in_submodule) return true;  // untracked, not ignored
  }
  if (evidence && !gitlinks.empty()) evidence->submodules = true;
  for (const auto& [inside, recorded] : gitlinks) {
    std::optional<bool> dirty =
        submodule_dirty(workdir / (prefix + inside), recorded, walk, inside, problem);
    if (!dirty || *dirty) return dirty;
  }
  return false;
}

}  // namespace envbuild::snapshot
