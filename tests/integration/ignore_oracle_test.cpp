// Git is the oracle for our ignore rules: on many generated trees and ignore
// files, the files a walk includes must equal, byte for byte,
// `git ls-files -o --exclude-standard` (or --exclude-per-directory=.amlignore).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "snapshot/source_walk.hpp"
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using envbuild::snapshot::EntryType;
using envbuild::snapshot::walk_source_tree;
using envbuild::testing::run_process;
using envbuild::testing::TempDir;
using envbuild::testing::write_file;

namespace {

const std::vector<std::string> kNames = {
    "a",   "b",     "c.txt", "d.log", ".hidden",      "x y",    "#h",    "!n",   "build",
    "sub", "K.TXT", "a*b",   "[q]",   "node_modules", "e.log ", "t\tab", "bb.c", "z\\y"};
const std::vector<std::string> kAtoms = {"*",
                                         "*.txt",
                                         "*.log",
                                         "a",
                                         "b*",
                                         "?",
                                         "[a-c]",
                                         "[!a]*",
                                         "**",
                                         "build",
                                         "sub",
                                         "\\#h",
                                         "\\!n",
                                         ".hidden",
                                         "x y",
                                         "x\\ y",
                                         "[q]",
                                         "\\[q]",
                                         "a\\*b",
                                         "*.c",
                                         "node_modules",
                                         "[[:upper:]]*",
                                         "e.log\\ ",
                                         "t\tab",
                                         "[z-a]",
                                         "c.[tx]xt",
                                         "*b"};

struct Generator {
  std::mt19937 rng;
  explicit Generator(unsigned seed) : rng(seed) {}
  size_t pick(size_t n) { return rng() % n; }
  bool chance(int percent) { return static_cast<int>(rng() % 100) < percent; }

  std::string pattern() {
    std::string p;
    if (chance(20)) p += "!";
    if (chance(20)) p += "/";
    size_t parts = 1 + pick(3);
    for (size_t i = 0; i < parts; ++i) {
      if (i) p += "/";
      p += kAtoms[pick(kAtoms.size())];
    }
    if (chance(20)) p += "/";
    if (chance(10)) p += " ";
    if (chance(5)) p += "  ";
    if (chance(5)) p += "\t";
    return p;
  }

  std::string ignore_file() {
    std::string out;
    if (chance(5)) out += "\xEF\xBB\xBF";
    size_t lines = 1 + pick(6);
    bool crlf = chance(15);
    for (size_t i = 0; i < lines; ++i) {
      if (chance(8))
        out += "# comment";
      else if (!chance(5))
        out += pattern();
      out += crlf ? "\r\n" : "\n";
    }
    if (chance(20) && !out.empty()) out.pop_back();  // no final newline
    return out;
  }

  // Creates files and directories under `dir`, with ignore files named
  // `ignore_name` in some directories.
  void tree(const fs::path& dir, int depth, const std::string& ignore_name) {
    fs::create_directories(dir);
    if (chance(60)) write_file(dir / ignore_name, ignore_file());
    size_t n = 2 + pick(6);
    for (size_t i = 0; i < n; ++i) {
      std::string name = kNames[pick(kNames.size())];
      fs::path p = dir / name;
      if (fs::exists(fs::symlink_status(p))) continue;
      if (depth < 3 && chance(35)) {
        tree(p, depth + 1, ignore_name);
      } else if (chance(8)) {
        fs::create_symlink("a", p);
      } else {
        write_file(p, name);
      }
    }
  }
};

std::vector<std::string> split_z(const std::string& out) {
  std::vector<std::string> paths;
  std::string cur;
  for (char c : out) {
    if (c == '\0') {
      paths.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::vector<std::string> our_files(const fs::path& root, bool parents = true) {
  envbuild::snapshot::WalkOptions o;
  o.honor_parent_ignores = parents;
  std::vector<std::string> paths;
  for (const auto& e : walk_source_tree(root, o).entries)
    if (e.type != EntryType::Directory) paths.push_back(e.path);
  return paths;
}

std::string dump_ignore_files(const fs::path& root) {
  std::ostringstream out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string n = e.path().filename().string();
    if (n == ".gitignore" || n == ".amlignore") {
      out << "--- " << e.path().lexically_relative(root).string() << "\n"
          << envbuild::testing::slurp(e.path()) << "\n";
    }
  }
  return out.str();
}

std::string differences(const std::vector<std::string>& ours, const std::vector<std::string>& git) {
  std::ostringstream out;
  for (const auto& p : ours)
    if (!std::binary_search(git.begin(), git.end(), p)) out << "  only ours: [" << p << "]\n";
  for (const auto& p : git)
    if (!std::binary_search(ours.begin(), ours.end(), p)) out << "  only git:  [" << p << "]\n";
  return out.str();
}

const std::map<std::string, std::string>& git_env(const fs::path& home) {
  static thread_local std::map<std::string, std::string> env;
  env = {{"HOME", home.string()},
         {"GIT_CONFIG_NOSYSTEM", "1"},
         {"GIT_CONFIG_GLOBAL", "/dev/null"},
         {"XDG_CONFIG_HOME", home.string()}};
  return env;
}

void run_oracle(const std::string& ignore_name, const std::vector<std::string>& git_flags,
                unsigned first_seed, int trees) {
  TempDir work;
  fs::path gitdir = work.path() / "repo.git";
  ASSERT_EQ(
      run_process({"git", "init", "-q", "--bare", gitdir.string()}, git_env(work.path())).exit_code,
      0);
  for (int i = 0; i < trees; ++i) {
    unsigned seed = first_seed + static_cast<unsigned>(i);
    fs::path root = work.path() / ("t" + std::to_string(seed));
    Generator(seed).tree(root, 0, ignore_name);
    auto env = git_env(work.path());
    env["GIT_DIR"] = gitdir.string();
    env["GIT_WORK_TREE"] = root.string();
    std::vector<std::string> argv = {"git", "-C", root.string(), "ls-files", "-z", "-o"};
    argv.insert(argv.end(), git_flags.begin(), git_flags.end());
    auto r = run_process(argv, env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> git = split_z(r.out);
    std::vector<std::string> ours = our_files(root);
    ASSERT_EQ(ours, git) << "seed " << seed << " (" << ignore_name << ")\n"
                         << differences(ours, git) << dump_ignore_files(root);
    fs::remove_all(root);
  }
}

TEST(IgnoreOracle, GitignoreTreesMatchGitLsFiles) {
  run_oracle(".gitignore", {"--exclude-standard"}, 1000, 250);
}

TEST(IgnoreOracle, AmlignoreTreesMatchGitWithExcludePerDirectory) {
  run_oracle(".amlignore", {"--exclude-per-directory=.amlignore"}, 5000, 150);
}

// Root below the work-tree root: parent .gitignore files and info/exclude
// apply, with their own bases, as `git ls-files` run in the subdirectory.
TEST(IgnoreOracle, SubdirectoryOfAWorkTreeHonoursParentsAndInfoExclude) {
  TempDir work;
  for (unsigned seed = 9000; seed < 9060; ++seed) {
    fs::path top = work.path() / ("w" + std::to_string(seed));
    Generator g(seed);
    g.tree(top, 0, ".gitignore");
    fs::create_directories(top / "proj" / "src");
    write_file(top / "proj" / ".gitignore", g.ignore_file());
    g.tree(top / "proj" / "src", 1, ".gitignore");
    auto env = git_env(work.path());
    ASSERT_EQ(run_process({"git", "init", "-q", top.string()}, env).exit_code, 0);
    write_file(top / ".git" / "info" / "exclude", g.ignore_file());
    for (const fs::path& root : {top / "proj", top / "proj" / "src"}) {
      auto r = run_process(
          {"git", "-C", root.string(), "ls-files", "-z", "-o", "--exclude-standard"}, env);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      std::vector<std::string> git = split_z(r.out);
      std::vector<std::string> ours = our_files(root);
      ASSERT_EQ(ours, git) << "seed " << seed << " root " << root << "\n"
                           << differences(ours, git) << dump_ignore_files(top)
                           << "--- info/exclude\n"
                           << envbuild::testing::slurp(top / ".git" / "info" / "exclude");
    }
    fs::remove_all(top);
  }
}

}  // namespace
