// The git metadata cache against the truth: after every change a user makes
// to a repository, what a push gets from PushGitMetadata equals what libgit2
// reads afresh, and the cache answers exactly when nothing it depends on
// changed.
#include "snapshot/git_metadata_cache.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "snapshot/content_hash.hpp"
#include "snapshot/push_git_metadata.hpp"
#include "snapshot/snapshot_build.hpp"
#include "snapshot/source_walk.hpp"
#include "snapshot/stat_cache.hpp"
#include "tests/support/files.hpp"
#include "tests/support/git_cli.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace envbuild::snapshot;
using envbuild::registry::Digest;
using envbuild::testing::GitCli;
using envbuild::testing::TempDir;
using envbuild::testing::write_file;

namespace {

EnvLookup no_env() {
  return [](std::string_view) { return std::optional<std::string>(); };
}

class GitMetadataCacheTest : public ::testing::Test {
 protected:
  TempDir tmp{"git-cache"};
  GitCli git{tmp.path()};
  fs::path repo() const { return tmp.path() / "repo"; }
  fs::path cache() const { return tmp.path() / "cache"; }

  // What one push records for `dir`, checked against a fresh libgit2
  // reading; returns whether the cache answered.
  bool push_reads(const fs::path& dir, const std::string& step) {
    const fs::path root = fs::canonical(dir);
    WalkResult walk = walk_source_tree(root);
    StatCache stats;
    const HashedTree hashes = hash_tree(root, walk, stats, 2);
    const Digest tree = build_snapshot(root, walk, hashes, "", 2).tree_root.digest;
    PushGitMetadata reader(root, walk, cache(), no_env());
    const GitMetadata& got = reader.for_tree(tree, walk);
    const GitMetadata fresh = read_git_metadata(root, no_env(), &walk);
    EXPECT_EQ(got.properties, fresh.properties) << step;
    EXPECT_EQ(got.warnings, fresh.warnings) << step;
    return reader.from_cache();
  }
  std::string commit() { return git(repo(), {"rev-parse", "HEAD"}); }
};

TEST_F(GitMetadataCacheTest, AnswersOnlyWhileNothingItDependsOnChanged) {
  git.make_repo(repo());
  // Files an hour old, then one status to refresh the index: from here on a
  // `git status` has nothing to rewrite (no entry is racily clean).
  for (const char* f : {".gitignore", "src/train.py", "other/x.txt"})
    fs::last_write_time(repo() / f, fs::file_time_type::clock::now() - std::chrono::hours(1));
  git(repo(), {"status", "--porcelain"});
  EXPECT_FALSE(push_reads(repo(), "first push"));
  EXPECT_TRUE(push_reads(repo(), "unchanged"));
  git(repo(), {"status", "--porcelain"});  // takes and drops index.lock
  EXPECT_TRUE(push_reads(repo(), "after a read-only git status"));

  write_file(repo() / "src" / "train.py", "print('edited')\n");
  EXPECT_FALSE(push_reads(repo(), "tracked file edited"));
  EXPECT_TRUE(push_reads(repo(), "still edited"));
  git(repo(), {"add", "src/train.py"});
  EXPECT_FALSE(push_reads(repo(), "edit staged"));
  git(repo(), {"commit", "-q", "-m", "edit"});
  EXPECT_FALSE(push_reads(repo(), "committed"));
  EXPECT_TRUE(push_reads(repo(), "clean again"));

  git(repo(), {"checkout", "-q", "-b", "feature"});
  EXPECT_FALSE(push_reads(repo(), "new branch"));
  git(repo(), {"commit", "-q", "--allow-empty", "-m", "empty"});
  EXPECT_FALSE(push_reads(repo(), "branch moved, tree the same"));
  git(repo(), {"remote", "add", "origin", "https://bob:s3cr3t@example.com/org/repo.git"});
  EXPECT_FALSE(push_reads(repo(), "remote added"));
  git(repo(), {"checkout", "-q", "--detach"});
  EXPECT_FALSE(push_reads(repo(), "detached"));
  EXPECT_TRUE(push_reads(repo(), "detached, unchanged"));
  git(repo(), {"pack-refs", "--all"});
  push_reads(repo(), "refs packed");  // a hit or a miss is right; the facts must agree
  write_file(repo() / "new.txt", "untracked\n");
  EXPECT_FALSE(push_reads(repo(), "untracked file"));
}

// A tracked file that the ignore rules leave out of the snapshot: its edit
// changes no tree, yet makes the folder dirty.
TEST_F(GitMetadataCacheTest, TrackedButIgnoredFilesAreWatchedToo) {
  git.make_repo(repo());
  write_file(repo() / "run.log", "tracked though ignored\n");
  git(repo(), {"add", "-f", "run.log"});
  git(repo(), {"commit", "-q", "-m", "log"});
  EXPECT_FALSE(push_reads(repo(), "first"));
  EXPECT_TRUE(push_reads(repo(), "unchanged"));
  write_file(repo() / "run.log", "edited, same tree\n");
  EXPECT_FALSE(push_reads(repo(), "ignored tracked file edited"));
}

// A submodule's own HEAD is in no fingerprint: such folders are never
// answered from the cache.
TEST_F(GitMetadataCacheTest, FoldersWithSubmodulesAreReadEveryTime) {
  git.make_repo(tmp.path() / "lib");
  git.make_repo(repo());
  git(repo(), {"submodule", "add", "-q", (tmp.path() / "lib").string(), "vendor/lib"});
  git(repo(), {"commit", "-q", "-m", "submodule"});
  EXPECT_FALSE(push_reads(repo(), "first"));
  EXPECT_FALSE(push_reads(repo(), "again"));
  git(repo() / "vendor" / "lib", {"commit", "-q", "--allow-empty", "-m", "moved"});
  EXPECT_FALSE(push_reads(repo(), "submodule moved"));
}

TEST_F(GitMetadataCacheTest, FolderOutsideAnyRepositoryUntilOneAppears) {
  const fs::path plain = tmp.path() / "plain";
  write_file(plain / "a.txt", "a\n");
  EXPECT_FALSE(push_reads(plain, "first"));
  EXPECT_TRUE(push_reads(plain, "unchanged"));
  git(plain, {"init", "-q", "-b", "main"});
  EXPECT_FALSE(push_reads(plain, "git init"));
}

TEST_F(GitMetadataCacheTest, CorruptOrForeignCacheFilesAreIgnored) {
  git.make_repo(repo());
  EXPECT_FALSE(push_reads(repo(), "first"));
  const fs::path file = GitMetadataCache::file_for(cache(), fs::canonical(repo()));
  ASSERT_TRUE(fs::exists(file));
  for (const std::string junk : {"", "{", "[]", "{\"version\":1}", "{\"version\":2}", "\xff\xfe"}) {
    write_file(file, junk);
    EXPECT_FALSE(push_reads(repo(), "junk: " + junk));
  }
  EXPECT_TRUE(push_reads(repo(), "rewritten"));
}

}  // namespace
