#include "snapshot/git_worktree.hpp"

#include <fstream>
#include <string>
#include <system_error>

namespace envbuild::snapshot {

namespace {

namespace fs = std::filesystem;

std::string first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// A linked worktree's gitdir names the shared repository in "commondir".
fs::path common_dir(const fs::path& gitdir) {
  std::error_code ec;
  if (!fs::exists(gitdir / "commondir", ec)) return gitdir;
  fs::path common = first_line(gitdir / "commondir");
  return common.is_absolute() ? common : (gitdir / common).lexically_normal();
}

WorkTree make(const fs::path& root, const fs::path& gitdir) {
  fs::path common = common_dir(gitdir);
  return WorkTree{root, common / "info" / "exclude", gitdir, common};
}

}  // namespace

std::optional<WorkTree> find_work_tree(const fs::path& dir) {
  std::error_code ec;
  for (fs::path d = dir;; d = d.parent_path()) {
    fs::path dotgit = d / ".git";
    auto st = fs::symlink_status(dotgit, ec);
    if (!ec && fs::is_directory(st)) return make(d, dotgit);
    if (!ec && fs::is_regular_file(st)) {
      std::string line = first_line(dotgit);
      const std::string prefix = "gitdir:";
      if (line.compare(0, prefix.size(), prefix) == 0) {
        std::string target = line.substr(prefix.size());
        target.erase(0, target.find_first_not_of(' '));
        fs::path gitdir = fs::path(target).is_absolute() ? fs::path(target) : d / target;
        return make(d, gitdir.lexically_normal());
      }
    }
    if (d == d.parent_path()) return std::nullopt;
  }
}

}  // namespace envbuild::snapshot
