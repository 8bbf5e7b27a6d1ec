// A file over 4 GiB keeps 64-bit sizes and offsets all the way through the
// walk and the hashing (a sparse file, so the disk holds almost nothing).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "snapshot/content_hash.hpp"
#include "snapshot/source_walk.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild::snapshot;

TEST(LargeFile, OverFourGiBHashesLikeSha256sum) {
  envbuild::testing::TempDir dir;
  const off_t size = (off_t{4} << 30) + 4097;
  auto file = dir.path() / "big.bin";
  int fd = ::open(file.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, size), 0);
  ASSERT_EQ(::pwrite(fd, "tail", 4, size - 4), 4);  // bytes past 2^32 matter
  ::close(fd);
  WalkResult walk = walk_source_tree(dir.path());
  ASSERT_EQ(walk.entries.size(), 1u);
  EXPECT_EQ(walk.entries[0].size, static_cast<uint64_t>(size));
  StatCache cache;
  HashedTree h = hash_tree(dir.path(), walk, cache, 2);
  ASSERT_TRUE(h.digests[0].has_value());
  auto r = envbuild::testing::run_process({"sha256sum", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(h.digests[0]->hex(), r.out.substr(0, 64));
  EXPECT_EQ(h.stats.bytes_hashed, static_cast<uint64_t>(size));
}
