// Pins the snapshot format (snapshot_format.hpp): tree node bytes, name
// encoding, pack and chunk cut rules, manifest shapes and limits, and the
// diff of file lists. Changing any of these changes snapshot ids.
#include "snapshot/snapshot_format.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "registry/error.hpp"
#include "registry/manifest.hpp"
#include "registry/media_types.hpp"
#include "snapshot/snapshot_diff.hpp"
#include "snapshot/snapshot_name_codec.hpp"
#include "tests/support/error_kind.hpp"

using namespace envbuild;
using namespace envbuild::snapshot;
using registry::Digest;

namespace {

using envbuild::testing::kind_of;

Digest sha(std::string_view s) { return Digest::sha256_of(s); }

TreeNode sample_node() {
  TreeNode node;
  node.packs.push_back({sha("ab"), 2});
  TreeEntry a;
  a.name = "a.txt";
  a.size = 1;
  a.digest = sha("a");
  a.pack = 0;
  a.offset = 0;
  TreeEntry bin;
  bin.name = "b\xff";  // not UTF-8
  bin.size = 1;
  bin.digest = sha("b");
  bin.executable = true;
  bin.pack = 0;
  bin.offset = 1;
  TreeEntry link;
  link.name = "link";
  link.type = EntryType::Symlink;
  link.link_target = "../x";
  link.size = 4;
  TreeEntry sub;
  sub.name = "sub";
  sub.type = EntryType::Directory;
  sub.digest = sha("{}");
  sub.size = 24;
  node.entries = {a, bin, link, sub};
  return node;
}

std::vector<Digest> random_digests(size_t n, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<Digest> out;
  for (size_t i = 0; i < n; ++i) out.push_back(sha(std::to_string(random())));
  std::sort(out.begin(), out.end());
  return out;
}

// The encoding as nlohmann::json writes it: the reference the hand-written
// encoder must match byte for byte.
std::string reference_encoding(const TreeNode& node) {
  using nlohmann::json;
  auto put_bytes = [](json& j, const std::string& key, const std::string& bytes) {
    if (is_valid_utf8(bytes))
      j[key] = bytes;
    else
      j[key + "64"] = base64_encode(bytes);
  };
  json entries = json::array();
  for (const TreeEntry& e : node.entries) {
    json j = json::object();
    put_bytes(j, "name", e.name);
    j["size"] = e.size;
    switch (e.type) {
      case EntryType::File:
        j["type"] = "file";
        j["digest"] = e.digest.str();
        if (e.executable) j["exec"] = true;
        if (e.pack) {
          j["pack"] = *e.pack;
          j["offset"] = e.offset;
        }
        break;
      case EntryType::Symlink:
        j["type"] = "symlink";
        put_bytes(j, "target", e.link_target);
        break;
      case EntryType::Directory:
        j["type"] = "dir";
        j["tree"] = e.digest.str();
        break;
    }
    entries.push_back(std::move(j));
  }
  json packs = json::array();
  for (const PackRef& p : node.packs)
    packs.push_back(json{{"digest", p.digest.str()}, {"size", p.size}});
  return json{{"entries", std::move(entries)}, {"packs", std::move(packs)}}.dump();
}

// Names and targets that exercise escaping: quotes, backslashes, every
// control character, DEL, multi-byte UTF-8 and bytes that are not UTF-8.
std::string random_name(std::mt19937_64& random) {
  static const std::vector<std::string> pieces = {"a",
                                                  "Z",
                                                  "0",
                                                  ".",
                                                  "-",
                                                  "\"",
                                                  "\\",
                                                  "/",
                                                  " ",
                                                  "\x7f",
                                                  "\xc3\xa9",
                                                  "\xe2\x82\xac",
                                                  "\xf0\x9f\x98\x80",
                                                  "\xff",
                                                  "\xc3",
                                                  "\x80"};
  std::string out;
  const size_t n = 1 + random() % 12;
  for (size_t i = 0; i < n; ++i) {
    if (random() % 5 == 0)
      out.push_back(static_cast<char>(1 + random() % 31));
    else
      out += pieces[random() % pieces.size()];
  }
  return out;
}

}  // namespace

TEST(SnapshotFormat, TreeNodeBytesAreCanonical) {
  const std::string bytes = encode_tree_node(sample_node());
  const std::string expected =
      std::string("{\"entries\":[") + "{\"digest\":\"" + sha("a").str() +
      "\",\"name\":\"a.txt\",\"offset\":0,\"pack\":0,\"size\":1,\"type\":\"file\"}," +
      "{\"digest\":\"" + sha("b").str() +
      "\",\"exec\":true,\"name64\":\"Yv8=\",\"offset\":1,\"pack\":0,\"size\":1,\"type\":\"file\"}"
      "," +
      "{\"name\":\"link\",\"size\":4,\"target\":\"../x\",\"type\":\"symlink\"}," +
      "{\"name\":\"sub\",\"size\":24,\"tree\":\"" + sha("{}").str() + "\",\"type\":\"dir\"}" +
      "],\"packs\":[{\"digest\":\"" + sha("ab").str() + "\",\"size\":2}]}";
  EXPECT_EQ(bytes, expected);
}

TEST(SnapshotFormat, HandWrittenEncoderMatchesNlohmannJson) {
  std::mt19937_64 random(7);
  for (int round = 0; round < 500; ++round) {
    TreeNode node;
    const size_t packs = random() % 3;
    for (size_t p = 0; p < packs; ++p)
      node.packs.push_back({sha(std::to_string(random())), 1 + random() % (1u << 24)});
    const size_t entries = random() % 8;
    for (size_t i = 0; i < entries; ++i) {
      TreeEntry e;
      e.name = random_name(random);
      e.type = static_cast<EntryType>(random() % 3);
      e.size = random() >> (random() % 64);
      e.digest = sha(e.name);
      if (e.type == EntryType::File) {
        e.executable = random() % 2 == 0;
        if (packs > 0 && random() % 2 == 0) {
          e.pack = static_cast<uint32_t>(random() % packs);
          e.offset = random() >> (random() % 64);
        }
      } else if (e.type == EntryType::Symlink) {
        e.link_target = random_name(random);
      }
      node.entries.push_back(e);
    }
    ASSERT_EQ(encode_tree_node(node), reference_encoding(node)) << "round " << round;
  }
  EXPECT_EQ(encode_tree_node(sample_node()), reference_encoding(sample_node()));
}

TEST(SnapshotFormat, TreeNodeRoundTripsRawNames) {
  const TreeNode node = decode_tree_node(encode_tree_node(sample_node()), "test");
  ASSERT_EQ(node.entries.size(), 4u);
  EXPECT_EQ(node.entries[1].name, "b\xff");
  EXPECT_TRUE(node.entries[1].executable);
  EXPECT_FALSE(node.entries[0].executable);
  EXPECT_EQ(node.entries[1].offset, 1u);
  EXPECT_EQ(node.entries[2].link_target, "../x");
  EXPECT_EQ(node.entries[3].type, EntryType::Directory);
  EXPECT_EQ(node.entries[3].digest, sha("{}"));
  EXPECT_EQ(encode_tree_node(node), encode_tree_node(sample_node()));
}

TEST(SnapshotFormat, HostileTreeNodesAreRefused) {
  const std::string good = encode_tree_node(sample_node());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  const std::vector<std::string> bad = {
      with("\"name\":\"a.txt\"", "\"name\":\"..\""),
      with("\"name\":\"a.txt\"", "\"name\":\".\""),
      with("\"name\":\"a.txt\"", "\"name\":\"\""),
      with("\"name\":\"a.txt\"", "\"name\":\"x/y\""),
      with("\"name\":\"a.txt\"", "\"name\":\"a\\u0000b\""),
      with("\"name\":\"a.txt\"", "\"name\":\"zzz\""),      // unsorted
      with("\"name\":\"link\"", "\"name\":\"a.txt\""),     // duplicate, unsorted
      with("\"name64\":\"Yv8=\"", "\"name64\":\"YWI=\""),  // "ab" is UTF-8
      with("\"name64\":\"Yv8=\"", "\"name64\":\"Yv8\""),   // bad base64
      with("\"pack\":0,\"size\":1,\"type\":\"file\"}", "\"pack\":1,\"size\":1,\"type\":\"file\"}"),
      with("\"offset\":1", "\"offset\":2"),  // slice past the pack
      with("\"type\":\"symlink\"", "\"type\":\"fifo\""),
      with("\"target\":\"../x\"", "\"target\":\"\""),
      with("\"exec\":true", "\"exec\":false"),
      with("\"tree\":\"sha256:", "\"tree\":\"sha256:zz"),
      "[]",
      "{\"entries\":[]}",
      "not json",
  };
  for (const auto& text : bad) {
    EXPECT_EQ(kind_of([&] { decode_tree_node(text, "node"); }), ErrorKind::BadInput) << text;
  }
  std::string message;
  kind_of([&] { decode_tree_node(bad[0], "tree node X ('d')"); }, &message);
  EXPECT_NE(message.find("tree node X ('d')"), std::string::npos) << message;
}

TEST(SnapshotFormat, NameCodec) {
  EXPECT_TRUE(is_valid_utf8("h\xc3\xa9llo"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
  for (const std::string s : {"", "f", "fo", "foo", "foob", "\xff\x00\x01"}) {
    EXPECT_EQ(base64_decode(base64_encode(s), "t"), s);
  }
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(kind_of([] { base64_decode("Zm9vYh==", "t"); }), ErrorKind::BadInput);  // stray bits
  EXPECT_EQ(kind_of([] { base64_decode("Zm=v", "t"); }), ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { validate_entry_name(std::string(kMaxNameBytes + 1, 'a'), "t"); }),
            ErrorKind::BadInput);
  validate_entry_name(std::string(kMaxNameBytes, 'a'), "t");
}

TEST(SnapshotFormat, PackCutRuleAveragesAboutOneMiBAndDependsOnlyOnTheMember) {
  // Files of 4 KiB: a cut after each with probability (4096+256)/1MiB.
  uint64_t cuts = 0, files = 20000;
  for (uint64_t i = 0; i < files; ++i) {
    const std::string name = "f" + std::to_string(i);
    const bool cut = pack_cut_after(name, sha(name), 4096);
    EXPECT_EQ(cut, pack_cut_after(name, sha(name), 4096));
    cuts += cut;
  }
  const double mean_pack = static_cast<double>(files * 4096) / static_cast<double>(cuts);
  EXPECT_GT(mean_pack, 0.6 * kPackTargetBytes);
  EXPECT_LT(mean_pack, 1.6 * kPackTargetBytes);
  EXPECT_TRUE(pack_cut_after("x", sha("x"), kPackTargetBytes));  // a member as big as a pack
  // Pinned: XXH64 of the key decides, so these never change across versions.
  EXPECT_FALSE(pack_cut_after("a.txt", sha("a"), 1));
}

TEST(SnapshotFormat, ChunksAreBoundedAndStableUnderInsertion) {
  auto digests = random_digests(5000, 1);
  const auto ranges = chunk_ranges(digests);
  size_t covered = 0;
  for (const auto& [b, e] : ranges) {
    EXPECT_EQ(b, covered);
    EXPECT_GT(e, b);
    EXPECT_LE(e - b, kMaxChunkLayers);
    covered = e;
  }
  EXPECT_EQ(covered, digests.size());
  auto chunk_sets = [](const std::vector<Digest>& d) {
    std::set<std::vector<Digest>> out;
    for (const auto& [b, e] : chunk_ranges(d)) out.insert({d.begin() + b, d.begin() + e});
    return out;
  };
  const auto before = chunk_sets(digests);
  digests.push_back(sha("one more blob"));
  std::sort(digests.begin(), digests.end());
  const auto after = chunk_sets(digests);
  size_t changed = 0;
  for (const auto& c : after) changed += !before.count(c);
  EXPECT_LE(changed, 2u);  // its own chunk (split at most in two by a new cut point)
  EXPECT_GT(before.size(), 10u);
  EXPECT_TRUE(chunk_ranges({}).empty());
}

TEST(SnapshotFormat, ManifestsAreValidOciAndParseBack) {
  std::vector<registry::Descriptor> layers{blob_descriptor(kTreeMediaType, sha("t"), 1),
                                           blob_descriptor(kPackMediaType, sha("p"), 2)};
  const auto chunk = encode_chunk_manifest(layers);
  const auto parsed = registry::ImageManifest::parse(chunk);
  EXPECT_EQ(parsed.artifact_type, kSnapshotArtifactType);
  EXPECT_EQ(parsed.config.media_type, registry::media::kOciEmpty);
  EXPECT_EQ(parsed.config.digest.str(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  ASSERT_EQ(parsed.layers.size(), 2u);
  EXPECT_EQ(parsed.layers[1].media_type, kPackMediaType);

  registry::Descriptor c = blob_descriptor(chunk.media_type, chunk.digest, chunk.bytes.size());
  const auto root = encode_root_index({c}, {{"azureml.git.commit", "abc"},
                                            {std::string(kTreeAnnotation), sha("t").str()},
                                            {std::string(kTreeSizeAnnotation), "1"}});
  EXPECT_EQ(root.bytes.find(' '), std::string::npos);
  const SnapshotRoot r = parse_snapshot_root(root, "x");
  EXPECT_EQ(r.id, root.digest);
  EXPECT_EQ(r.tree.digest, sha("t"));
  EXPECT_EQ(r.tree.size, 1);
  EXPECT_EQ(r.annotations.at("azureml.git.commit"), "abc");
  ASSERT_EQ(r.chunks.size(), 1u);
  EXPECT_EQ(r.chunks[0].digest, chunk.digest);
  // An image index that is not a snapshot is refused with a clear message.
  const std::string other = "{\"schemaVersion\":2,\"mediaType\":\"" +
                            std::string(registry::media::kOciIndex) + "\",\"manifests\":[]}";
  std::string message;
  EXPECT_EQ(
      kind_of(
          [&] {
            parse_snapshot_root({std::string(registry::media::kOciIndex), other, sha(other)}, "v1");
          },
          &message),
      ErrorKind::BadInput);
  EXPECT_NE(message.find("not an envbuild snapshot"), std::string::npos) << message;
}

TEST(SnapshotFormat, TagsCarryTheFullId) {
  const Digest id = sha("root");
  EXPECT_EQ(snapshot_tag(id), "snapshot-" + id.hex());
  EXPECT_LE(snapshot_tag(id).size(), 128u);
  EXPECT_EQ(id_of_tag(snapshot_tag(id)), id);
  EXPECT_FALSE(id_of_tag("snapshot-abc"));
  EXPECT_FALSE(id_of_tag("latest"));
}

// 100k files at the worst blob count (each in its own directory: a tree node
// and a pack per file) still fit the registries' 4 MiB manifest limit.
TEST(SnapshotFormat, HundredThousandFilesFitManifestLimits) {
  const auto digests = random_digests(200'001, 2);
  std::vector<registry::Descriptor> chunks;
  for (const auto& [b, e] : chunk_ranges(digests)) {
    std::vector<registry::Descriptor> layers;
    for (size_t i = b; i < e; ++i)
      layers.push_back(blob_descriptor(kPackMediaType, digests[i], 1 << 20));
    const auto m = encode_chunk_manifest(layers);
    ASSERT_LT(m.bytes.size(), registry::kMaxManifestBytes);
    chunks.push_back(blob_descriptor(m.media_type, m.digest, m.bytes.size()));
    chunks.back().artifact_type = std::string(kSnapshotArtifactType);
  }
  const auto root = encode_root_index(chunks, {{std::string(kTreeAnnotation), digests[0].str()}});
  EXPECT_LT(root.bytes.size(), registry::kMaxManifestBytes);
}

TEST(SnapshotDiff, AddedRemovedModified) {
  auto file = [](std::string path, std::string content, bool exec = false) {
    SnapshotFile f;
    f.path = std::move(path);
    f.sha256 = sha(content);
    f.size = content.size();
    f.executable = exec;
    return f;
  };
  auto link = [](std::string path, std::string target) {
    SnapshotFile f;
    f.path = std::move(path);
    f.type = EntryType::Symlink;
    f.link_target = std::move(target);
    return f;
  };
  SnapshotFile dir;
  dir.path = "empty";
  dir.type = EntryType::Directory;
  const std::vector<SnapshotFile> before = {file("same", "1"),
                                            file("content", "a"),
                                            file("run.sh", "x"),
                                            link("l", "t1"),
                                            file("gone", "g"),
                                            file("kind", "k"),
                                            dir};
  std::vector<SnapshotFile> after = {file("new", "n"),
                                     file("same", "1"),
                                     file("content", "b"),
                                     file("run.sh", "x", true),
                                     link("l", "t2"),
                                     link("kind", "k"),
                                     dir};
  after.back().pack = sha("p");  // where bytes live is not a change
  const SnapshotDiff d = diff_snapshots(before, after);
  EXPECT_EQ(d.added, std::vector<std::string>{"new"});
  EXPECT_EQ(d.removed, std::vector<std::string>{"gone"});
  EXPECT_EQ(d.modified, (std::vector<std::string>{"content", "kind", "l", "run.sh"}));
  EXPECT_TRUE(diff_snapshots(after, after).modified.empty());
}

TEST(SnapshotDiff, FilesOfWalkUseTheOwnerExecuteBit) {
  WalkResult walk;
  SourceEntry a;
  a.path = "a";
  a.mode = 0700;
  a.size = 1;
  SourceEntry b;
  b.path = "b";
  b.mode = 0655;  // group/other x only: not executable as git sees it
  b.size = 1;
  SourceEntry l;
  l.path = "c";
  l.type = EntryType::Symlink;
  l.link_target = "a";
  walk.entries = {a, b, l};
  HashedTree hashes;
  hashes.digests = {sha("a"), sha("b"), std::nullopt};
  const auto files = files_of_walk(walk, hashes);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_TRUE(files[0].executable);
  EXPECT_FALSE(files[1].executable);
  EXPECT_EQ(files[2].link_target, "a");
  hashes.digests.pop_back();
  EXPECT_EQ(kind_of([&] { files_of_walk(walk, hashes); }), ErrorKind::Internal);
}
