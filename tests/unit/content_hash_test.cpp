#include "snapshot/content_hash.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "registry/error.hpp"
#include "snapshot/file_read.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/without_file_overrides.hpp"

using namespace envbuild::snapshot;
using envbuild::Error;
using envbuild::ErrorKind;
using envbuild::registry::Digest;
using envbuild::testing::TempDir;
using envbuild::testing::write_file;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kSecond = 1'000'000'000;

std::string random_bytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

// Files written by a test are as new as the clock, hence racy; tests that
// expect stat-cache hits date them in the past like files edited earlier.
void set_mtime(const fs::path& path, int64_t ns) {
  timespec times[2];
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = ns / kSecond;
  times[1].tv_nsec = ns % kSecond;
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

void write_old(const fs::path& path, const std::string& content, int64_t age_s = 100) {
  write_file(path, content);
  set_mtime(path, now_ns() - age_s * kSecond);
}

SourceEntry entry_of(const fs::path& root, const std::string& rel) {
  struct stat st {};
  EXPECT_EQ(lstat((root / rel).c_str(), &st), 0) << rel;
  SourceEntry e;
  e.path = rel;
  e.type = S_ISLNK(st.st_mode)   ? EntryType::Symlink
           : S_ISDIR(st.st_mode) ? EntryType::Directory
                                 : EntryType::File;
  FileStat s = to_file_stat(st);
  e.mode = s.mode & 0777;
  e.size = s.size;
  e.mtime_ns = s.mtime_ns;
  e.ctime_ns = s.ctime_ns;
  e.inode = s.inode;
  e.device = s.device;
  if (e.type == EntryType::Symlink) e.link_target = fs::read_symlink(root / rel).string();
  return e;
}

WalkResult walk_of(const fs::path& root, std::vector<std::string> rels) {
  std::sort(rels.begin(), rels.end());
  WalkResult walk;
  for (const auto& rel : rels) walk.entries.push_back(entry_of(root, rel));
  return walk;
}

// One push: load the cache, hash, save.
HashedTree push(const fs::path& root, const fs::path& cache_file, WalkResult& walk,
                size_t workers = 2) {
  StatCache cache = StatCache::load(cache_file);
  HashedTree out = hash_tree(root, walk, cache, workers);
  cache.save(cache_file);
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput) << e.what();
    return e.what();
  }
  return "no error";
}

struct Tree {
  TempDir tmp;
  fs::path root = tmp.path() / "src";
  fs::path cache_file = tmp.path() / "cache" / "c.statcache";
};

}  // namespace

TEST(ContentHash, DigestsEqualSha256OfContentAtEdgeSizes) {
  Tree t;
  const size_t mib = size_t{1} << 20;
  std::vector<size_t> sizes{0, 1, mib - 1, mib, mib + 1, 5 * mib};
  std::vector<std::string> rels;
  std::vector<std::string> contents;
  uint64_t total = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    rels.push_back("f" + std::to_string(i));
    contents.push_back(random_bytes(sizes[i], i));
    write_file(t.root / rels.back(), contents.back());
    total += sizes[i];
  }
  fs::create_directories(t.root / "empty_dir");
  fs::create_symlink("f1", t.root / "link");
  rels.insert(rels.end(), {"empty_dir", "link"});
  WalkResult walk = walk_of(t.root, rels);
  StatCache cache;
  HashedTree h = hash_tree(t.root, walk, cache, 2);

  ASSERT_EQ(h.digests.size(), walk.entries.size());
  for (size_t i = 0; i < walk.entries.size(); ++i) {
    const SourceEntry& e = walk.entries[i];
    if (e.type != EntryType::File) {
      EXPECT_FALSE(h.digests[i].has_value()) << e.path;
      continue;
    }
    size_t n = std::stoul(e.path.substr(1));
    ASSERT_TRUE(h.digests[i].has_value()) << e.path;
    EXPECT_EQ(*h.digests[i], Digest::sha256_of(contents[n])) << "size " << sizes[n];
  }
  EXPECT_EQ(h.stats.files_hashed, sizes.size());
  EXPECT_EQ(h.stats.bytes_hashed, total);
  EXPECT_EQ(h.stats.cache_hits, 0u);
  EXPECT_EQ(h.stats.sha_reused, 0u);
  EXPECT_EQ(cache.size(), sizes.size());
}

TEST(ContentHash, UnchangedTreeIsAnsweredByTheCacheWithoutOpeningFiles) {
  Tree t;
  write_old(t.root / "a.py", "print(1)\n");
  write_old(t.root / "pkg/b.py", random_bytes(3000, 7));
  WalkResult walk = walk_of(t.root, {"a.py", "pkg/b.py"});
  HashedTree first = push(t.root, t.cache_file, walk);
  EXPECT_EQ(first.stats.files_hashed, 2u);

  WalkResult again = walk_of(t.root, {"a.py", "pkg/b.py"});
  // Removing the files proves the second pass never opens them.
  fs::remove_all(t.root);
  HashedTree second = push(t.root, t.cache_file, again);
  EXPECT_EQ(second.stats.cache_hits, 2u);
  EXPECT_EQ(second.stats.files_hashed, 0u);
  EXPECT_EQ(second.digests, first.digests);
  // The hits are recorded again, so a third run still hits.
  EXPECT_NE(StatCache::load(t.cache_file).previous("pkg/b.py"), nullptr);
}

TEST(ContentHash, StatChangeWithSameBytesReusesSha256ThroughXxh3) {
  Tree t;
  std::string content = random_bytes(200'000, 3);
  write_old(t.root / "a", content);
  WalkResult walk = walk_of(t.root, {"a"});
  HashedTree first = push(t.root, t.cache_file, walk);

  write_old(t.root / "a", content, 50);  // rewritten: new mtime and ctime, same bytes
  WalkResult again = walk_of(t.root, {"a"});
  HashedTree second = push(t.root, t.cache_file, again);
  EXPECT_EQ(second.stats.cache_hits, 0u);
  EXPECT_EQ(second.stats.files_hashed, 1u);
  EXPECT_EQ(second.stats.sha_reused, 1u);
  EXPECT_EQ(second.stats.bytes_hashed, content.size());  // one XXH3 pass only
  EXPECT_EQ(second.digests[0], first.digests[0]);

  WalkResult third_walk = walk_of(t.root, {"a"});
  HashedTree third = push(t.root, t.cache_file, third_walk);
  EXPECT_EQ(third.stats.cache_hits, 1u);
}

TEST(ContentHash, RacyEntryIsCheckedAgainEvenWithAnExactStatMatch) {
  Tree t;
  write_file(t.root / "a", "racy");
  set_mtime(t.root / "a", now_ns() + 3600 * kSecond);  // not older than any cache write
  WalkResult walk = walk_of(t.root, {"a"});
  push(t.root, t.cache_file, walk);
  WalkResult again = walk_of(t.root, {"a"});
  HashedTree second = push(t.root, t.cache_file, again);
  EXPECT_EQ(second.stats.cache_hits, 0u);
  EXPECT_EQ(second.stats.files_hashed, 1u);
  EXPECT_EQ(second.stats.sha_reused, 1u);
  EXPECT_EQ(second.digests[0], Digest::sha256_of("racy"));
}

TEST(ContentHash, FileModifiedInTheTickOfItsReadIsNotTrustedLater) {
  // Its mtime is not older than the moment its read began, so a write right
  // after the read could keep the same stat; even though the cache is saved
  // later than that mtime, the next run must check its bytes again.
  Tree t;
  write_file(t.root / "a", "fresh");
  const int64_t mtime = now_ns() + 100'000'000;
  set_mtime(t.root / "a", mtime);
  WalkResult walk = walk_of(t.root, {"a"});
  StatCache cache = StatCache::load(t.cache_file);
  hash_tree(t.root, walk, cache, 1);
  // Save once the clock has passed the mtime, so the cache-wide rule alone
  // would trust the entry.
  while (now_ns() <= mtime + 20'000'000) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  cache.save(t.cache_file);
  WalkResult again = walk_of(t.root, {"a"});
  HashedTree second = push(t.root, t.cache_file, again);
  EXPECT_EQ(second.stats.cache_hits, 0u);
  EXPECT_EQ(second.stats.sha_reused, 1u);
  // Checked once with an old enough read, it is trusted from then on.
  WalkResult third_walk = walk_of(t.root, {"a"});
  EXPECT_EQ(push(t.root, t.cache_file, third_walk).stats.cache_hits, 1u);
}

TEST(ContentHash, ContentChangeGivesTheNewDigest) {
  Tree t;
  write_old(t.root / "same_size", "aaaa");
  write_old(t.root / "grown", "bbbb");
  WalkResult walk = walk_of(t.root, {"grown", "same_size"});
  push(t.root, t.cache_file, walk);

  write_old(t.root / "same_size", "cccc", 50);
  write_old(t.root / "grown", "dddddd", 50);
  WalkResult again = walk_of(t.root, {"grown", "same_size"});
  HashedTree second = push(t.root, t.cache_file, again);
  EXPECT_EQ(*second.digests[0], Digest::sha256_of("dddddd"));
  EXPECT_EQ(*second.digests[1], Digest::sha256_of("cccc"));
  EXPECT_EQ(second.stats.files_hashed, 2u);
  EXPECT_EQ(second.stats.sha_reused, 0u);
  // same_size: an XXH3 pass, then a full pass; grown: one full pass.
  EXPECT_EQ(second.stats.bytes_hashed, 4u + 4u + 6u);
}

TEST(ContentHash, DeletedFilesDropOutOfTheSavedCache) {
  Tree t;
  write_old(t.root / "kept", "k");
  write_old(t.root / "gone", "g");
  WalkResult walk = walk_of(t.root, {"gone", "kept"});
  push(t.root, t.cache_file, walk);
  fs::remove(t.root / "gone");
  WalkResult again = walk_of(t.root, {"kept"});
  push(t.root, t.cache_file, again);
  StatCache cache = StatCache::load(t.cache_file);
  EXPECT_NE(cache.previous("kept"), nullptr);
  EXPECT_EQ(cache.previous("gone"), nullptr);
}

TEST(ContentHash, EntriesAreRefreshedToTheStatThatWasHashed) {
  Tree t;
  write_old(t.root / "a", "first");
  WalkResult walk = walk_of(t.root, {"a"});
  write_file(t.root / "a", "second, longer", 0600);  // changed after the walk
  StatCache cache;
  HashedTree h = hash_tree(t.root, walk, cache, 1);
  EXPECT_EQ(*h.digests[0], Digest::sha256_of("second, longer"));
  SourceEntry now = entry_of(t.root, "a");
  EXPECT_EQ(walk.entries[0].size, now.size);
  EXPECT_EQ(walk.entries[0].mtime_ns, now.mtime_ns);
  EXPECT_EQ(walk.entries[0].ctime_ns, now.ctime_ns);
  EXPECT_EQ(walk.entries[0].mode, 0600u);
}

TEST(ContentHash, FileThatNeverReadsConsistentlyIsRefusedByName) {
  // /proc files report size 0 and yield bytes: every read disagrees with
  // the stat, as a file being appended to would.
  WalkResult walk;
  SourceEntry e;
  e.path = "status";
  walk.entries.push_back(e);
  StatCache cache;
  EXPECT_EQ(error_of([&] { hash_tree("/proc/self", walk, cache, 1); }),
            "/proc/self/status keeps changing while being read");
}

// A real writer is not scheduled deterministically on a busy machine (it may
// sit out a whole read), so this checks the property that holds either way:
// the file is refused by name, or what was hashed is exactly the prefix the
// refreshed entry describes. The /proc test above covers the refusal alone.
TEST(ContentHash, FileAppendedToDuringTheReadIsRefusedOrHashedConsistently) {
  Tree t;
  write_file(t.root / "log", random_bytes(4 << 20, 9));
  WalkResult walk = walk_of(t.root, {"log"});
  std::atomic<bool> stop{false};
  std::atomic<bool> writing{false};
  std::thread appender([&] {
    int fd = open((t.root / "log").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    while (fd >= 0 && !stop.load()) {
      if (write(fd, "x", 1) != 1) break;
      writing.store(true);
    }
    if (fd >= 0) close(fd);
    writing.store(true);  // also on failure, so the wait below ends
  });
  while (!writing.load()) std::this_thread::yield();
  StatCache cache;
  std::optional<HashedTree> hashed;
  std::string message = error_of([&] { hashed = hash_tree(t.root, walk, cache, 1); });
  stop.store(true);
  appender.join();
  if (hashed) {
    std::string prefix = envbuild::testing::slurp(t.root / "log").substr(0, walk.entries[0].size);
    EXPECT_EQ(*hashed->digests[0], Digest::sha256_of(prefix));
    EXPECT_GT(walk.entries[0].size, size_t{4} << 20);
  } else {
    EXPECT_EQ(message, (t.root / "log").string() + " keeps changing while being read");
  }
}

TEST(ContentHash, SymlinkSwappedInForAFileIsRefused) {
  Tree t;
  write_file(t.root / "a", "file");
  write_file(t.tmp.path() / "secret", "outside");
  WalkResult walk = walk_of(t.root, {"a"});
  fs::remove(t.root / "a");
  fs::create_symlink(t.tmp.path() / "secret", t.root / "a");
  StatCache cache;
  EXPECT_EQ(error_of([&] { hash_tree(t.root, walk, cache, 1); }),
            (t.root / "a").string() +
                " was replaced by a symlink while being read; refusing to follow it");
}

TEST(ContentHash, SymlinkSwappedInForADirectoryIsRefused) {
  Tree t;
  write_file(t.root / "d/f", "inside");
  write_file(t.tmp.path() / "elsewhere/f", "outside");
  WalkResult walk = walk_of(t.root, {"d/f"});
  fs::remove_all(t.root / "d");
  fs::create_directory_symlink(t.tmp.path() / "elsewhere", t.root / "d");
  StatCache cache;
  EXPECT_NE(error_of([&] { hash_tree(t.root, walk, cache, 1); }).find("replaced by a symlink"),
            std::string::npos);
  // The per-component fallback (no openat2) refuses it the same way.
  envbuild::UniqueFd root = open_root(t.root);
  EXPECT_NE(error_of([&] {
              open_beneath_by_components(root.get(), "d/f", "d/f");
            }).find("d/f was replaced by a symlink"),
            std::string::npos);
  fs::remove(t.root / "d");
  write_file(t.root / "a", "x");
  fs::create_symlink("a", t.root / "b");
  EXPECT_NE(error_of([&] {
              open_beneath_by_components(root.get(), "b", "b");
            }).find("b was replaced by a symlink"),
            std::string::npos);
  EXPECT_TRUE(open_beneath_by_components(root.get(), "a", "a").valid());
}

TEST(ContentHash, PathsThatLeaveTheRootAreRefused) {
  for (const char* bad : {"../x", "/etc/passwd", "a/../../x", "a//b", "./a", ""}) {
    EXPECT_NE(error_of([&] { check_relative_path(bad); }).find("unsafe path"), std::string::npos)
        << bad;
  }
  EXPECT_NO_THROW(check_relative_path("a/b..c/.hidden"));
}

TEST(ContentHash, MissingOrNonRegularFileIsRefusedByName) {
  Tree t;
  write_file(t.root / "a", "x");
  write_file(t.root / "dir/f", "y");
  WalkResult walk = walk_of(t.root, {"a"});
  fs::remove(t.root / "a");
  StatCache cache;
  EXPECT_EQ(error_of([&] { hash_tree(t.root, walk, cache, 1); }),
            "cannot read " + (t.root / "a").string() + ": No such file or directory");

  ASSERT_EQ(mkfifo((t.root / "a").c_str(), 0644), 0);  // must not block the open
  EXPECT_EQ(error_of([&] { hash_tree(t.root, walk, cache, 1); }),
            (t.root / "a").string() + " is no longer a regular file");
  walk.entries[0].path = "dir";
  EXPECT_EQ(error_of([&] { hash_tree(t.root, walk, cache, 1); }),
            (t.root / "dir").string() + " is no longer a regular file");
}

TEST(ContentHash, UnreadableFileIsRefusedByName) {
  Tree t;
  envbuild::testing::WithoutFileOverrides as_the_mode_says;
  write_file(t.root / "locked", "x", 0000);
  WalkResult walk = walk_of(t.root, {"locked"});
  StatCache cache;
  EXPECT_EQ(error_of([&] { hash_tree(t.root, walk, cache, 1); }),
            "cannot read " + (t.root / "locked").string() + ": Permission denied");
}

TEST(ContentHash, ManyFilesAcrossWorkersMatchOneWorker) {
  Tree t;
  std::vector<std::string> rels;
  for (int i = 0; i < 60; ++i) {
    rels.push_back("d" + std::to_string(i % 5) + "/f" + std::to_string(i));
    write_file(t.root / rels.back(), random_bytes(static_cast<size_t>(i) * 997, i));
  }
  WalkResult one = walk_of(t.root, rels);
  WalkResult four = walk_of(t.root, rels);
  StatCache c1;
  StatCache c4;
  HashedTree h1 = hash_tree(t.root, one, c1, 1);
  HashedTree h4 = hash_tree(t.root, four, c4, 4);
  EXPECT_EQ(h1.digests, h4.digests);
  for (size_t i = 0; i < one.entries.size(); ++i) {
    EXPECT_EQ(*h4.digests[i],
              Digest::sha256_of(envbuild::testing::slurp(t.root / one.entries[i].path)));
  }
}

TEST(ReadVerified, ReturnsTheBytesWhenUnchanged) {
  Tree t;
  std::string content = random_bytes(70'000, 5);
  write_file(t.root / "p/a", content);
  SourceEntry e = entry_of(t.root, "p/a");
  EXPECT_EQ(read_verified(t.root, e, Digest::sha256_of(content)), content);
}

TEST(ReadVerified, ChangedFileGivesTheDocumentedMessage) {
  Tree t;
  write_file(t.root / "a", "before");
  SourceEntry e = entry_of(t.root, "a");
  Digest expected = Digest::sha256_of("before");
  const std::string message =
      (t.root / "a").string() + " changed while the snapshot was being taken; run the push again";
  write_file(t.root / "a", "after!");  // same size, other bytes
  EXPECT_EQ(error_of([&] { read_verified(t.root, e, expected); }), message);
  write_file(t.root / "a", "after, and longer");
  EXPECT_EQ(error_of([&] { read_verified(t.root, e, expected); }), message);
  fs::remove(t.root / "a");
  fs::create_symlink("elsewhere", t.root / "a");
  EXPECT_NE(error_of([&] { read_verified(t.root, e, expected); }).find("replaced by a symlink"),
            std::string::npos);
}
