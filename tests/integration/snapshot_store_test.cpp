// Snapshots in real stores: push -> read -> restore round trips against an
// OCI layout and a docker-registry with Basic auth, stable ids, the cost of
// unchanged and small re-pushes (requests counted by a Store decorator),
// hostile snapshots, files that change during a push, and skopeo reading
// the pushed root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>

#include "registry/error.hpp"
#include "registry/layout_store.hpp"
#include "registry/manifest.hpp"
#include "registry/media_types.hpp"
#include "registry/registry_store.hpp"
#include "snapshot/content_hash.hpp"
#include "snapshot/snapshot_diff.hpp"
#include "snapshot/snapshot_format.hpp"
#include "snapshot/snapshot_push.hpp"
#include "snapshot/snapshot_read.hpp"
#include "snapshot/snapshot_restore.hpp"
#include "snapshot/tree_memo.hpp"
#include "tests/support/error_kind.hpp"
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/registry_fixture.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::registry;
using namespace envbuild::snapshot;
using namespace envbuild::testing;
namespace fs = std::filesystem;

namespace {

using envbuild::testing::kind_of;

// A test-only lister standing in for the real walker: lstat every entry, no
// ignore rules; directories listed only when empty, sorted by path bytes.
WalkResult list_tree_for_test(const fs::path& root) {
  WalkResult walk;
  std::function<void(const fs::path&, const std::string&)> visit = [&](const fs::path& dir,
                                                                       const std::string& rel) {
    bool empty = true;
    for (const auto& item : fs::directory_iterator(dir)) {
      empty = false;
      const std::string name = item.path().filename().string();
      const std::string path = rel.empty() ? name : rel + "/" + name;
      struct stat st {};
      if (::lstat(item.path().c_str(), &st) != 0) throw std::runtime_error("lstat " + path);
      if (S_ISDIR(st.st_mode)) {
        visit(item.path(), path);
        continue;
      }
      SourceEntry e;
      e.path = path;
      e.mode = st.st_mode & 0777;
      e.size = static_cast<uint64_t>(st.st_size);
      e.mtime_ns = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
      e.ctime_ns = st.st_ctim.tv_sec * 1'000'000'000LL + st.st_ctim.tv_nsec;
      e.inode = st.st_ino;
      e.device = st.st_dev;
      if (S_ISLNK(st.st_mode)) {
        e.type = EntryType::Symlink;
        e.link_target = fs::read_symlink(item.path()).string();
      }
      walk.entries.push_back(std::move(e));
    }
    if (empty && !rel.empty()) {
      SourceEntry e;
      e.path = rel;
      e.type = EntryType::Directory;
      walk.entries.push_back(std::move(e));
    }
  };
  visit(root, "");
  std::sort(walk.entries.begin(), walk.entries.end(),
            [](const SourceEntry& a, const SourceEntry& b) { return a.path < b.path; });
  return walk;
}

// Counts the requests a push makes; `before_stat` lets a test act between
// hashing and upload.
class CountingStore : public Store {
 public:
  explicit CountingStore(Store& inner) : inner_(inner) {}
  std::string describe() const override { return inner_.describe(); }
  std::optional<int64_t> stat_blob(const Digest& d) override {
    ++stats;
    if (before_stat) before_stat();
    return inner_.stat_blob(d);
  }
  std::unique_ptr<BlobReader> open_blob(const Descriptor& d) override {
    ++opens;
    return inner_.open_blob(d);
  }
  void put_blob(const Descriptor& d, BlobReader& r) override {
    ++puts;
    inner_.put_blob(d, r);
  }
  ManifestBytes get_manifest(std::string_view ref) override {
    ++manifest_gets;
    return inner_.get_manifest(ref);
  }
  std::optional<ManifestBytes> find_manifest(std::string_view ref) override {
    ++manifest_gets;
    return inner_.find_manifest(ref);
  }
  Digest put_manifest(const ManifestBytes& m, std::optional<std::string> tag) override {
    ++manifest_puts;
    return inner_.put_manifest(m, std::move(tag));
  }
  std::vector<std::string> list_tags() override {
    ++tag_lists;
    return inner_.list_tags();
  }
  int total() const { return stats + opens + puts + manifest_gets + manifest_puts + tag_lists; }

  std::atomic<int> stats{0}, opens{0}, puts{0}, manifest_gets{0}, manifest_puts{0}, tag_lists{0};
  std::function<void()> before_stat;

 private:
  Store& inner_;
};

std::string pattern(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

// Every kind of entry a snapshot must carry. `umask_like` changes the modes
// the way another machine's umask would (exec bit kept).
void make_sample_tree(const fs::path& dir, bool umask_like = false) {
  const mode_t plain = umask_like ? 0600 : 0664, exec = umask_like ? 0700 : 0775;
  write_file(dir / "README.md", "hello\n", plain);
  write_file(dir / "bin/run.sh", "#!/bin/sh\necho hi\n", exec);
  write_file(dir / "big.bin", pattern(300 * 1024, 7), plain);
  write_file(dir / "empty.txt", "", plain);
  write_file(dir / std::string("caf\xe9-latin1.txt"), "not utf-8 name\n", plain);
  for (int d = 0; d < 3; ++d) {
    for (int i = 0; i < 40; ++i) {
      write_file(dir / ("src" + std::to_string(d)) / ("f" + std::to_string(i) + ".py"),
                 pattern(20 * 1024 + i, static_cast<uint64_t>(d * 100 + i)), plain);
    }
  }
  fs::create_directories(dir / "empty/nested");
  fs::create_symlink("README.md", dir / "link-to-readme");
  fs::create_symlink("does/not/exist", dir / "dangling");
  fs::create_symlink("/etc/hostname", dir / "bin/outside");
}

// Moves every mtime an hour back so the stat cache's racy rule does not
// force rehashing files written during the test.
void age_tree(const fs::path& dir) {
  const auto past = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& item : fs::recursive_directory_iterator(dir)) {
    if (item.is_regular_file() && !item.is_symlink()) {
      fs::last_write_time(item.path(), past);
    }
  }
}

// Asserts both directories hold the same entries: type, content, exec bit,
// link targets, empty directories.
void expect_same_tree(const fs::path& a, const fs::path& b) {
  const WalkResult wa = list_tree_for_test(a), wb = list_tree_for_test(b);
  ASSERT_EQ(wa.entries.size(), wb.entries.size());
  for (size_t i = 0; i < wa.entries.size(); ++i) {
    const SourceEntry &x = wa.entries[i], &y = wb.entries[i];
    ASSERT_EQ(x.path, y.path);
    EXPECT_EQ(x.type, y.type) << x.path;
    EXPECT_EQ(x.link_target, y.link_target) << x.path;
    if (x.type == EntryType::File) {
      EXPECT_EQ((x.mode & 0100) != 0, (y.mode & 0100) != 0) << x.path;
      EXPECT_EQ(slurp(a / x.path), slurp(b / y.path)) << x.path;
    }
  }
}

PushOptions options_with_cache(const fs::path& cache) {
  PushOptions o;
  o.cache_dir = cache;
  o.workers = 2;
  o.annotations = {{"azureml.git.commit", "0123abcd"}, {"mlflow.source.git.branch", "main"}};
  return o;
}

PushResult push_dir(const fs::path& dir, Store& store, const PushOptions& options) {
  WalkResult walk = list_tree_for_test(dir);
  return push_snapshot(dir, walk, store, options);
}

// The full round trip and its counts, shared by the layout and registry tests.
void round_trip(Store& store, const fs::path& work) {
  const fs::path src = work / "src", cache = work / "cache";
  make_sample_tree(src);
  age_tree(src);
  const PushResult pushed = push_dir(src, store, options_with_cache(cache));
  EXPECT_EQ(pushed.tag, "snapshot-" + pushed.id.hex());
  EXPECT_EQ(pushed.files, 5u + 120u + 0u);  // README, run.sh, big, empty, latin1 + 120
  EXPECT_EQ(pushed.symlinks, 3u);
  EXPECT_EQ(pushed.directories, 1u);                   // empty/nested
  EXPECT_EQ(pushed.uploaded_files, pushed.files - 1);  // the empty file lives in no blob
  EXPECT_GT(pushed.uploaded_blobs, 4u);

  const SnapshotInfo info = read_snapshot(store, pushed.tag);
  EXPECT_EQ(info.id, pushed.id);
  EXPECT_EQ(info.annotations.at("azureml.git.commit"), "0123abcd");
  EXPECT_EQ(info.total_bytes, pushed.bytes);
  EXPECT_EQ(read_snapshot(store, pushed.id.str()).files.size(), info.files.size());
  EXPECT_EQ(read_snapshot(store, pushed.id.hex().substr(0, 12)).id, pushed.id);
  const auto listed = list_snapshots(store);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, pushed.id);

  std::set<Digest> packs;
  for (const auto& f : info.files) {
    if (!f.pack.empty()) packs.insert(f.pack);
  }
  EXPECT_GE(packs.size(), 3u);  // 2.4 MB of small files in 3 dirs: packs per directory

  const RestoreResult restored = restore_snapshot(store, info, work / "out", 2);
  EXPECT_EQ(restored.files, pushed.files);
  EXPECT_EQ(restored.symlinks, 3u);
  EXPECT_EQ(restored.directories, 1u);
  expect_same_tree(src, work / "out");
  struct stat st {};
  ASSERT_EQ(::stat((work / "out/bin/run.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  ASSERT_EQ(::stat((work / "out/README.md").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);

  // Unchanged: one request (the tag lookup), nothing uploaded or hashed.
  CountingStore counting(store);
  const PushResult again = push_dir(src, counting, options_with_cache(cache));
  EXPECT_EQ(again.id, pushed.id);
  EXPECT_EQ(again.uploaded_blobs, 0u);
  EXPECT_EQ(again.hashing.files_hashed, 0u);
  EXPECT_EQ(counting.total(), 1);
}

}  // namespace

TEST(SnapshotStore, LayoutRoundTrip) {
  TempDir work;
  LayoutStore store(work.path() / "store");
  round_trip(store, work.path());
}

TEST(SnapshotStore, RegistryRoundTripWithBasicAuthAndSkopeo) {
  RegistryFixture registry({RegistryAuth::Basic});
  RegistryOptions options;
  options.docker_config_dir = registry.docker_config_dir();
  options.backoff_base = std::chrono::milliseconds(20);
  RegistryStore store({registry.host(), "team/code"}, options);
  TempDir work;
  round_trip(store, work.path());

  // skopeo, an independent client, reads the root as an OCI index.
  const std::string tag = list_snapshots(store).at(0).tag;
  const ProcessResult r =
      run_process({"skopeo", "inspect", "--raw", "--tls-verify=false",
                   "--creds=" + registry.options().user + ":" + registry.options().password,
                   "docker://" + registry.host() + "/team/code:" + tag},
                  {}, std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto root = nlohmann::json::parse(r.out);
  EXPECT_EQ(root["mediaType"], media::kOciIndex);
  EXPECT_EQ(root["artifactType"], kSnapshotArtifactType);
  EXPECT_FALSE(root["manifests"].empty());
}

TEST(SnapshotStore, SameTreeSameIdAnywhere) {
  TempDir work;
  LayoutStore store(work.path() / "store");
  make_sample_tree(work.path() / "a");
  make_sample_tree(work.path() / "b", /*umask_like=*/true);
  age_tree(work.path() / "b");  // different mtimes too
  PushOptions options;
  options.annotations = {{"k", "v"}};
  const PushResult a = push_dir(work.path() / "a", store, options);
  const PushResult b = push_dir(work.path() / "b", store, options);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(b.uploaded_blobs, 0u);
  write_file(work.path() / "b/bin/run.sh", "#!/bin/sh\necho hi\n", 0644);  // exec bit dropped
  EXPECT_NE(push_dir(work.path() / "b", store, options).id, a.id);
}

// The tree memo: an unchanged walk answers without the stat cache or any
// hashing; an edit that keeps size and mtime still shows (ctime); another
// store without the snapshot gets a full push; a racy file disables it.
TEST(SnapshotStore, UnchangedWalkIsAnsweredByTheTreeMemoAndEveryChangeShows) {
  TempDir work;
  LayoutStore store(work.path() / "store");
  const fs::path src = work.path() / "src", cache = work.path() / "cache";
  make_sample_tree(src);
  age_tree(src);
  const PushResult first = push_dir(src, store, options_with_cache(cache));
  ASSERT_TRUE(fs::exists(TreeMemo::file_for(cache, fs::canonical(src))));

  CountingStore counting(store);
  const PushResult again = push_dir(src, counting, options_with_cache(cache));
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(again.files, first.files);
  EXPECT_EQ(again.bytes, first.bytes);
  EXPECT_EQ(again.symlinks, first.symlinks);
  EXPECT_EQ(again.directories, first.directories);
  EXPECT_EQ(again.hashing.cache_hits + again.hashing.files_hashed, 0u);  // not even looked up
  EXPECT_EQ(counting.total(), 1);

  // Same size, same mtime, other bytes: only ctime tells.
  const fs::path edited = src / "src1" / "f7.py";
  const auto mtime = fs::last_write_time(edited);
  std::string bytes = slurp(edited);
  bytes[0] = static_cast<char>(bytes[0] ^ 1);
  write_file(edited, bytes, 0664);
  fs::last_write_time(edited, mtime);
  const PushResult edit = push_dir(src, store, options_with_cache(cache));
  EXPECT_NE(edit.id, first.id);
  EXPECT_EQ(edit.hashing.files_hashed, 1u);

  // A store that lacks the snapshot: the memo names the root, the tag lookup
  // misses, and everything is uploaded.
  LayoutStore other(work.path() / "other");
  const PushResult elsewhere = push_dir(src, other, options_with_cache(cache));
  EXPECT_EQ(elsewhere.id, edit.id);
  EXPECT_GT(elsewhere.uploaded_blobs, 4u);
  EXPECT_EQ(read_snapshot(other, elsewhere.tag).files.size(),
            read_snapshot(store, edit.tag).files.size());

  // A file stamped later than the memo was written may change unseen: every
  // push reads it again.
  fs::last_write_time(src / "README.md", fs::file_time_type::clock::now() + std::chrono::hours(1));
  push_dir(src, store, options_with_cache(cache));
  const PushResult racy = push_dir(src, store, options_with_cache(cache));
  EXPECT_EQ(racy.hashing.files_hashed, 1u);
}

TEST(SnapshotStore, EditingThreeSmallFilesUploadsTheirPacksOnly) {
  TempDir work;
  LayoutStore store(work.path() / "store");
  const fs::path src = work.path() / "src", cache = work.path() / "cache";
  for (int d = 0; d < 10; ++d) {
    for (int i = 0; i < 100; ++i) {
      write_file(src / ("d" + std::to_string(d)) / ("f" + std::to_string(i)),
                 pattern(20 * 1024, static_cast<uint64_t>(d * 1000 + i)));
    }
  }
  age_tree(src);
  const PushResult first = push_dir(src, store, options_with_cache(cache));
  EXPECT_EQ(first.bytes, 1000u * 20 * 1024);

  for (int i : {3, 50, 97})
    write_file(src / "d4" / ("f" + std::to_string(i)), pattern(20 * 1024, 5));
  CountingStore counting(store);
  PushOptions options = options_with_cache(cache);
  std::atomic<uint64_t> last_done{0}, last_total{0};
  options.progress = [&](uint64_t done, uint64_t total) {
    last_done = done;
    last_total = total;
  };
  const PushResult second = push_dir(src, counting, options);
  EXPECT_GT(last_total.load(), 0u);
  EXPECT_EQ(last_done.load(), last_total.load());
  EXPECT_NE(second.id, first.id);
  // At most the three packs holding the edits (each <= 4 MiB, ~1 MiB
  // expected) plus two tree nodes (d4 and the root); never the 20 MB tree.
  EXPECT_LE(second.uploaded_blobs, 5u);
  EXPECT_LE(second.uploaded_bytes, 3u * kPackMaxBytes);
  EXPECT_LT(second.uploaded_bytes, first.bytes / 4);
  EXPECT_GE(second.uploaded_files, 3u);
  // Only new blobs are checked: the previous snapshot vouches for the rest.
  EXPECT_EQ(counting.stats.load(), static_cast<int>(second.uploaded_blobs));
  EXPECT_EQ(read_snapshot(store, second.tag).files.size(), 1000u);
}

TEST(SnapshotStore, FileChangedAfterHashingIsRefusedAndNothingTagged) {
  TempDir work;
  LayoutStore store(work.path() / "store");
  const fs::path src = work.path() / "src";
  make_sample_tree(src);
  CountingStore counting(store);
  std::atomic<bool> edited{false};
  counting.before_stat = [&] {
    if (!edited.exchange(true)) write_file(src / "big.bin", pattern(300 * 1024, 8));
  };
  std::string message;
  EXPECT_EQ(kind_of([&] { push_dir(src, counting, PushOptions{}); }, &message),
            ErrorKind::BadInput);
  EXPECT_NE(message.find("big.bin changed while the snapshot was being taken"), std::string::npos)
      << message;
  EXPECT_TRUE(list_snapshots(store).empty());
  EXPECT_TRUE(store.list_tags().empty());
}

TEST(SnapshotStore, ManySmallFilesStayWithinManifestLimits) {
  TempDir work;
  LayoutStore store(work.path() / "store");
  const fs::path src = work.path() / "src";
  for (int d = 0; d < 50; ++d) {
    for (int i = 0; i < 100; ++i) {
      write_file(src / ("pkg" + std::to_string(d)) / ("m" + std::to_string(i) + ".py"),
                 "x = " + std::to_string(d * 100 + i) + "\n");
    }
  }
  const PushResult pushed = push_dir(src, store, PushOptions{});
  EXPECT_EQ(pushed.files, 5000u);
  // Tiny files rarely cut a pack: about one pack per directory, plus 51 tree
  // nodes and the config, instead of 5000 blobs.
  EXPECT_LE(pushed.uploaded_blobs, 2u * 50u + 51u + 1u);
  const ManifestBytes root = store.get_manifest(pushed.tag);
  EXPECT_LT(root.bytes.size(), kMaxManifestBytes);
  for (const auto& chunk : parse_snapshot_root(root, "root").chunks) {
    const ManifestBytes m = store.get_manifest(chunk.digest.str());
    EXPECT_LT(m.bytes.size(), kMaxManifestBytes);
    EXPECT_LE(ImageManifest::parse(m).layers.size(), kMaxChunkLayers);
  }
  const SnapshotInfo info = read_snapshot(store, pushed.tag);
  restore_snapshot(store, info, work.path() / "out");
  expect_same_tree(src, work.path() / "out");
}

TEST(SnapshotStore, HostileSnapshotsWriteNothingOutside) {
  TempDir work;
  LayoutStore store(work.path() / "store");
  const fs::path outside = work.path() / "outside";
  fs::create_directories(outside);

  // A symlink to a directory outside, then a file "through" it.
  SnapshotInfo trick;
  SnapshotFile link;
  link.path = "a";
  link.type = EntryType::Symlink;
  link.link_target = outside.string();
  SnapshotFile through;
  through.path = "a/x";
  through.sha256 = Digest::sha256_of("");
  trick.files = {link, through};
  std::string message;
  EXPECT_EQ(kind_of([&] { restore_snapshot(store, trick, work.path() / "dest1"); }, &message),
            ErrorKind::BadInput);
  EXPECT_NE(message.find("not a directory"), std::string::npos) << message;
  SnapshotInfo dotdot;
  through.path = "../x";
  dotdot.files = {through};
  EXPECT_EQ(kind_of([&] { restore_snapshot(store, dotdot, work.path() / "dest2"); }),
            ErrorKind::BadInput);
  EXPECT_TRUE(fs::is_empty(outside));

  // A pushed tree node naming "../x" is refused when read.
  const std::string node = "{\"entries\":[{\"digest\":\"" + Digest::sha256_of("").str() +
                           "\",\"name\":\"../x\",\"size\":0,\"type\":\"file\"}],\"packs\":[]}";
  const Descriptor node_d = blob_descriptor(kTreeMediaType, Digest::sha256_of(node), node.size());
  MemoryBlobReader node_r(node);
  store.put_blob(node_d, node_r);
  const ManifestBytes root =
      encode_root_index({}, {{std::string(kTreeAnnotation), node_d.digest.str()},
                             {std::string(kTreeSizeAnnotation), std::to_string(node.size())}});
  store.put_manifest(root, "snapshot-" + root.digest.hex());
  EXPECT_EQ(kind_of([&] { read_snapshot(store, root.digest.str()); }, &message),
            ErrorKind::BadInput);
  EXPECT_NE(message.find("invalid entry name"), std::string::npos) << message;

  // A non-empty destination is refused; a plain image is not a snapshot.
  write_file(work.path() / "full/keep", "x");
  SnapshotInfo empty;
  EXPECT_EQ(kind_of([&] { restore_snapshot(store, empty, work.path() / "full"); }),
            ErrorKind::BadInput);
  EXPECT_EQ(kind_of([&] { read_snapshot(store, "no-such-tag"); }), ErrorKind::NotFound);
}

TEST(SnapshotStore, DiffAgainstADirectory) {
  TempDir work;
  LayoutStore store(work.path() / "store");
  const fs::path src = work.path() / "src";
  make_sample_tree(src);
  const PushResult pushed = push_dir(src, store, PushOptions{});
  write_file(src / "README.md", "changed\n");
  fs::permissions(src / "bin/run.sh", fs::perms::owner_exec, fs::perm_options::remove);
  fs::remove(src / "link-to-readme");
  fs::create_symlink("big.bin", src / "link-to-readme");
  fs::remove(src / "empty.txt");
  write_file(src / "new.txt", "new\n");
  WalkResult walk = list_tree_for_test(src);
  StatCache cache;
  const HashedTree hashes = hash_tree(src, walk, cache, 2);
  const SnapshotDiff d =
      diff_snapshots(read_snapshot(store, pushed.tag).files, files_of_walk(walk, hashes));
  EXPECT_EQ(d.added, std::vector<std::string>{"new.txt"});
  EXPECT_EQ(d.removed, std::vector<std::string>{"empty.txt"});
  EXPECT_EQ(d.modified, (std::vector<std::string>{"README.md", "bin/run.sh", "link-to-readme"}));
}
