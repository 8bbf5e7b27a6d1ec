#include "registry/layer_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <clocale>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include "registry/digest.hpp"
#include "registry/error.hpp"
#include "registry/scoped_utf8_locale.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

using envbuild::Error;
using envbuild::ErrorKind;
using TempDir = envbuild::testing::TempDir;
using namespace envbuild::registry;
namespace fs = std::filesystem;

namespace {

using envbuild::testing::slurp;

void spit(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary);
  out << data;
}

void set_mtime(const fs::path& p, time_t t) {
  struct timespec ts[2] = {{t, 0}, {t, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << p;
}

// Runs a shell command and returns its stdout and exit status.
std::pair<std::string, int> run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return {"", -1};
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int status = ::pclose(f);
  return {out, status};
}

const std::string kLongDir(120, 'd');   // > 100 bytes in one component
const std::string kLongFile(200, 'f');  // with the dir: > 255 bytes of path

// Builds the same logical tree; `reverse` flips creation order, `stamp`
// changes every mtime.
void build_tree(const fs::path& root, bool reverse, time_t stamp) {
  std::vector<std::function<void()>> steps = {
      [&] { fs::create_directories(root / "bin"); },
      [&] { fs::create_directories(root / "empty"); },
      [&] { fs::create_directories(root / kLongDir / "sub"); },
      [&] { fs::create_directories(root / "lib"); },
  };
  for (auto& s : steps) s();
  std::vector<std::function<void()>> files = {
      [&] { spit(root / "bin/tool", "#!/bin/sh\necho hi\n"); },
      [&] { spit(root / "lib/data.txt", "data\n"); },
      [&] { spit(root / kLongDir / "sub" / kLongFile, "long name\n"); },
      [&] { spit(root / "a-b", "dash\n"); },
  };
  if (reverse) std::reverse(files.begin(), files.end());
  for (auto& s : files) s();
  ::chmod((root / "bin/tool").c_str(), 0700);  // owner-exec: stored as 0755
  ::chmod((root / "lib/data.txt").c_str(), 0600);
  fs::create_symlink("../lib/data.txt", root / "bin/data-link");
  // Hardlink pair made from either end: the first path in order carries data.
  if (reverse) {
    spit(root / "lib/z-hard", "shared\n");
    fs::create_hard_link(root / "lib/z-hard", root / "bin/a-hard");
  } else {
    spit(root / "bin/a-hard", "shared\n");
    fs::create_hard_link(root / "bin/a-hard", root / "lib/z-hard");
  }
  for (auto& e : fs::recursive_directory_iterator(root)) set_mtime(e.path(), stamp);
}

struct TarItem {
  std::string path;
  unsigned type;
  unsigned perm;
  int64_t size;
  int64_t mtime;
  std::string symlink;
  std::string hardlink;
  bool atime_set;
  bool ctime_set;
  int64_t uid, gid;
  std::string uname, gname;
};

std::vector<TarItem> list_tar(const fs::path& blob) {
  std::vector<TarItem> items;
  ScopedUtf8Locale locale;
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_filename(a, blob.c_str(), 65536), ARCHIVE_OK);
  struct archive_entry* e;
  for (int rc; (rc = archive_read_next_header(a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN;) {
    TarItem t;
    t.path = archive_entry_pathname(e);
    t.type = archive_entry_filetype(e);
    t.perm = archive_entry_perm(e);
    t.size = archive_entry_size(e);
    t.mtime = archive_entry_mtime(e);
    if (archive_entry_symlink(e)) t.symlink = archive_entry_symlink(e);
    if (archive_entry_hardlink(e)) t.hardlink = archive_entry_hardlink(e);
    t.atime_set = archive_entry_atime_is_set(e);
    t.ctime_set = archive_entry_ctime_is_set(e);
    t.uid = archive_entry_uid(e);
    t.gid = archive_entry_gid(e);
    if (archive_entry_uname(e)) t.uname = archive_entry_uname(e);
    if (archive_entry_gname(e)) t.gname = archive_entry_gname(e);
    items.push_back(t);
  }
  archive_read_free(a);
  return items;
}

}  // namespace

TEST(LayerWriter, SameTreeGivesSameBytesAcrossDirsUmasksMtimesAndOrder) {
  TempDir t1, t2, out;
  build_tree(t1.path() / "src", false, 1000000);
  mode_t old = ::umask(077);
  build_tree(t2.path() / "other-src", true, 2000000);
  ::umask(old);

  for (auto c : {LayerOptions::Compression::Gzip, LayerOptions::Compression::Zstd,
                 LayerOptions::Compression::None}) {
    LayerOptions opts;
    opts.compression = c;
    LayerInfo a = write_layer_from_directory(t1.path() / "src", out.path() / "a", opts);
    LayerInfo b = write_layer_from_directory(t2.path() / "other-src", out.path() / "b", opts);
    EXPECT_EQ(a.blob.digest, b.blob.digest);
    EXPECT_EQ(a.diff_id, b.diff_id);
    EXPECT_EQ(slurp(out.path() / "a"), slurp(out.path() / "b"));
    EXPECT_EQ(a.blob.digest, Digest::sha256_of(slurp(out.path() / "a")));
    EXPECT_EQ(a.blob.size, static_cast<int64_t>(fs::file_size(out.path() / "a")));
    EXPECT_EQ(a.blob.media_type, layer_media_type(c));
    EXPECT_EQ(a.entry_count, 12u);
  }
  // No temp files left next to the output.
  size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(out.path())) ++n;
  EXPECT_EQ(n, 2u);
}

TEST(LayerWriter, TarHeadersAreNormalized) {
  TempDir src, out;
  build_tree(src.path(), false, 1234567);
  LayerOptions opts;
  opts.source_date_epoch = 42;
  write_layer_from_directory(src.path(), out.path() / "l.tgz", opts);
  std::vector<TarItem> items = list_tar(out.path() / "l.tgz");
  std::vector<std::string> paths;
  for (const auto& t : items) paths.push_back(t.path);
  const std::string longdir = kLongDir;
  std::vector<std::string> expected = {
      "a-b",      "bin/",        "bin/a-hard",      "bin/data-link",
      "bin/tool", longdir + "/", longdir + "/sub/", longdir + "/sub/" + kLongFile,
      "empty/",   "lib/",        "lib/data.txt",    "lib/z-hard"};
  // libarchive lists directories with a trailing slash; compare without it
  // when it does not.
  ASSERT_EQ(items.size(), expected.size());
  for (size_t i = 0; i < items.size(); ++i) {
    std::string p = items[i].path;
    std::string e = expected[i];
    if (e.back() == '/' && p.back() != '/') e.pop_back();
    EXPECT_EQ(p, e) << i;
  }
  for (const auto& t : items) {
    EXPECT_EQ(t.mtime, 42) << t.path;
    EXPECT_FALSE(t.atime_set) << t.path;
    EXPECT_FALSE(t.ctime_set) << t.path;
    EXPECT_EQ(t.uid, 0);
    EXPECT_EQ(t.gid, 0);
    EXPECT_EQ(t.uname, "");
    EXPECT_EQ(t.gname, "");
    if (t.path.starts_with("bin/tool")) {
      EXPECT_EQ(t.perm, 0755u);
    }
    if (t.path.starts_with("lib/data.txt")) {
      EXPECT_EQ(t.perm, 0644u);
    }
    if (t.type == AE_IFDIR) {
      EXPECT_EQ(t.perm, 0755u) << t.path;
    }
    if (t.path == "bin/data-link") {
      EXPECT_EQ(t.type, static_cast<unsigned>(AE_IFLNK));
      EXPECT_EQ(t.symlink, "../lib/data.txt");
      EXPECT_EQ(t.perm, 0777u);
    }
    if (t.path == "lib/z-hard") {
      EXPECT_EQ(t.hardlink, "bin/a-hard");
    }
    if (t.path == "bin/a-hard") {
      EXPECT_EQ(t.hardlink, "");
      EXPECT_EQ(t.size, 7);
    }
  }
}

TEST(LayerWriter, GzipIsReadableByGzipAndTarAndDiffIdMatchesGunzip) {
  TempDir src, out;
  build_tree(src.path(), false, 99);
  fs::path blob = out.path() / "layer.tar.gz";
  LayerInfo info = write_layer_from_directory(src.path(), blob, LayerOptions{});
  EXPECT_EQ(run("gzip -t '" + blob.string() + "'").second, 0);
  auto [listing, rc] = run("tar -tvzf '" + blob.string() + "'");
  EXPECT_EQ(rc, 0);
  EXPECT_NE(listing.find("bin/tool"), std::string::npos);
  EXPECT_NE(listing.find(kLongFile), std::string::npos);
  EXPECT_NE(listing.find("0/0"), std::string::npos) << listing;
  auto [tar_bytes, rc2] = run("gunzip -c '" + blob.string() + "'");
  EXPECT_EQ(rc2, 0);
  EXPECT_EQ(info.diff_id, Digest::sha256_of(tar_bytes));
  EXPECT_EQ(info.uncompressed_size, tar_bytes.size());
  EXPECT_EQ(tar_bytes.size() % 10240, 0u);
  // PAX records only where a name does not fit ustar (the two long paths),
  // and never a time record.
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t p = tar_bytes.find(needle); p != std::string::npos;
         p = tar_bytes.find(needle, p + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(count(" path="), 2u);
  EXPECT_EQ(count("time="), 0u);
  EXPECT_EQ(count("SCHILY"), 0u);
  EXPECT_EQ(count("LIBARCHIVE"), 0u);
  // The gzip header is pinned: no mtime, no name, OS byte 255.
  std::string head = slurp(blob).substr(0, 10);
  EXPECT_EQ(head, std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10));

  fs::path zst = out.path() / "layer.tar.zst";
  LayerOptions z;
  z.compression = LayerOptions::Compression::Zstd;
  LayerInfo zinfo = write_layer_from_directory(src.path(), zst, z);
  EXPECT_EQ(zinfo.diff_id, info.diff_id);  // same tar, different compression
  auto [zbytes, rc3] = run("zstd -dc '" + zst.string() + "'");
  EXPECT_EQ(rc3, 0);
  EXPECT_EQ(Digest::sha256_of(zbytes), info.diff_id);
}

TEST(LayerWriter, SourceDateEpochParsingAndClamping) {
  EXPECT_EQ(source_date_epoch_from_env(nullptr), 0);
  EXPECT_EQ(source_date_epoch_from_env(""), 0);
  EXPECT_EQ(source_date_epoch_from_env("1700000000"), 1700000000);
  for (const char* bad : {"abc", "-5", "12x", "+3", " 1"}) {
    try {
      source_date_epoch_from_env(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::BadInput);
      EXPECT_NE(std::string(e.what()).find("SOURCE_DATE_EPOCH"), std::string::npos);
    }
  }

  TempDir src, out;
  spit(src.path() / "old", "o");
  spit(src.path() / "new", "n");
  set_mtime(src.path() / "old", 100);
  set_mtime(src.path() / "new", 5000);
  LayerOptions opts;
  opts.source_date_epoch = 1000;
  opts.clamp_mtime = true;
  write_layer_from_directory(src.path(), out.path() / "c.tgz", opts);
  for (const auto& t : list_tar(out.path() / "c.tgz"))
    EXPECT_EQ(t.mtime, t.path == "old" ? 100 : 1000) << t.path;
  opts.clamp_mtime = false;
  write_layer_from_directory(src.path(), out.path() / "p.tgz", opts);
  for (const auto& t : list_tar(out.path() / "p.tgz")) EXPECT_EQ(t.mtime, 1000) << t.path;
}

TEST(LayerWriter, ExplicitEntriesAreSortedNormalizedAndLinked) {
  TempDir src, out;
  spit(src.path() / "payload", "from disk");
  std::vector<LayerEntry> entries = {
      LayerEntry::bytes("./usr//bin/x", "exe", 0750),
      LayerEntry::hardlink("aaa/link", "usr/bin/x"),  // sorts first: carries data
      LayerEntry::directory("usr"),
      LayerEntry::file("usr/share/p", src.path() / "payload"),
      LayerEntry::symlink("usr/lib64", "/usr/lib"),
      LayerEntry::whiteout("etc/old.conf"),
      LayerEntry::opaque_whiteout("var/cache"),
  };
  LayerInfo info = write_layer(entries, out.path() / "e.tgz", LayerOptions{});
  EXPECT_EQ(info.entry_count, 7u);
  std::vector<TarItem> items = list_tar(out.path() / "e.tgz");
  std::vector<std::string> paths;
  for (auto& t : items) paths.push_back(t.path);
  std::vector<std::string> expected = {
      "aaa/link",    "etc/.wh.old.conf",      "usr/", "usr/bin/x", "usr/lib64",
      "usr/share/p", "var/cache/.wh..wh..opq"};
  EXPECT_EQ(paths, expected);
  EXPECT_EQ(items[0].size, 3);
  EXPECT_EQ(items[0].perm, 0750u);
  EXPECT_EQ(items[3].hardlink, "aaa/link");
  EXPECT_EQ(items[4].symlink, "/usr/lib");
  EXPECT_EQ(items[5].size, 9);
}

TEST(LayerWriter, RefusesBadPathsDuplicatesAndDanglingLinks) {
  TempDir out;
  auto expect_bad = [&](std::vector<LayerEntry> entries, const std::string& needle) {
    try {
      write_layer(std::move(entries), out.path() / "x", LayerOptions{});
      ADD_FAILURE() << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::BadInput);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_bad({LayerEntry::bytes("../evil", "x")}, "../evil");
  expect_bad({LayerEntry::bytes("/abs", "x")}, "/abs");
  expect_bad({LayerEntry::bytes("a/.wh.b", "x")}, "a/.wh.b");
  expect_bad({LayerEntry::bytes("a", "x"), LayerEntry::bytes("./a", "y")}, "duplicate");
  expect_bad({LayerEntry::hardlink("l", "missing")}, "missing");
  expect_bad({LayerEntry::directory("d"), LayerEntry::hardlink("l", "d")}, "not a regular file");
  EXPECT_FALSE(fs::exists(out.path() / "x"));
  size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(out.path())) ++n;
  EXPECT_EQ(n, 0u);
}

TEST(LayerWriter, RefusesSpecialFilesNamingThePath) {
  TempDir src, out;
  fs::create_directories(src.path() / "d");
  ASSERT_EQ(::mkfifo((src.path() / "d/pipe").c_str(), 0644), 0);
  try {
    write_layer_from_directory(src.path(), out.path() / "x", LayerOptions{});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    EXPECT_NE(std::string(e.what()).find("d/pipe"), std::string::npos) << e.what();
  }
}

TEST(LayerWriter, PathOrderIsComponentWise) {
  EXPECT_TRUE(layer_path_less("a", "a/b"));
  EXPECT_TRUE(layer_path_less("a/b", "a-b"));
  EXPECT_TRUE(layer_path_less("a/z", "a.b"));
  EXPECT_FALSE(layer_path_less("a-b", "a/b"));
  EXPECT_FALSE(layer_path_less("a", "a"));
}

TEST(LayerWriter, NonAsciiNamesDoNotDependOnTheLocale) {
  TempDir src, out;
  fs::create_directories(src.path() / "caf\xc3\xa9");
  spit(src.path() / "caf\xc3\xa9" / "\xff-not-utf8", "x");
  LayerInfo c_locale = write_layer_from_directory(src.path(), out.path() / "c", LayerOptions{});
  std::string saved = std::setlocale(LC_CTYPE, nullptr);
  const char* utf8 = std::setlocale(LC_CTYPE, "C.UTF-8");
  LayerInfo utf8_locale = write_layer_from_directory(src.path(), out.path() / "u", LayerOptions{});
  std::setlocale(LC_CTYPE, saved.c_str());
  if (utf8 == nullptr) GTEST_SKIP() << "no C.UTF-8 locale here";
  EXPECT_EQ(c_locale.diff_id, utf8_locale.diff_id);

  // And the names survive a read back byte for byte.
  std::vector<std::string> names;
  for (const auto& t : list_tar(out.path() / "c")) names.push_back(t.path);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[1], "caf\xc3\xa9/\xff-not-utf8");
}
