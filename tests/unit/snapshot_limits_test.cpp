#include "snapshot/snapshot_limits.hpp"

#include <gtest/gtest.h>

#include <string>

#include "registry/error.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::snapshot;

namespace {

SourceEntry file(std::string path, uint64_t size) {
  SourceEntry e;
  e.path = std::move(path);
  e.size = size;
  return e;
}

std::string error_of(const WalkResult& walk, const SnapshotLimits& limits) {
  try {
    check_limits(walk, limits, "/src");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    return e.what();
  }
  return {};
}

TEST(SnapshotLimits, ParsesSizesWithBinaryUnits) {
  EXPECT_EQ(parse_byte_size("300MB", "x"), 300ull << 20);
  EXPECT_EQ(parse_byte_size("1.5g", "x"), 3ull << 29);
  EXPECT_EQ(parse_byte_size("512 KiB", "x"), 512ull << 10);
  EXPECT_EQ(parse_byte_size("2000000", "x"), 2000000u);
  for (const char* bad : {"", "MB", "12XB", "-1", "0", "1..2M", "1e3"})
    EXPECT_THROW(parse_byte_size(bad, "--max-bytes"), Error) << bad;
  try {
    parse_byte_size("lots", "--max-bytes");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--max-bytes: 'lots'"), std::string::npos) << e.what();
  }
}

TEST(SnapshotLimits, UnderTheLimitsPasses) {
  WalkResult w;
  w.entries = {file("a", 100), file("b/c", 200)};
  EXPECT_EQ(error_of(w, SnapshotLimits{2, 300}), "");
}

TEST(SnapshotLimits, TooBigNamesLargestFilesAndDirectoriesAndSuggestsIgnoreLines) {
  WalkResult w;
  w.entries = {file("data/big.bin", 900), file("data/more.bin", 50), file("src/a.py", 10),
               file("src/b.py", 10), file("model.pt", 400)};
  std::string msg = error_of(w, SnapshotLimits{100, 500});
  EXPECT_EQ(msg.substr(0, msg.find('\n')),
            "/src: snapshot of 5 files, 1.3 KiB exceeds the limit of 500 B; nothing was uploaded "
            "(raise it with --max-bytes/--max-files or the config file)");
  EXPECT_NE(msg.find("largest directories:\n  data/  2 files, 950 B"), std::string::npos) << msg;
  EXPECT_NE(msg.find("largest files:\n  data/big.bin  900 B\n  model.pt  400 B"), std::string::npos)
      << msg;
  // Ignoring data/ leaves 420 B; that fits, so one line is suggested.
  EXPECT_NE(msg.find(".gitignore:\n  /data/"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("/model.pt"), std::string::npos) << msg;
}

TEST(SnapshotLimits, TooManyFilesCountsSymlinksButNotEmptyDirectories) {
  WalkResult w;
  for (int i = 0; i < 5; ++i) w.entries.push_back(file("node/x" + std::to_string(i), 1));
  SourceEntry link = file("l", 3);
  link.type = EntryType::Symlink;
  w.entries.push_back(link);
  SourceEntry dir = file("empty", 0);
  dir.type = EntryType::Directory;
  w.entries.push_back(dir);
  std::string msg = error_of(w, SnapshotLimits{5, 1 << 20});
  EXPECT_NE(msg.find("snapshot of 6 files"), std::string::npos) << msg;
  EXPECT_NE(msg.find("limit of 5 files"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\n  /node/"), std::string::npos) << msg;
  EXPECT_EQ(error_of(w, SnapshotLimits{6, 1 << 20}), "");
}

TEST(SnapshotLimits, ConfigFileSetsLimitsAndNamesBadLines) {
  envbuild::testing::TempDir dir;
  auto cfg = dir.path() / "config.yaml";
  envbuild::testing::write_file(cfg, "snapshot:\n  max_files: 5000\n  max_bytes: 1GB\n");
  SnapshotLimits l = load_limits_config(cfg, {});
  EXPECT_EQ(l.max_files, 5000u);
  EXPECT_EQ(l.max_bytes, 1ull << 30);
  envbuild::testing::write_file(cfg, "snapshot:\n  max_files: 7\n");
  EXPECT_EQ(load_limits_config(cfg, {}).max_bytes, SnapshotLimits{}.max_bytes);

  auto expect_error = [&](const std::string& text, const std::string& needle) {
    envbuild::testing::write_file(cfg, text);
    try {
      load_limits_config(cfg, {});
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("snapshot:\n  max_file: 3\n",
               cfg.string() + ":2:3: unknown key 'snapshot.max_file'");
  expect_error("snapshot:\n  max_files: many\n", cfg.string() + ":2:14: snapshot.max_files");
  expect_error("snapshot:\n  max_bytes: [1]\n", cfg.string() + ":2:14: snapshot.max_bytes");
  expect_error("snapshot: [\n", cfg.string() + ":");
  expect_error("snapshots: {}\n", "unknown section 'snapshots'");
  EXPECT_THROW(load_limits_config(dir.path() / "missing.yaml", {}), Error);
}

}  // namespace
