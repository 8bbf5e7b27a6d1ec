#include "registry/layer_reader.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "registry/compress_stream.hpp"
#include "registry/error.hpp"
#include "registry/layer_writer.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

using envbuild::Error;
using envbuild::ErrorKind;
using TempDir = envbuild::testing::TempDir;
using namespace envbuild::registry;
namespace fs = std::filesystem;

namespace {

using envbuild::testing::slurp;

constexpr std::string_view kGzip = "application/vnd.oci.image.layer.v1.tar+gzip";

void spit(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary);
  out << data;
}

// One raw tar entry, written verbatim (no sanitizing) so tests can craft
// hostile archives.
struct Raw {
  std::string path;
  unsigned type = AE_IFREG;
  std::string data;
  std::string symlink;
  std::string hardlink;
  unsigned perm = 0644;
  int64_t size = -1;  // declared size; -1: data.size()
};

Raw F(std::string path, std::string data = "") {
  Raw r;
  r.path = std::move(path);
  r.data = std::move(data);
  return r;
}
Raw D(std::string path) {
  Raw r;
  r.path = std::move(path);
  r.type = AE_IFDIR;
  r.perm = 0755;
  return r;
}
Raw S(std::string path, std::string target) {
  Raw r;
  r.path = std::move(path);
  r.type = AE_IFLNK;
  r.symlink = std::move(target);
  r.size = 0;
  return r;
}
Raw H(std::string path, std::string target) {
  Raw r;
  r.path = std::move(path);
  r.hardlink = std::move(target);
  r.size = 0;
  return r;
}
Raw N(std::string path, unsigned type) {
  Raw r;
  r.path = std::move(path);
  r.type = type;
  r.size = 0;
  return r;
}

la_ssize_t append_cb(struct archive*, void* ctx, const void* buf, size_t n) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

std::string make_tar(const std::vector<Raw>& entries) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open(a, &out, nullptr, append_cb, nullptr);
  for (const Raw& r : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, r.path.c_str());
    archive_entry_set_filetype(e, r.type);
    archive_entry_set_perm(e, r.perm);
    archive_entry_set_mtime(e, 777, 0);
    if (!r.symlink.empty()) archive_entry_copy_symlink(e, r.symlink.c_str());
    if (!r.hardlink.empty()) archive_entry_copy_hardlink(e, r.hardlink.c_str());
    archive_entry_set_size(e, r.size >= 0 ? r.size : static_cast<int64_t>(r.data.size()));
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (!r.data.empty()) archive_write_data(a, r.data.data(), r.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

struct StringSink : ByteSink {
  std::string out;
  void write(const char* d, size_t n) override { out.append(d, n); }
};

std::string compress(const std::string& tar, Codec codec) {
  StringSink sink;
  auto c = make_compressor(codec, -1, sink);
  c->write(tar.data(), tar.size());
  c->finish();
  return sink.out;
}

ApplyStats apply_blob(const std::string& blob, const fs::path& root, ApplyOptions opts = {},
                      std::string_view media_type = kGzip) {
  MemoryBlobReader reader(blob);
  return apply_layer(reader, media_type, root, opts);
}

// Expects apply to throw BadInput mentioning `needle`.
void expect_refused(const std::string& blob, const fs::path& root, const std::string& needle,
                    ApplyOptions opts = {}) {
  try {
    apply_blob(blob, root, opts);
    ADD_FAILURE() << "accepted a layer that should be refused: " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

bool empty_dir(const fs::path& p) { return fs::is_empty(p); }

}  // namespace

TEST(LayerReader, RoundTripsAWrittenLayer) {
  TempDir src, out, root;
  fs::create_directories(src.path() / "bin");
  fs::create_directories(src.path() / "empty");
  spit(src.path() / "bin/tool", "#!/bin/sh\n");
  ::chmod((src.path() / "bin/tool").c_str(), 0755);
  spit(src.path() / "bin/a", "shared");
  fs::create_hard_link(src.path() / "bin/a", src.path() / "bin/b");
  fs::create_symlink("/etc/passwd", src.path() / "abs-link");
  spit(src.path() / "caf\xc3\xa9", "utf8 name");
  spit(src.path() / "raw\xff", "non-utf8 name");
  for (auto compression : {LayerOptions::Compression::Gzip, LayerOptions::Compression::Zstd,
                           LayerOptions::Compression::None}) {
    LayerOptions opts;
    opts.compression = compression;
    opts.source_date_epoch = 1600000000;
    LayerInfo info = write_layer_from_directory(src.path(), out.path() / "l", opts);
    fs::path dest = root.path() / std::to_string(static_cast<int>(compression));
    fs::create_directories(dest);
    FileBlobReader reader(out.path() / "l");
    ApplyStats stats = apply_layer(reader, info.blob.media_type, dest, {});
    EXPECT_EQ(stats.diff_id, info.diff_id);
    EXPECT_EQ(stats.uncompressed_size, info.uncompressed_size);
    EXPECT_EQ(stats.entries, info.entry_count);
    EXPECT_EQ(slurp(dest / "bin/tool"), "#!/bin/sh\n");
    EXPECT_EQ(fs::status(dest / "bin/tool").permissions(), fs::perms(0755));
    EXPECT_EQ(fs::status(dest / "bin/a").permissions(), fs::perms(0644));
    EXPECT_TRUE(fs::equivalent(dest / "bin/a", dest / "bin/b"));
    EXPECT_EQ(fs::read_symlink(dest / "abs-link").string(), "/etc/passwd");
    EXPECT_TRUE(fs::is_directory(dest / "empty"));
    EXPECT_EQ(slurp(dest / "caf\xc3\xa9"), "utf8 name");
    EXPECT_EQ(slurp(dest / "raw\xff"), "non-utf8 name");
    struct stat st {};
    ASSERT_EQ(::stat((dest / "bin").c_str(), &st), 0);
    EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
    ASSERT_EQ(::stat((dest / "bin/tool").c_str(), &st), 0);
    EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  }
}

TEST(LayerReader, RefusesDotDotAndAbsolutePaths) {
  TempDir tmp;
  fs::path root = tmp.path() / "root";
  fs::create_directories(root);
  expect_refused(compress(make_tar({F("../evil", "x")}), Codec::Gzip), root, "../evil");
  expect_refused(compress(make_tar({F("a/../../evil", "x")}), Codec::Gzip), root, "..");
  expect_refused(compress(make_tar({F("/abs", "x")}), Codec::Gzip), root, "/abs");
  EXPECT_FALSE(fs::exists(tmp.path() / "evil"));
  EXPECT_TRUE(empty_dir(root));
}

TEST(LayerReader, NeverWritesThroughSymlinks) {
  TempDir tmp;
  fs::path root = tmp.path() / "root";
  fs::path outside = tmp.path() / "outside";
  fs::create_directories(root);
  fs::create_directories(outside);
  // Symlink made by this layer, then a write through it.
  expect_refused(
      compress(make_tar({S("a", outside.string()), F("a/passwd", "pwned")}), Codec::Gzip), root,
      "a/passwd");
  expect_refused(compress(make_tar({S("up", "../.."), F("up/evil", "pwned")}), Codec::Gzip), root,
                 "up/evil");
  // Symlink left by a lower layer.
  fs::create_symlink(outside, root / "lower");
  expect_refused(compress(make_tar({F("lower/x", "pwned")}), Codec::Gzip), root, "lower/x");
  // A directory entry over a lower symlink replaces the link, not its target.
  apply_blob(compress(make_tar({D("lower"), F("lower/x", "safe")}), Codec::Gzip), root);
  EXPECT_FALSE(fs::is_symlink(root / "lower"));
  EXPECT_EQ(slurp(root / "lower/x"), "safe");
  // A file entry over a symlink replaces the link.
  fs::create_symlink(outside / "target", root / "f");
  apply_blob(compress(make_tar({F("f", "mine")}), Codec::Gzip), root);
  EXPECT_FALSE(fs::is_symlink(root / "f"));
  EXPECT_TRUE(empty_dir(outside));
}

TEST(LayerReader, RefusesEscapingHardlinks) {
  TempDir tmp;
  fs::path root = tmp.path() / "root";
  fs::path outside = tmp.path() / "outside";
  fs::create_directories(root);
  fs::create_directories(outside);
  spit(outside / "secret", "s");
  expect_refused(compress(make_tar({H("h", "../../etc/passwd")}), Codec::Gzip), root, "..");
  expect_refused(compress(make_tar({H("h", "/etc/passwd")}), Codec::Gzip), root, "/etc/passwd");
  expect_refused(
      compress(make_tar({S("via", outside.string()), H("h", "via/secret")}), Codec::Gzip), root,
      "via");
  EXPECT_FALSE(fs::exists(root / "h"));
  // A hardlink inside the layer works.
  apply_blob(compress(make_tar({F("f", "x"), H("g", "f")}), Codec::Gzip), root);
  EXPECT_TRUE(fs::equivalent(root / "f", root / "g"));
}

TEST(LayerReader, AppliesWhiteouts) {
  TempDir tmp;
  fs::path root = tmp.path();
  fs::create_directories(root / "dir/sub");
  fs::create_directories(root / "opq/olddir");
  spit(root / "keep", "k");
  spit(root / "gone", "g");
  spit(root / "dir/sub/file", "f");
  spit(root / "opq/old", "o");
  spit(root / "opq/olddir/x", "x");
  ApplyStats stats = apply_blob(
      compress(make_tar({F(".wh.gone"), F(".wh.dir"), D("opq"), F("opq/.a", "before marker"),
                         F("opq/.wh..wh..opq"), F("opq/new", "n"), F("same", "s"), F(".wh.same"),
                         F(".wh.never-existed")}),
               Codec::Gzip),
      root);
  EXPECT_EQ(stats.whiteouts, 5u);
  EXPECT_TRUE(fs::exists(root / "keep"));
  EXPECT_FALSE(fs::exists(root / "gone"));
  EXPECT_FALSE(fs::exists(root / ".wh.gone"));
  EXPECT_FALSE(fs::exists(root / "dir"));
  EXPECT_FALSE(fs::exists(root / "opq/old"));
  EXPECT_FALSE(fs::exists(root / "opq/olddir"));
  EXPECT_FALSE(fs::exists(root / "opq/.wh..wh..opq"));
  EXPECT_EQ(slurp(root / "opq/.a"), "before marker");
  EXPECT_EQ(slurp(root / "opq/new"), "n");
  // A whiteout hides lower layers only, not this layer's own file.
  EXPECT_EQ(slurp(root / "same"), "s");
}

TEST(LayerReader, BoundsTarBombsAndEntryCounts) {
  TempDir tmp;
  std::string bomb = compress(make_tar({F("zeros", std::string(8 << 20, '\0'))}), Codec::Gzip);
  EXPECT_LT(bomb.size(), 64u << 10);
  ApplyOptions opts;
  opts.max_uncompressed_bytes = 1 << 20;
  expect_refused(bomb, tmp.path(), "limit", opts);

  std::vector<Raw> many;
  for (int i = 0; i < 20; ++i) many.push_back(F("f" + std::to_string(i), "x"));
  ApplyOptions few;
  few.max_entries = 10;
  expect_refused(compress(make_tar(many), Codec::Gzip), tmp.path(), "entries", few);
}

TEST(LayerReader, TruncatedOrCorruptStreamsGiveClearErrors) {
  TempDir tmp;
  std::string noise;
  for (int i = 0; i < 300000; ++i) noise += static_cast<char>((i * 2654435761u) >> 13);
  std::string tar = make_tar({F("big", noise), F("small", "s")});
  std::string gz = compress(tar, Codec::Gzip);
  fs::create_directories(tmp.path() / "g");
  expect_refused(gz.substr(0, gz.size() / 2), tmp.path() / "g", "truncated gzip");
  std::string zst = compress(tar, Codec::Zstd);
  fs::create_directories(tmp.path() / "z");
  expect_refused(zst.substr(0, zst.size() - 10), tmp.path() / "z", "truncated zstd");
  std::string corrupt = gz;
  corrupt[gz.size() / 2] ^= 0x55;
  fs::create_directories(tmp.path() / "c");
  expect_refused(corrupt, tmp.path() / "c", "gzip");
}

TEST(LayerReader, SniffsCompressionAndChecksMediaType) {
  TempDir tmp;
  std::string tar = make_tar({F("f", "plain")});
  // Uncompressed bytes under a gzip media type (seen in the wild) still work.
  ApplyStats s =
      apply_blob(tar, tmp.path(), {}, "application/vnd.docker.image.rootfs.diff.tar.gzip");
  EXPECT_EQ(s.diff_id, Digest::sha256_of(tar));
  EXPECT_EQ(slurp(tmp.path() / "f"), "plain");
  s = apply_blob(compress(tar, Codec::Zstd), tmp.path(), {}, "");
  EXPECT_EQ(s.diff_id, Digest::sha256_of(tar));
  try {
    apply_blob(tar, tmp.path(), {}, "application/json");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    EXPECT_NE(std::string(e.what()).find("application/json"), std::string::npos);
  }
}

TEST(LayerReader, SkipsSpecialFilesByDefault) {
  TempDir tmp;
  std::string tar = make_tar({N("fifo", AE_IFIFO), N("dev", AE_IFCHR), F("f", "x")});
  ApplyStats s = apply_blob(tar, tmp.path());
  EXPECT_EQ(s.skipped_special, 2u);
  EXPECT_FALSE(fs::exists(tmp.path() / "fifo"));
  EXPECT_FALSE(fs::exists(tmp.path() / "dev"));
  EXPECT_TRUE(fs::exists(tmp.path() / "f"));
}
