#include "snapshot/source_walk.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "registry/error.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/without_file_overrides.hpp"

namespace fs = std::filesystem;
using namespace envbuild::snapshot;
using envbuild::testing::TempDir;
using envbuild::testing::write_file;

namespace {

std::vector<std::string> paths(const WalkResult& w) {
  std::vector<std::string> out;
  for (const auto& e : w.entries)
    out.push_back(e.path + (e.type == EntryType::Directory ? "/" : ""));
  return out;
}

const ExcludedEntry* excluded(const WalkResult& w, const std::string& path) {
  for (const auto& x : w.excluded)
    if (x.path == path) return &x;
  return nullptr;
}

TEST(SourceWalk, AmlignoreReplacesGitignoreInItsDirectoryOnly) {
  TempDir d;
  write_file(d.path() / ".gitignore", "*.log\n");
  write_file(d.path() / "a.log", "");
  write_file(d.path() / "sub" / ".gitignore", "*.tmp\n");
  write_file(d.path() / "sub" / ".amlignore", "*.bin\n");
  write_file(d.path() / "sub" / "x.tmp", "");
  write_file(d.path() / "sub" / "x.bin", "");
  write_file(d.path() / "sub" / "x.log", "");  // still ignored by the root .gitignore
  WalkResult w = walk_source_tree(d.path());
  EXPECT_EQ(paths(w), (std::vector<std::string>{".gitignore", "sub/.amlignore", "sub/.gitignore",
                                                "sub/x.tmp"}));
  ASSERT_NE(excluded(w, "sub/x.bin"), nullptr);
  EXPECT_EQ(excluded(w, "sub/x.bin")->reason, "sub/.amlignore:1:*.bin");
  EXPECT_EQ(excluded(w, "sub/x.log")->reason, ".gitignore:1:*.log");
  EXPECT_EQ(w.ignored_count, 3u);
}

TEST(SourceWalk, IgnoredDirectoryIsNotEnteredAndCountsOnce) {
  TempDir d;
  write_file(d.path() / ".gitignore", "node_modules/\n!node_modules/keep.js\n");
  for (int i = 0; i < 50; ++i)
    write_file(d.path() / "node_modules" / ("m" + std::to_string(i)) / "index.js", "x");
  write_file(d.path() / "node_modules" / "keep.js", "");
  WalkResult w = walk_source_tree(d.path());
  EXPECT_EQ(paths(w), std::vector<std::string>{".gitignore"});
  EXPECT_EQ(w.ignored_count, 1u);
  ASSERT_NE(excluded(w, "node_modules"), nullptr);
  EXPECT_TRUE(excluded(w, "node_modules")->is_directory);
}

TEST(SourceWalk, GitDirectoryNeverIncludedSpecialFilesReportedLinksKept) {
  TempDir d;
  write_file(d.path() / ".git" / "config", "");
  write_file(d.path() / "src" / ".git", "gitdir: elsewhere\n");  // a submodule's gitfile
  write_file(d.path() / "src" / "main.py", "print()");
  ASSERT_EQ(::mkfifo((d.path() / "pipe").c_str(), 0644), 0);
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string sock = (d.path() / "sock").string();
  ASSERT_LT(sock.size(), sizeof addr.sun_path);
  std::copy(sock.begin(), sock.end(), addr.sun_path);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  fs::create_symlink("/etc/passwd", d.path() / "out");
  fs::create_symlink("src", d.path() / "dirlink");
  fs::create_directories(d.path() / "empty");
  WalkResult w = walk_source_tree(d.path());
  ::close(s);
  EXPECT_EQ(paths(w), (std::vector<std::string>{"dirlink", "empty/", "out", "src/main.py"}));
  EXPECT_EQ(excluded(w, "pipe")->reason, "special file (fifo)");
  EXPECT_EQ(excluded(w, "sock")->reason, "special file (socket)");
  EXPECT_NE(excluded(w, ".git"), nullptr);
  EXPECT_NE(excluded(w, "src/.git"), nullptr);
  auto out = std::find_if(w.entries.begin(), w.entries.end(),
                          [](const SourceEntry& e) { return e.path == "out"; });
  EXPECT_EQ(out->type, EntryType::Symlink);
  EXPECT_EQ(out->link_target, "/etc/passwd");
  EXPECT_EQ(out->size, 11u);
}

TEST(SourceWalk, NonUtf8NamesAndPathsBeyondPathMax) {
  TempDir d;
  std::string bad = "caf\xe9.txt";  // Latin-1, not UTF-8
  write_file(d.path() / bad, "x");
  // 40 levels of 120-byte names: about 4.8 KB, over PATH_MAX (4096).
  std::string rel;
  int fd = ::open(d.path().c_str(), O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < 40; ++i) {
    std::string name(120, static_cast<char>('a' + i % 26));
    ASSERT_EQ(::mkdirat(fd, name.c_str(), 0755), 0);
    int next = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY);
    ::close(fd);
    fd = next;
    rel += name + "/";
  }
  int f = ::openat(fd, "deep.txt", O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(f, 0);
  ::close(f);
  ::close(fd);
  WalkResult w = walk_source_tree(d.path());
  ASSERT_EQ(w.entries.size(), 2u);
  EXPECT_EQ(w.entries[0].path, rel + "deep.txt");
  EXPECT_GT(w.entries[0].path.size(), 4096u);
  EXPECT_EQ(w.entries[1].path, bad);
  // The tree is removed with the same descriptor-relative care.
  std::string cmd = "rm -rf '" + d.path().string() + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(SourceWalk, ExplainPathNamesTheDecidingRule) {
  TempDir d;
  write_file(d.path() / ".gitignore", "*.log\n!keep.log\nbuild/\n");
  write_file(d.path() / "a.log", "");
  write_file(d.path() / "keep.log", "");
  write_file(d.path() / "build" / "out.o", "");
  write_file(d.path() / "src" / ".amlignore", "\n*.tmp\n");
  IgnoreDecision a = explain_path(d.path(), "a.log");
  EXPECT_TRUE(a.ignored);
  EXPECT_EQ(a.source, ".gitignore");
  EXPECT_EQ(a.line, 1);
  EXPECT_EQ(a.pattern, "*.log");
  IgnoreDecision k = explain_path(d.path(), "keep.log");
  EXPECT_FALSE(k.ignored);
  EXPECT_EQ(k.pattern, "!keep.log");
  EXPECT_EQ(k.line, 2);
  IgnoreDecision b = explain_path(d.path(), "build/out.o");
  EXPECT_TRUE(b.ignored);
  EXPECT_EQ(b.pattern, "build/");
  IgnoreDecision t = explain_path(d.path(), "src/x.tmp");
  EXPECT_EQ(t.source, "src/.amlignore");
  EXPECT_EQ(t.line, 2);
  IgnoreDecision none = explain_path(d.path(), "src/main.py");
  EXPECT_FALSE(none.ignored);
  EXPECT_EQ(none.source, "");
  EXPECT_TRUE(explain_path(d.path(), ".git/config").ignored);
  EXPECT_THROW(explain_path(d.path(), "../x"), envbuild::Error);
}

TEST(SourceWalk, ParentIgnoresApplyOnlyInsideAWorkTree) {
  TempDir d;
  fs::create_directories(d.path() / ".git" / "info");
  write_file(d.path() / ".git" / "info" / "exclude", "*.secret\n");
  write_file(d.path() / ".gitignore", "*.ckpt\n");
  write_file(d.path() / "proj" / "model.ckpt", "");
  write_file(d.path() / "proj" / "key.secret", "");
  write_file(d.path() / "proj" / "train.py", "");
  EXPECT_EQ(paths(walk_source_tree(d.path() / "proj")), std::vector<std::string>{"train.py"});
  IgnoreDecision x = explain_path(d.path() / "proj", "key.secret");
  EXPECT_TRUE(x.ignored);
  EXPECT_EQ(x.source, (d.path() / ".git" / "info" / "exclude").string());
  WalkOptions no_parents;
  no_parents.honor_parent_ignores = false;
  EXPECT_EQ(paths(walk_source_tree(d.path() / "proj", no_parents)),
            (std::vector<std::string>{"key.secret", "model.ckpt", "train.py"}));
  // A root that the parent rules ignore as a whole is entirely ignored.
  write_file(d.path() / ".gitignore", "proj/\n");
  WalkResult w = walk_source_tree(d.path() / "proj");
  EXPECT_TRUE(w.entries.empty());
  EXPECT_EQ(w.ignored_count, 1u);
}

TEST(SourceWalk, UnreadableDirectoryIsAnErrorNamingIt) {
  TempDir d;
  envbuild::testing::WithoutFileOverrides as_the_mode_says;
  fs::create_directories(d.path() / "locked");
  fs::permissions(d.path() / "locked", fs::perms::none);
  try {
    walk_source_tree(d.path());
    ADD_FAILURE() << "walked an unreadable directory";
  } catch (const envbuild::Error& e) {
    EXPECT_NE(std::string(e.what()).find("locked"), std::string::npos) << e.what();
  }
  fs::permissions(d.path() / "locked", fs::perms::owner_all);
}

}  // namespace

// Entries come out in byte order of whole paths even where that is not the
// order of a depth-first walk ('-' and '.' sort before '/'), and a directory
// appears as an entry exactly when nothing below it is included.
TEST(SourceWalk, EntriesSortByWholePathAndOnlyEmptyDirectoriesAppear) {
  TempDir d;
  for (const char* f : {"a-b", "a.txt", "a0", "a/x", "a/b-c/y", "a/b/z", "b-c", "c.d/e", "~", "A"})
    write_file(d.path() / f, "x");
  for (const char* dir : {"b", "e/f/g", "e/f-h", "e/f.i", "ignored-only"})
    fs::create_directories(d.path() / dir);
  write_file(d.path() / "ignored-only" / "junk.log", "");
  write_file(d.path() / ".gitignore", "*.log\n");
  const WalkResult w = walk_source_tree(d.path());
  std::vector<std::string> got;
  for (const auto& e : w.entries) got.push_back(e.path);
  std::vector<std::string> sorted = got;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(got, sorted);
  EXPECT_EQ(paths(w), (std::vector<std::string>{
                          ".gitignore", "A", "a-b", "a.txt", "a/b-c/y", "a/b/z", "a/x", "a0", "b/",
                          "b-c", "c.d/e", "e/f-h/", "e/f.i/", "e/f/g/", "ignored-only/", "~"}));
}

// Many directories spread over the walk's threads: the same entries, in the
// same order, as many times as it is run.
TEST(SourceWalk, ParallelWalkIsDeterministic) {
  TempDir d;
  for (int i = 0; i < 60; ++i)
    for (int j = 0; j < 5; ++j)
      write_file(d.path() / ("d" + std::to_string(i)) / ("s" + std::to_string(j % 2)) /
                     ("f" + std::to_string(j)),
                 "x");
  const std::vector<std::string> first = paths(walk_source_tree(d.path()));
  EXPECT_EQ(first.size(), 300u);
  for (int run = 0; run < 20; ++run) EXPECT_EQ(paths(walk_source_tree(d.path())), first);
}
