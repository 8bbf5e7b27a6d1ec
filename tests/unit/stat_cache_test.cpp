#include "snapshot/stat_cache.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>
#include <xxhash.h>

#include <random>
#include <vector>

#include "registry/error.hpp"
#include "snapshot/stat_cache_format.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild::snapshot;
using envbuild::registry::Digest;
using envbuild::testing::slurp;
using envbuild::testing::TempDir;
using envbuild::testing::write_file;
namespace fs = std::filesystem;

namespace {

CachedFile facts(uint64_t n) {
  CachedFile f;
  f.size = n * 7 + 1;
  f.mtime_ns = 1'000'000 + static_cast<int64_t>(n);
  f.ctime_ns = 2'000'000 + static_cast<int64_t>(n);
  f.inode = 40 + n;
  for (size_t i = 0; i < f.xxh3.size(); ++i) f.xxh3[i] = static_cast<uint8_t>(n + i);
  f.sha256 = Digest::sha256_of("content " + std::to_string(n));
  return f;
}

SourceEntry entry_matching(const std::string& path, const CachedFile& f) {
  SourceEntry e;
  e.path = path;
  e.type = EntryType::File;
  e.size = f.size;
  e.mtime_ns = f.mtime_ns;
  e.ctime_ns = f.ctime_ns;
  e.inode = f.inode;
  return e;
}

void expect_same(const CachedFile& a, const CachedFile& b) {
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.mtime_ns, b.mtime_ns);
  EXPECT_EQ(a.ctime_ns, b.ctime_ns);
  EXPECT_EQ(a.inode, b.inode);
  EXPECT_EQ(a.xxh3, b.xxh3);
  EXPECT_EQ(a.sha256, b.sha256);
}

int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// A file body with a valid trailing checksum, so only the structure is bad.
std::string with_checksum(std::string body) {
  uint64_t sum = XXH3_64bits(body.data(), body.size());
  for (int i = 0; i < 8; ++i) body.push_back(static_cast<char>((sum >> (8 * i)) & 0xff));
  return body;
}

std::string le(uint64_t v, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

std::string sample_file(int64_t written_at) {
  StatCacheEntries entries{{"a.txt", facts(1)}, {"dir/b", facts(2)}};
  std::map<std::string, std::string> notes{{"last", "sha256:abc"}};
  return encode_stat_cache(written_at, entries, notes);
}

}  // namespace

TEST(StatCache, FileForIsSha256OfTheAbsoluteRootPath) {
  fs::path file = StatCache::file_for("/cache", "/home/u/src");
  EXPECT_EQ(file, fs::path("/cache") / (Digest::sha256_of("/home/u/src").hex() + ".statcache"));
  EXPECT_NE(file, StatCache::file_for("/cache", "/home/u/src2"));
  // A relative root is made absolute first.
  EXPECT_EQ(StatCache::file_for("/c", "rel"), StatCache::file_for("/c", fs::absolute("rel")));
}

TEST(StatCache, SaveLoadRoundTripsEntriesAndNotes) {
  TempDir tmp;
  fs::path file = tmp.path() / "nested" / "dir" / "x.statcache";  // save creates the folder
  StatCache cache;
  for (uint64_t n = 0; n < 50; ++n) cache.record("f" + std::to_string(n), facts(n));
  cache.set_note("store:/x", "sha256:1234");
  cache.set_note("binary", std::string("a\0b\xff", 4));
  cache.set_note("empty", "");
  cache.save(file);

  StatCache loaded = StatCache::load(file);
  EXPECT_EQ(loaded.size(), 0u);  // nothing recorded in this run yet
  for (uint64_t n = 0; n < 50; ++n) {
    const CachedFile* prev = loaded.previous("f" + std::to_string(n));
    ASSERT_NE(prev, nullptr) << n;
    expect_same(*prev, facts(n));
  }
  EXPECT_EQ(loaded.previous("f50"), nullptr);
  EXPECT_EQ(loaded.note("store:/x"), "sha256:1234");
  EXPECT_EQ(loaded.note("binary"), std::string("a\0b\xff", 4));
  EXPECT_EQ(loaded.note("empty"), "");
  EXPECT_FALSE(loaded.note("absent").has_value());
}

TEST(StatCache, WrittenAtIsTheSaveTimeOnTheFileClock) {
  TempDir tmp;
  fs::path file = tmp.path() / "c.statcache";
  int64_t before = realtime_ns();
  StatCache cache;
  cache.record("a", facts(1));
  cache.save(file);
  int64_t after = realtime_ns();
  auto contents = decode_stat_cache(slurp(file));
  ASSERT_TRUE(contents.has_value());
  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  int64_t file_mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  EXPECT_LE(contents->written_at_ns, after);
  EXPECT_LE(contents->written_at_ns, file_mtime);
  // The filesystem's coarse clock may lag the precise one by a tick, no more.
  EXPECT_GT(contents->written_at_ns, before - 1'000'000'000);
}

TEST(StatCache, TrustsOnlyExactStatMatchesOlderThanTheWrite) {
  TempDir tmp;
  fs::path file = tmp.path() / "c.statcache";
  const int64_t written_at = 5'000'000'000;
  CachedFile old_file = facts(1);
  old_file.mtime_ns = written_at - 1;
  CachedFile same_tick = facts(2);
  same_tick.mtime_ns = written_at;
  CachedFile newer = facts(3);
  newer.mtime_ns = written_at + 1;
  write_file(file, encode_stat_cache(written_at,
                                     {{"old", old_file}, {"same", same_tick}, {"new", newer}}, {}));
  StatCache cache = StatCache::load(file);

  auto hit = cache.trusted(entry_matching("old", old_file));
  ASSERT_TRUE(hit.has_value());
  expect_same(*hit, old_file);
  // Racy: mtime not older than the cache write.
  EXPECT_FALSE(cache.trusted(entry_matching("same", same_tick)).has_value());
  EXPECT_FALSE(cache.trusted(entry_matching("new", newer)).has_value());
  EXPECT_NE(cache.previous("same"), nullptr);  // still available for the XXH3 check

  SourceEntry e = entry_matching("old", old_file);
  e.size += 1;
  EXPECT_FALSE(cache.trusted(e).has_value());
  e = entry_matching("old", old_file);
  e.mtime_ns -= 1;
  EXPECT_FALSE(cache.trusted(e).has_value());
  e = entry_matching("old", old_file);
  e.ctime_ns += 1;
  EXPECT_FALSE(cache.trusted(e).has_value());
  e = entry_matching("old", old_file);
  e.inode += 1;
  EXPECT_FALSE(cache.trusted(e).has_value());
  e = entry_matching("old", old_file);
  e.type = EntryType::Symlink;
  EXPECT_FALSE(cache.trusted(e).has_value());
  EXPECT_FALSE(cache.trusted(entry_matching("other", old_file)).has_value());
}

TEST(StatCache, SaveKeepsOnlyPathsRecordedInThisRun) {
  TempDir tmp;
  fs::path file = tmp.path() / "c.statcache";
  StatCache first;
  first.record("kept", facts(1));
  first.record("deleted", facts(2));
  first.set_note("n", "v");
  first.save(file);

  StatCache second = StatCache::load(file);
  second.record("kept", *second.previous("kept"));
  EXPECT_EQ(second.size(), 1u);
  second.save(file);

  StatCache third = StatCache::load(file);
  EXPECT_NE(third.previous("kept"), nullptr);
  EXPECT_EQ(third.previous("deleted"), nullptr);
  EXPECT_EQ(third.note("n"), "v");
}

TEST(StatCache, MissingOrNonFileCacheIsEmpty) {
  TempDir tmp;
  EXPECT_EQ(StatCache::load(tmp.path() / "absent").previous("a"), nullptr);
  EXPECT_EQ(StatCache::load(tmp.path()).previous("a"), nullptr);  // a directory
}

TEST(StatCache, TruncatedOrFlippedFilesLoadEmpty) {
  TempDir tmp;
  fs::path file = tmp.path() / "c.statcache";
  const std::string good = sample_file(1'000'000'000'000);
  write_file(file, good);
  ASSERT_NE(StatCache::load(file).previous("a.txt"), nullptr);
  ASSERT_TRUE(decode_stat_cache(good).has_value());
  // Every prefix and every single-byte flip, through the decoder (no disk),
  // then a few through load() itself.
  for (size_t len = 0; len < good.size(); ++len) {
    EXPECT_FALSE(decode_stat_cache(good.substr(0, len)).has_value()) << "length " << len;
  }
  for (size_t pos = 0; pos < good.size(); ++pos) {
    std::string bad = good;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x5a);
    EXPECT_FALSE(decode_stat_cache(bad).has_value()) << "byte " << pos;
  }
  for (size_t len : {size_t{0}, size_t{9}, good.size() / 2, good.size() - 1}) {
    write_file(file, good.substr(0, len));
    StatCache c = StatCache::load(file);
    EXPECT_EQ(c.previous("a.txt"), nullptr) << "length " << len;
    EXPECT_FALSE(c.note("last").has_value()) << "length " << len;
  }
  std::string flipped = good;
  flipped[good.size() / 2] ^= 1;
  write_file(file, flipped);
  EXPECT_EQ(StatCache::load(file).previous("dir/b"), nullptr);
  write_file(file, good + "x");
  EXPECT_EQ(StatCache::load(file).previous("a.txt"), nullptr);
}

TEST(StatCache, GarbageLoadsEmpty) {
  TempDir tmp;
  fs::path file = tmp.path() / "c.statcache";
  std::mt19937_64 rng(42);
  for (size_t size : {1u, 7u, 48u, 200u, 4096u}) {
    std::string junk(size, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    write_file(file, junk);
    EXPECT_EQ(StatCache::load(file).previous("a.txt"), nullptr);
    // Garbage that carries a valid checksum still fails on structure.
    write_file(file, with_checksum(junk));
    EXPECT_EQ(StatCache::load(file).previous("a.txt"), nullptr);
  }
}

TEST(StatCache, HugeCountsAndLengthsLoadEmptyWithoutAllocating) {
  TempDir tmp;
  fs::path file = tmp.path() / "c.statcache";
  const std::string header = std::string("EBSTATC\n") + le(kStatCacheVersion, 4) + le(1, 8);
  // An entry count of 2^62 in a tiny file.
  write_file(file, with_checksum(header + le(uint64_t{1} << 62, 8) + le(0, 8)));
  EXPECT_EQ(StatCache::load(file).previous("a"), nullptr);
  // One entry whose path claims 4 GiB.
  write_file(file, with_checksum(header + le(1, 8) + le(0xffffffff, 4) + std::string(120, 'a')));
  EXPECT_EQ(StatCache::load(file).previous("a"), nullptr);
  // A note count of 2^62.
  write_file(file, with_checksum(header + le(0, 8) + le(uint64_t{1} << 62, 8)));
  EXPECT_FALSE(StatCache::load(file).note("a").has_value());
  // Another version with a valid checksum.
  std::string other = sample_file(1);
  other = other.substr(0, other.size() - 8);
  other[8] = static_cast<char>(kStatCacheVersion + 1);
  write_file(file, with_checksum(other));
  EXPECT_EQ(StatCache::load(file).previous("a.txt"), nullptr);
}

TEST(StatCache, EntriesOutOfOrderOrRepeatedLoadEmpty) {
  TempDir tmp;
  fs::path file = tmp.path() / "c.statcache";
  const std::string header = std::string("EBSTATC\n") + le(kStatCacheVersion, 4) + le(1, 8);
  auto entry = [](const std::string& path) {
    return le(path.size(), 4) + path + le(1, 8) + le(2, 8) + le(3, 8) + le(4, 8) +
           std::string(16, 'x') + std::string(32, 'y');
  };
  write_file(file, with_checksum(header + le(2, 8) + entry("a") + entry("b") + le(0, 8)));
  ASSERT_NE(StatCache::load(file).previous("a"), nullptr);  // the well-formed control
  write_file(file, with_checksum(header + le(2, 8) + entry("b") + entry("a") + le(0, 8)));
  EXPECT_EQ(StatCache::load(file).previous("a"), nullptr);
  write_file(file, with_checksum(header + le(2, 8) + entry("a") + entry("a") + le(0, 8)));
  EXPECT_EQ(StatCache::load(file).previous("a"), nullptr);
}

TEST(StatCache, RejectsUnreasonableNotes) {
  StatCache cache;
  EXPECT_THROW(cache.set_note("", "v"), envbuild::Error);
  EXPECT_THROW(cache.set_note(std::string(2000, 'k'), "v"), envbuild::Error);
}

TEST(StatCache, LoadsOneHundredThousandEntries) {
  TempDir tmp;
  fs::path file = tmp.path() / "c.statcache";
  StatCacheEntries entries;
  entries.reserve(100'000);
  std::vector<CachedFile> distinct;
  for (uint64_t n = 0; n < 97; ++n) distinct.push_back(facts(n));
  for (uint64_t n = 0; n < 100'000; ++n) {
    CachedFile f = distinct[n % 97];
    f.inode = n;
    entries.emplace_back(
        "src/module" + std::to_string(n % 300) + "/file" + std::to_string(n) + ".py", f);
  }
  write_file(file, encode_stat_cache(1, entries, {}));

  // How fast this is belongs to the benchmarks, not to a timed assertion.
  StatCache cache = StatCache::load(file);
  const CachedFile* f = cache.previous("src/module7/file99907.py");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->inode, 99907u);
  EXPECT_EQ(cache.previous("src/module0/file0.py")->inode, 0u);
}

TEST(StatCache, SaveSkipsTheWriteOnlyWhenNothingChanged) {
  TempDir tmp;
  fs::path file = tmp.path() / "c.statcache";
  StatCache first;
  first.record("a", facts(1));  // mtime far in the past: trusted
  first.set_note("n", "v");
  first.save(file);
  auto inode_of = [&] {
    struct stat st {};
    EXPECT_EQ(stat(file.c_str(), &st), 0);
    return st.st_ino;
  };
  const ino_t written = inode_of();

  StatCache same = StatCache::load(file);
  same.record("a", *same.previous("a"));
  same.set_note("n", "v");
  same.save(file);
  EXPECT_EQ(inode_of(), written);  // an atomic rewrite would be a new inode

  StatCache noted = StatCache::load(file);
  noted.record("a", *noted.previous("a"));
  noted.set_note("n", "w");
  noted.save(file);
  EXPECT_NE(inode_of(), written);
  EXPECT_EQ(StatCache::load(file).note("n"), "w");

  StatCache dropped = StatCache::load(file);  // records nothing: "a" was deleted
  dropped.save(file);
  EXPECT_EQ(StatCache::load(file).previous("a"), nullptr);

  StatCache elsewhere = StatCache::load(file);
  elsewhere.save(tmp.path() / "other.statcache");
  EXPECT_TRUE(fs::exists(tmp.path() / "other.statcache"));
}

TEST(StatCache, SaveRewritesACacheWithRacyEntries) {
  TempDir tmp;
  fs::path file = tmp.path() / "c.statcache";
  CachedFile racy = facts(1);
  racy.mtime_ns = realtime_ns() + 3600 * int64_t{1'000'000'000};
  StatCache first;
  first.record("a", racy);
  first.save(file);
  struct stat before {};
  ASSERT_EQ(stat(file.c_str(), &before), 0);

  StatCache second = StatCache::load(file);
  second.record("a", racy);
  second.save(file);
  struct stat after {};
  ASSERT_EQ(stat(file.c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before.st_ino);  // rewritten, with a new write time
  auto contents = decode_stat_cache(slurp(file));
  ASSERT_TRUE(contents.has_value());
  EXPECT_EQ(contents->entries.size(), 1u);
}
