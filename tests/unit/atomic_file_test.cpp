#include "registry/atomic_file.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "registry/file_lock.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild::registry;
namespace fs = std::filesystem;

namespace {

using envbuild::testing::slurp;

size_t count_entries(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST(AtomicFile, WritesAndReplacesWithoutLeavingTemps) {
  envbuild::testing::TempDir tmp;
  fs::path target = tmp.path() / "file.json";
  write_file_atomic(target, "first");
  EXPECT_EQ(slurp(target), "first");
  write_file_atomic(target, "second, longer");
  EXPECT_EQ(slurp(target), "second, longer");
  EXPECT_EQ(count_entries(tmp.path()), 1u);
}

TEST(AtomicFile, UncommittedWriteLeavesTargetUntouched) {
  envbuild::testing::TempDir tmp;
  fs::path target = tmp.path() / "file";
  write_file_atomic(target, "original");
  {
    AtomicFile file(target);
    EXPECT_TRUE(is_temp_name(file.temp_path().filename().string()));
    EXPECT_EQ(file.temp_path().parent_path(), tmp.path());
    file.write("half of a new ver");
    EXPECT_TRUE(fs::exists(file.temp_path()));
  }
  EXPECT_EQ(slurp(target), "original");
  EXPECT_EQ(count_entries(tmp.path()), 1u);
}

TEST(AtomicFile, InFlightTempIsNeverRemovedButAbandonedOneIs) {
  envbuild::testing::TempDir tmp;
  AtomicFile in_flight(tmp.path() / "blob");
  in_flight.write("abc");
  EXPECT_FALSE(remove_abandoned_temp(in_flight.temp_path(), /*dry_run=*/false));
  EXPECT_TRUE(fs::exists(in_flight.temp_path()));

  // A temp nobody holds a flock on: what a killed writer leaves.
  fs::path abandoned = tmp.path() / ".tmp-0123456789abcdef";
  std::ofstream(abandoned) << "leftover";
  EXPECT_EQ(remove_abandoned_temp(abandoned, /*dry_run=*/true), 8u);
  EXPECT_TRUE(fs::exists(abandoned));
  EXPECT_EQ(remove_abandoned_temp(abandoned, /*dry_run=*/false), 8u);
  EXPECT_FALSE(fs::exists(abandoned));

  in_flight.commit();
  EXPECT_EQ(slurp(tmp.path() / "blob"), "abc");
  EXPECT_FALSE(remove_abandoned_temp(in_flight.temp_path(), false));
}

TEST(AtomicFile, TempNamesAreRecognised) {
  EXPECT_TRUE(is_temp_name(".tmp-abc"));
  EXPECT_FALSE(is_temp_name("tmp-abc"));
  EXPECT_FALSE(is_temp_name("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

TEST(FileLock, ExclusiveLockExcludesOtherDescriptors) {
  envbuild::testing::TempDir tmp;
  fs::path lock_file = tmp.path() / ".lock";
  {
    FileLock held = FileLock::acquire(lock_file);
    EXPECT_FALSE(FileLock::try_acquire(lock_file).has_value());
    EXPECT_FALSE(FileLock::try_acquire(lock_file, LockMode::Shared).has_value());
  }
  auto shared1 = FileLock::try_acquire(lock_file, LockMode::Shared);
  auto shared2 = FileLock::try_acquire(lock_file, LockMode::Shared);
  EXPECT_TRUE(shared1 && shared2);
  EXPECT_FALSE(FileLock::try_acquire(lock_file).has_value());
}
