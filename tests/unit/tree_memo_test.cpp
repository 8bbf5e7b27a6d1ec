// The tree memo's text form and the walk fingerprint it is keyed by.
#include "snapshot/tree_memo.hpp"

#include <gtest/gtest.h>

#include "snapshot/snapshot_format.hpp"

using namespace envbuild;
using namespace envbuild::snapshot;
using registry::Digest;

namespace {

TreeMemo sample_memo() {
  TreeMemo m;
  m.written_at_ns = 1'700'000'000'123'456'789;
  m.walk = std::string(32, 'a');
  m.tree_root = blob_descriptor(kTreeMediaType, Digest::sha256_of("root"), 321);
  for (int i = 0; i < 3; ++i) {
    registry::Descriptor c =
        blob_descriptor("application/vnd.oci.image.manifest.v1+json",
                        Digest::sha256_of("chunk" + std::to_string(i)), 1000 + i);
    c.artifact_type = std::string(kSnapshotArtifactType);
    m.chunks.push_back(c);
  }
  m.files = 2000;
  m.bytes = 300'000'000;
  m.symlinks = 3;
  m.directories = 1;
  return m;
}

WalkResult sample_walk() {
  WalkResult w;
  for (int i = 0; i < 4; ++i) {
    SourceEntry e;
    e.path = "dir/file" + std::to_string(i);
    e.mode = 0644;
    e.size = 10 + i;
    e.mtime_ns = 1000 + i;
    e.ctime_ns = 2000 + i;
    e.inode = 30 + i;
    w.entries.push_back(e);
  }
  SourceEntry link;
  link.path = "link";
  link.type = EntryType::Symlink;
  link.link_target = "dir/file0";
  link.size = link.link_target.size();
  w.entries.push_back(link);
  return w;
}

}  // namespace

TEST(TreeMemo, RoundTripsThroughItsText) {
  const TreeMemo m = sample_memo();
  const std::optional<TreeMemo> back = TreeMemo::decode(m.encode());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->written_at_ns, m.written_at_ns);
  EXPECT_EQ(back->walk, m.walk);
  EXPECT_EQ(back->tree_root.digest, m.tree_root.digest);
  EXPECT_EQ(back->tree_root.size, m.tree_root.size);
  EXPECT_EQ(back->tree_root.media_type, kTreeMediaType);
  ASSERT_EQ(back->chunks.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back->chunks[i].digest, m.chunks[i].digest);
    EXPECT_EQ(back->chunks[i].size, m.chunks[i].size);
    EXPECT_EQ(back->chunks[i].media_type, m.chunks[i].media_type);
    EXPECT_EQ(back->chunks[i].artifact_type, kSnapshotArtifactType);
  }
  EXPECT_EQ(back->files, 2000u);
  EXPECT_EQ(back->bytes, 300'000'000u);
  EXPECT_EQ(back->symlinks, 3u);
  EXPECT_EQ(back->directories, 1u);
  EXPECT_EQ(back->encode(), m.encode());
}

TEST(TreeMemo, AnythingMalformedIsNoMemo) {
  const std::string good = sample_memo().encode();
  ASSERT_TRUE(TreeMemo::decode(good).has_value());
  // Every truncation that cuts into a line, and a few hand-made breakages.
  for (size_t len = 0; len + 1 < good.size(); ++len) {
    if (good[len] == '\n') continue;  // ending a line early can still be a valid shorter memo
    const std::string cut = good.substr(0, len);
    const auto m = TreeMemo::decode(cut);
    if (m) {
      EXPECT_NE(m->encode(), good) << "length " << len;
    }
  }
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  EXPECT_FALSE(TreeMemo::decode(replaced("tree-memo v1", "tree-memo v2")));
  EXPECT_FALSE(TreeMemo::decode(replaced("sha256:", "md5:")));
  EXPECT_FALSE(TreeMemo::decode(replaced("walk " + std::string(32, 'a'), "walk abc")));
  EXPECT_FALSE(TreeMemo::decode(replaced(" 321\n", " -5\n")));
  EXPECT_FALSE(TreeMemo::decode(replaced("chunk", "chunky")));
  EXPECT_FALSE(TreeMemo::decode(good + "chunk sha256:zz 10\n"));
  // No chunks at all: a root index always has one.
  EXPECT_FALSE(TreeMemo::decode(good.substr(0, good.find("chunk"))));
}

TEST(TreeMemo, FingerprintSeesEveryFieldAndTheOrder) {
  const WalkResult base = sample_walk();
  const std::string print = walk_fingerprint(base);
  EXPECT_EQ(print.size(), 32u);
  EXPECT_EQ(walk_fingerprint(sample_walk()), print);
  std::vector<std::function<void(SourceEntry&)>> changes = {
      [](SourceEntry& e) { e.path += "x"; },
      [](SourceEntry& e) { e.mode ^= 0100; },
      [](SourceEntry& e) { e.size += 1; },
      [](SourceEntry& e) { e.mtime_ns += 1; },
      [](SourceEntry& e) { e.ctime_ns += 1; },
      [](SourceEntry& e) { e.inode += 1; },
      [](SourceEntry& e) { e.link_target += "/"; },
      [](SourceEntry& e) { e.type = EntryType::Directory; }};
  for (size_t c = 0; c < changes.size(); ++c) {
    WalkResult w = sample_walk();
    changes[c](w.entries[c % w.entries.size()]);
    EXPECT_NE(walk_fingerprint(w), print) << "change " << c;
  }
  WalkResult swapped = sample_walk();
  std::swap(swapped.entries[0], swapped.entries[1]);
  EXPECT_NE(walk_fingerprint(swapped), print);
  WalkResult shorter = sample_walk();
  shorter.entries.pop_back();
  EXPECT_NE(walk_fingerprint(shorter), print);
  // Bytes moved from one path to the next are not the same walk.
  WalkResult a, b;
  a.entries = {SourceEntry{}, SourceEntry{}};
  b.entries = a.entries;
  a.entries[0].path = "ab";
  a.entries[1].path = "c";
  b.entries[0].path = "a";
  b.entries[1].path = "bc";
  EXPECT_NE(walk_fingerprint(a), walk_fingerprint(b));
}

TEST(TreeMemo, DescribesOnlyTheSameWalkWithNoRacyFile) {
  TreeMemo m = sample_memo();
  m.walk = walk_fingerprint(sample_walk());
  m.written_at_ns = 1004;  // newer than every mtime (1000..1003)
  EXPECT_TRUE(m.describes(sample_walk()));
  m.written_at_ns = 1003;  // file3 was modified in the tick the memo was written
  EXPECT_FALSE(m.describes(sample_walk()));
  EXPECT_TRUE(has_racy_file(sample_walk(), 1003));
  EXPECT_FALSE(has_racy_file(sample_walk(), 1004));
  m.written_at_ns = 5000;
  WalkResult changed = sample_walk();
  changed.entries[2].size = 99;
  EXPECT_FALSE(m.describes(changed));
}
