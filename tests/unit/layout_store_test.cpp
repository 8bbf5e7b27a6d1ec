#include "registry/layout_store.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "registry/atomic_file.hpp"
#include "registry/default_store.hpp"
#include "registry/descriptor_json.hpp"
#include "registry/error.hpp"
#include "registry/media_types.hpp"
#include "registry/store_maintenance.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::registry;
namespace fs = std::filesystem;

namespace {

using envbuild::testing::slurp;

void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

Descriptor describe_bytes(std::string_view media_type, const std::string& data) {
  Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = Digest::sha256_of(data);
  d.size = static_cast<int64_t>(data.size());
  return d;
}

Descriptor put(LayoutStore& store, std::string_view media_type, const std::string& data) {
  Descriptor d = describe_bytes(media_type, data);
  MemoryBlobReader reader(data);
  store.put_blob(d, reader);
  return d;
}

ManifestBytes image_manifest(const Descriptor& config, const std::vector<Descriptor>& layers) {
  nlohmann::ordered_json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = media::kOciManifest;
  j["config"] = descriptor_to_json(config);
  j["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : layers) j["layers"].push_back(descriptor_to_json(l));
  ManifestBytes m;
  m.media_type = std::string(media::kOciManifest);
  m.bytes = j.dump();
  m.digest = Digest::sha256_of(m.bytes);
  return m;
}

// A small image whose layer content is `layer`; returns its manifest.
ManifestBytes put_image(LayoutStore& store, const std::string& layer) {
  Descriptor config = put(store, media::kOciConfig, R"({"architecture":"amd64","os":"linux"})");
  Descriptor l = put(store, media::kOciLayerGzip, layer);
  return image_manifest(config, {l});
}

size_t files_in(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

void flip_first_byte(const fs::path& p) {
  std::string s = slurp(p);
  s[0] = static_cast<char>(s[0] ^ 0x20);
  spit(p, s);
}

// Moves a file's mtime an hour back, past any gc grace period under test.
void age(const fs::path& p) {
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = ::time(nullptr) - 3600;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0);
}

class ThrowingReader : public BlobReader {
 public:
  size_t read(char*, size_t) override { throw Error(ErrorKind::Internal, "must not be read"); }
  void seek(uint64_t) override {}
  uint64_t size() const override { return 0; }
};

template <typename F>
std::string error_of(F&& f, ErrorKind expected_kind) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), expected_kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return {};
}

}  // namespace

TEST(LayoutStore, CreatesLayoutAndReopensIt) {
  envbuild::testing::TempDir tmp;
  fs::path dir = tmp.path() / "store";
  { LayoutStore store(dir); }
  auto layout = nlohmann::json::parse(slurp(dir / "oci-layout"));
  EXPECT_EQ(layout["imageLayoutVersion"], "1.0.0");
  auto index = nlohmann::json::parse(slurp(dir / "index.json"));
  EXPECT_EQ(index["schemaVersion"], 2);
  EXPECT_EQ(index["mediaType"], media::kOciIndex);
  EXPECT_TRUE(index["manifests"].empty());
  EXPECT_TRUE(fs::is_directory(dir / "blobs" / "sha256"));
  LayoutStore again(dir);
  EXPECT_TRUE(again.list_tags().empty());
  EXPECT_EQ(again.describe(), "oci:" + dir.string());
}

TEST(LayoutStore, RefusesForeignDirectoryWithoutTouchingIt) {
  envbuild::testing::TempDir tmp;
  spit(tmp.path() / "notes.txt", "mine");
  std::string msg = error_of([&] { LayoutStore store(tmp.path()); }, ErrorKind::BadInput);
  EXPECT_NE(msg.find(tmp.path().string()), std::string::npos) << msg;
  EXPECT_EQ(files_in(tmp.path()), 1u);

  spit(tmp.path() / "file", "x");
  error_of([&] { LayoutStore store(tmp.path() / "file"); }, ErrorKind::BadInput);
}

TEST(LayoutStore, MalformedLayoutFilesNameTheFile) {
  envbuild::testing::TempDir tmp;
  { LayoutStore store(tmp.path()); }
  spit(tmp.path() / "index.json", R"({"schemaVersion":2,"manifests":[{"mediaType":"x"}]})");
  std::string msg = error_of([&] { LayoutStore store(tmp.path()); }, ErrorKind::BadInput);
  EXPECT_NE(msg.find((tmp.path() / "index.json").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("digest"), std::string::npos) << msg;

  spit(tmp.path() / "index.json", "{not json");
  msg = error_of([&] { LayoutStore store(tmp.path()); }, ErrorKind::BadInput);
  EXPECT_NE(msg.find("index.json"), std::string::npos) << msg;

  spit(tmp.path() / "index.json", R"({"schemaVersion":2,"manifests":[]})");
  spit(tmp.path() / "oci-layout", R"({"imageLayoutVersion":7})");
  msg = error_of([&] { LayoutStore store(tmp.path()); }, ErrorKind::BadInput);
  EXPECT_NE(msg.find("oci-layout"), std::string::npos) << msg;
}

TEST(LayoutStore, PutsAndReadsBlobs) {
  envbuild::testing::TempDir tmp;
  LayoutStore store(tmp.path());
  Descriptor d = put(store, media::kOciLayerGzip, "layer bytes");
  EXPECT_EQ(store.stat_blob(d.digest), 11);
  EXPECT_TRUE(store.has_blob(d.digest));
  EXPECT_EQ(slurp(tmp.path() / "blobs" / "sha256" / d.digest.hex()), "layer bytes");
  auto reader = store.open_blob(d);
  EXPECT_EQ(read_all(*reader, 1024), "layer bytes");
  EXPECT_FALSE(store.stat_blob(Digest::sha256_of("absent")).has_value());
  error_of([&] { store.open_blob(describe_bytes("x", "absent")); }, ErrorKind::NotFound);
}

TEST(LayoutStore, RejectsMismatchedBlobAndLeavesNothing) {
  envbuild::testing::TempDir tmp;
  LayoutStore store(tmp.path());
  Descriptor d = describe_bytes(media::kOciLayerGzip, "expected");
  MemoryBlobReader wrong("different");
  std::string msg = error_of([&] { store.put_blob(d, wrong); }, ErrorKind::BadInput);
  EXPECT_NE(msg.find(d.digest.str()), std::string::npos) << msg;

  MemoryBlobReader longer("expected plus more");
  error_of([&] { store.put_blob(d, longer); }, ErrorKind::BadInput);
  Descriptor short_size = d;
  short_size.size = 100;
  MemoryBlobReader exact("expected");
  error_of([&] { store.put_blob(short_size, exact); }, ErrorKind::BadInput);

  EXPECT_FALSE(store.has_blob(d.digest));
  EXPECT_EQ(files_in(tmp.path() / "blobs" / "sha256"), 0u);
}

TEST(LayoutStore, ExistingBlobIsNotReadAgainButACorruptOneIsReplaced) {
  envbuild::testing::TempDir tmp;
  LayoutStore store(tmp.path());
  Descriptor d = put(store, media::kOciLayerGzip, "content");
  ThrowingReader never_read;
  store.put_blob(d, never_read);

  // A truncated file under the name is rewritten from good content.
  spit(store.blob_path(d.digest), "cont");
  MemoryBlobReader good("content");
  store.put_blob(d, good);
  EXPECT_EQ(slurp(store.blob_path(d.digest)), "content");
}

TEST(LayoutStore, CorruptBlobIsDetectedOnReadAndByVerify) {
  envbuild::testing::TempDir tmp;
  LayoutStore store(tmp.path());
  ManifestBytes m = put_image(store, "layer to corrupt");
  store.put_manifest(m, "v1");
  Descriptor layer = manifest_children(m).blobs[1];
  EXPECT_TRUE(verify(store).ok());

  flip_first_byte(store.blob_path(layer.digest));
  auto reader = store.open_blob(layer);
  std::string msg = error_of([&] { read_all(*reader, 1 << 20); }, ErrorKind::BadInput);
  EXPECT_NE(msg.find(layer.digest.str()), std::string::npos) << msg;

  VerifyReport report = verify(store);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("corrupt blob " + layer.digest.str()), std::string::npos);
  EXPECT_EQ(report.blobs_checked, 3u);
  EXPECT_EQ(report.manifests_checked, 1u);
}

TEST(LayoutStore, ManifestsByTagAndDigest) {
  envbuild::testing::TempDir tmp;
  LayoutStore store(tmp.path());
  ManifestBytes m = put_image(store, "layer");
  Digest d = store.put_manifest(m, "team/env:v1");
  EXPECT_EQ(d, m.digest);

  ManifestBytes by_tag = store.get_manifest("team/env:v1");
  EXPECT_EQ(by_tag.bytes, m.bytes);
  EXPECT_EQ(by_tag.digest, m.digest);
  EXPECT_EQ(by_tag.media_type, media::kOciManifest);
  ManifestBytes by_digest = store.get_manifest(m.digest.str());
  EXPECT_EQ(by_digest.bytes, m.bytes);
  EXPECT_EQ(by_digest.media_type, media::kOciManifest);

  // The index entry is what skopeo reads.
  auto index = nlohmann::json::parse(slurp(store.index_path()));
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0]["digest"], m.digest.str());
  EXPECT_EQ(index["manifests"][0]["size"], m.bytes.size());
  EXPECT_EQ(index["manifests"][0]["annotations"][std::string(kRefNameAnnotation)], "team/env:v1");

  EXPECT_FALSE(store.find_manifest("team/env:v2").has_value());
  EXPECT_FALSE(store.find_manifest(Digest::sha256_of("nothing").str()).has_value());
  error_of([&] { store.get_manifest("missing"); }, ErrorKind::NotFound);
}

TEST(LayoutStore, ManifestWithWrongDigestOrTypeIsRejected) {
  envbuild::testing::TempDir tmp;
  LayoutStore store(tmp.path());
  ManifestBytes m = put_image(store, "layer");
  ManifestBytes lying = m;
  lying.digest = Digest::sha256_of("other");
  error_of([&] { store.put_manifest(lying, "v1"); }, ErrorKind::BadInput);
  ManifestBytes not_manifest{"text/plain", "{}", Digest::sha256_of("{}")};
  error_of([&] { store.put_manifest(not_manifest, "v1"); }, ErrorKind::BadInput);
  EXPECT_TRUE(store.list_tags().empty());
  EXPECT_FALSE(store.has_blob(m.digest));
}

TEST(LayoutStore, TagReplacementAndListing) {
  envbuild::testing::TempDir tmp;
  LayoutStore store(tmp.path());
  ManifestBytes a = put_image(store, "a");
  ManifestBytes b = put_image(store, "b");
  store.put_manifest(a, "v1");
  store.put_manifest(a, "team/env:v1");
  store.put_manifest(b, "v1");
  EXPECT_EQ(store.get_manifest("v1").digest, b.digest);
  EXPECT_EQ(store.get_manifest("team/env:v1").digest, a.digest);
  EXPECT_EQ(store.list_tags(), (std::vector<std::string>{"team/env:v1", "v1"}));
  EXPECT_EQ(store.index_entries().size(), 2u);

  // Re-putting the same tag and manifest leaves index.json byte-identical.
  std::string before = slurp(store.index_path());
  store.put_manifest(b, "v1");
  EXPECT_EQ(slurp(store.index_path()), before);
}

TEST(LayoutStore, UntaggedManifestGetsOneRootUntilTagged) {
  envbuild::testing::TempDir tmp;
  LayoutStore store(tmp.path());
  ManifestBytes m = put_image(store, "layer");
  store.put_manifest(m, std::nullopt);
  store.put_manifest(m, std::nullopt);
  auto entries = store.index_entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_TRUE(entries[0].annotations.empty());
  EXPECT_TRUE(store.list_tags().empty());
  store.put_manifest(m, "v1");
  entries = store.index_entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].annotations.at(std::string(kRefNameAnnotation)), "v1");
}

TEST(LayoutStore, TagGrammar) {
  for (const char* ok : {"v1", "latest", "team/env:v1", "a--b", "A.b_c+d@e", "x/y/z:1.0-rc1"}) {
    EXPECT_TRUE(is_valid_ref_name(ok)) << ok;
  }
  for (const char* bad :
       {"", "a b", "-x", "x-", "x/", "/x", "a//b", "a---b", "a..b", "x\n", "../../etc"}) {
    EXPECT_FALSE(is_valid_ref_name(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_ref_name(std::string(2000, 'a')));

  envbuild::testing::TempDir tmp;
  LayoutStore store(tmp.path());
  ManifestBytes m = put_image(store, "layer");
  error_of([&] { store.put_manifest(m, "bad tag"); }, ErrorKind::BadInput);
  error_of([&] { store.put_manifest(m, m.digest.str()); }, ErrorKind::BadInput);
  error_of([&] { store.get_manifest("bad tag"); }, ErrorKind::BadInput);
}

TEST(LayoutStore, VerifyReportsDanglingReferencesByTag) {
  envbuild::testing::TempDir tmp;
  LayoutStore store(tmp.path());
  ManifestBytes m = put_image(store, "layer");
  store.put_manifest(m, "team/env:v1");
  Descriptor layer = manifest_children(m).blobs[1];
  fs::remove(store.blob_path(layer.digest));
  VerifyReport report = verify(store);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("team/env:v1"), std::string::npos) << report.problems[0];
  EXPECT_NE(report.problems[0].find("missing blob " + layer.digest.str()), std::string::npos);

  fs::remove(store.blob_path(m.digest));
  report = verify(store);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("missing manifest " + m.digest.str()), std::string::npos);
  // gc cannot know what a missing manifest kept, so it refuses.
  error_of([&] { gc(store, false, {std::chrono::seconds(0)}); }, ErrorKind::BadInput);
}

TEST(LayoutStore, VerifyFollowsIndexesAndReportsBadIndexJson) {
  envbuild::testing::TempDir tmp;
  LayoutStore store(tmp.path());
  ManifestBytes child = put_image(store, "layer");
  store.put_manifest(child, std::nullopt);
  nlohmann::ordered_json idx;
  idx["schemaVersion"] = 2;
  idx["mediaType"] = media::kOciIndex;
  Descriptor cd = describe_bytes(media::kOciManifest, child.bytes);
  idx["manifests"] = nlohmann::ordered_json::array({descriptor_to_json(cd)});
  ManifestBytes index{std::string(media::kOciIndex), idx.dump(), Digest::sha256_of(idx.dump())};
  store.put_manifest(index, "multi");
  VerifyReport report = verify(store);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.manifests_checked, 2u);
  EXPECT_EQ(report.blobs_checked, 4u);

  spit(store.index_path(), "[]");
  report = verify(store);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("index.json"), std::string::npos);
}

TEST(LayoutStore, GcRemovesOnlyUnreachable) {
  envbuild::testing::TempDir tmp;
  LayoutStore store(tmp.path());
  ManifestBytes old_image = put_image(store, "old layer");
  ManifestBytes new_image = put_image(store, "new layer");
  store.put_manifest(old_image, "v1");
  store.put_manifest(new_image, "v1");  // old manifest and old layer now unreachable
  Descriptor stray = put(store, media::kOciLayerGzip, "never referenced");
  fs::path abandoned = store.blobs_dir() / "sha256" / ".tmp-deadbeefdeadbeef";
  spit(abandoned, "partial");
  AtomicFile in_flight(store.blobs_dir() / "sha256" / "x");

  // Default grace: everything is fresh, so nothing is collected.
  GcReport fresh = gc(store, false);
  EXPECT_EQ(fresh.blobs_removed, 0u);
  EXPECT_EQ(fresh.kept_recent_blobs, 3u);
  EXPECT_EQ(fresh.temp_files_removed, 1u);
  EXPECT_FALSE(fs::exists(abandoned));
  EXPECT_TRUE(fs::exists(in_flight.temp_path()));

  for (const auto& e : fs::directory_iterator(store.blobs_dir() / "sha256")) age(e.path());
  GcReport dry = gc(store, true);
  EXPECT_EQ(dry.blobs_removed, 3u);
  EXPECT_TRUE(store.has_blob(stray.digest));

  GcReport real = gc(store, false);
  EXPECT_EQ(real.blobs_removed, 3u);
  EXPECT_EQ(real.bytes_freed, dry.bytes_freed);
  EXPECT_EQ(real.bytes_freed, old_image.bytes.size() + std::string("old layer").size() +
                                  std::string("never referenced").size());
  EXPECT_FALSE(store.has_blob(stray.digest));
  EXPECT_FALSE(store.has_blob(old_image.digest));
  EXPECT_TRUE(fs::exists(in_flight.temp_path()));
  EXPECT_EQ(store.get_manifest("v1").digest, new_image.digest);
  VerifyReport report = verify(store);
  EXPECT_TRUE(report.ok()) << report.problems[0];
  EXPECT_EQ(report.blobs_checked, 3u);
  EXPECT_EQ(gc(store, false, {std::chrono::seconds(0)}).blobs_removed, 0u);
}

TEST(LayoutStore, GcKeepsReferrersAndTheirSubjects) {
  envbuild::testing::TempDir tmp;
  LayoutStore store(tmp.path());
  ManifestBytes image = put_image(store, "layer");
  store.put_manifest(image, "v1");
  Descriptor sig = put(store, "application/vnd.example.sig", "signature");
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(
      image_manifest(put(store, media::kOciEmpty, "{}"), {sig}).bytes);
  j["subject"] = descriptor_to_json(describe_bytes(media::kOciManifest, image.bytes));
  ManifestBytes referrer{std::string(media::kOciManifest), j.dump(), Digest::sha256_of(j.dump())};
  store.put_manifest(referrer, "sha256-" + image.digest.hex());
  for (const auto& e : fs::directory_iterator(store.blobs_dir() / "sha256")) age(e.path());
  EXPECT_EQ(gc(store, false, {std::chrono::seconds(0)}).blobs_removed, 0u);
  EXPECT_TRUE(verify(store).ok());
}

TEST(DefaultStore, LocationPrecedence) {
  EXPECT_EQ(default_store_dir("/eb", "/xdg", "/home/u"), fs::path("/eb"));
  EXPECT_EQ(default_store_dir(nullptr, "/xdg", "/home/u"), fs::path("/xdg/envbuild"));
  EXPECT_EQ(default_store_dir("", "", "/home/u"), fs::path("/home/u/.local/share/envbuild"));
  EXPECT_EQ(default_store_dir(nullptr, "relative", "/home/u"),
            fs::path("/home/u/.local/share/envbuild"));
  error_of([] { default_store_dir(nullptr, nullptr, nullptr); }, ErrorKind::Internal);
}

TEST(DefaultStore, CacheLocationPrecedence) {
  EXPECT_EQ(default_cache_dir("/c", "/xdg", "/home/u"), fs::path("/c"));
  EXPECT_EQ(default_cache_dir(nullptr, "/xdg", "/home/u"), fs::path("/xdg/envbuild"));
  EXPECT_EQ(default_cache_dir("", "rel", "/home/u"), fs::path("/home/u/.cache/envbuild"));
  error_of([] { default_cache_dir(nullptr, nullptr, nullptr); }, ErrorKind::Internal);
}
