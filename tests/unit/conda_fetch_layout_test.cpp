// Names inside the package cache, digests of archives and the
// verification marker: the pure parts of the package cache.
#include <gtest/gtest.h>

#include "builder/conda/fetch/archive_digest.hpp"
#include "builder/conda/fetch/cache_layout.hpp"
#include "builder/conda/fetch/package_cache.hpp"
#include "builder/conda/fetch/verification_marker.hpp"
#include "registry/error.hpp"
#include "tests/support/error_kind.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::builder::conda;
using envbuild::testing::kind_of;
namespace fs = std::filesystem;

namespace {

const std::string kSha =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";  // "abc"
const std::string kMd5 = "900150983cd24fb0d6963f7d28e17f72";             // "abc"

PackageRecord record(std::string filename, std::string sha256 = kSha, std::string md5 = kMd5) {
  PackageRecord r;
  r.name = "abc";
  r.version = "1.0";
  r.build = "0";
  r.filename = std::move(filename);
  r.url = "https://conda.example.org/chan/noarch/" + r.filename;
  r.sha256 = std::move(sha256);
  r.md5 = std::move(md5);
  r.size = 3;
  return r;
}

ArchiveDigests digests_of(const std::string& data, bool md5) {
  ArchiveHasher h(md5);
  h.update(data.data(), data.size());
  return h.finish();
}

}  // namespace

TEST(CondaFetchLayout, NamesCarryTheDigestKey) {
  CachePaths p = cache_paths("/c", record("abc-1.0-0.conda"));
  EXPECT_EQ(p.archive, fs::path("/c/abc-1.0-0.sba7816bf8f01cfea.conda"));
  EXPECT_EQ(p.marker, fs::path("/c/abc-1.0-0.sba7816bf8f01cfea.conda.verified"));
  EXPECT_EQ(p.lock, fs::path("/c/abc-1.0-0.sba7816bf8f01cfea.conda.lock"));
  EXPECT_EQ(p.link_temp, fs::path("/c/abc-1.0-0.sba7816bf8f01cfea.conda.link"));
  EXPECT_EQ(p.extracted, fs::path("/c/abc-1.0-0.sba7816bf8f01cfea"));

  CachePaths bz2 = cache_paths("/c", record("abc-1.0-0.tar.bz2"));
  EXPECT_EQ(bz2.archive, fs::path("/c/abc-1.0-0.sba7816bf8f01cfea.tar.bz2"));
  EXPECT_EQ(bz2.extracted, fs::path("/c/abc-1.0-0.sba7816bf8f01cfea"));

  // Uppercase digests name the same entry.
  std::string upper = kSha;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(cache_paths("/c", record("abc-1.0-0.conda", upper)).archive, p.archive);

  // Same file name, other content: another entry.
  std::string other = kSha;
  other[0] = 'c';
  EXPECT_NE(cache_paths("/c", record("abc-1.0-0.conda", other)).archive, p.archive);

  PackageCache cache("/c");
  EXPECT_EQ(cache.archive_path(record("abc-1.0-0.conda")), p.archive);
  EXPECT_EQ(cache.extracted_dir(record("abc-1.0-0.conda")), p.extracted);
}

TEST(CondaFetchLayout, KeysFallBackToMd5ThenUrl) {
  EXPECT_EQ(cache_key(record("a-1-0.conda")), "sba7816bf8f01cfea");
  EXPECT_EQ(cache_key(record("a-1-0.conda", "")), "m900150983cd24fb0");
  PackageRecord bare = record("a-1-0.conda", "", "");
  std::string key = cache_key(bare);
  ASSERT_EQ(key.size(), 17u);
  EXPECT_EQ(key[0], 'u');
  // Credentials in the URL do not change the key (tokens rotate).
  PackageRecord with_token = bare;
  with_token.url = "https://u:p@conda.example.org/t/tok/chan/noarch/a-1-0.conda";
  PackageRecord other_token = bare;
  other_token.url = "https://conda.example.org/t/other/chan/noarch/a-1-0.conda";
  EXPECT_EQ(cache_key(with_token), cache_key(other_token));
}

TEST(CondaFetchLayout, FileNameFromTheUrlWhenTheRecordHasNone) {
  PackageRecord r = record("");
  r.url = "https://h/chan/linux-64/pkg-1.0%2Bcpu-0.tar.bz2?x=1#y";
  EXPECT_EQ(archive_file_name(r), "pkg-1.0+cpu-0.tar.bz2");
}

TEST(CondaFetchLayout, RejectsNamesThatEscapeOrAreNotArchives) {
  for (const char* bad : {"../evil.conda", "a/b.conda", ".hidden.conda", "..", "a.zip", ".conda",
                          "a.tar.gz", "a.conda.link"}) {
    std::string message;
    EXPECT_EQ(kind_of([&] { cache_paths("/c", record(bad)); }, &message), ErrorKind::BadInput)
        << bad;
    EXPECT_NE(message.find("package"), std::string::npos) << message;
  }
  EXPECT_EQ(kind_of([] { cache_paths("/c", record(std::string(201, 'a') + ".conda")); }),
            ErrorKind::BadInput);
  PackageRecord r = record("");
  r.url = "https://h/chan/linux-64/";
  EXPECT_EQ(kind_of([&] { cache_paths("/c", r); }), ErrorKind::BadInput);
}

TEST(CondaFetchLayout, RejectsMalformedDigests) {
  EXPECT_EQ(kind_of([] { cache_paths("/c", record("a-1-0.conda", "abc")); }), ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { cache_paths("/c", record("a-1-0.conda", std::string(64, 'g'))); }),
            ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { cache_paths("/c", record("a-1-0.conda", "", "12")); }),
            ErrorKind::BadInput);
}

TEST(CondaFetchLayout, LinkTempNames) {
  EXPECT_TRUE(is_link_temp_name("a-1-0.s0123456789abcdef.conda.link"));
  EXPECT_TRUE(is_link_temp_name("a-1-0.s0123456789abcdef.tar.bz2.link"));
  EXPECT_FALSE(is_link_temp_name("a-1-0.s0123456789abcdef.conda"));
  EXPECT_FALSE(is_link_temp_name("x.link"));
  EXPECT_FALSE(is_link_temp_name(".conda.link"));
}

TEST(CondaFetchDigest, Sha256AlwaysMd5OnlyWhenAsked) {
  ArchiveDigests both = digests_of("abc", true);
  EXPECT_EQ(both.sha256, kSha);
  EXPECT_EQ(both.md5, kMd5);
  EXPECT_EQ(both.size, 3u);
  ArchiveDigests sha_only = digests_of("abc", false);
  EXPECT_EQ(sha_only.sha256, kSha);
  EXPECT_TRUE(sha_only.md5.empty());
  // In pieces, the same.
  ArchiveHasher h(true);
  h.update("a", 1);
  h.update("", 0);
  h.update("bc", 2);
  EXPECT_EQ(h.bytes(), 3u);
  ArchiveDigests pieces = h.finish();
  EXPECT_EQ(pieces.sha256, kSha);
  EXPECT_EQ(pieces.md5, kMd5);

  EXPECT_TRUE(hasher_for(record("a.conda", "")).finish().md5.size() == 32);
  EXPECT_TRUE(hasher_for(record("a.conda")).finish().md5.empty());
}

TEST(CondaFetchDigest, DescribesMismatches) {
  EXPECT_EQ(describe_mismatch(record("a.conda"), digests_of("abc", false)), "");
  EXPECT_NE(describe_mismatch(record("a.conda"), digests_of("abd", false)).find("sha256 is "),
            std::string::npos);
  EXPECT_NE(describe_mismatch(record("a.conda"), digests_of("abcd", false)).find("size is 4 bytes"),
            std::string::npos);
  // md5-only records compare the md5; sha256 records ignore it.
  EXPECT_EQ(describe_mismatch(record("a.conda", ""), digests_of("abc", true)), "");
  EXPECT_NE(describe_mismatch(record("a.conda", ""), digests_of("abd", true)).find("md5 is "),
            std::string::npos);
  EXPECT_EQ(
      describe_mismatch(record("a.conda", kSha, std::string(32, '0')), digests_of("abc", false)),
      "");
  // No digest and no size: anything goes.
  PackageRecord bare = record("a.conda", "", "");
  bare.size = 0;
  EXPECT_EQ(describe_mismatch(bare, digests_of("whatever", false)), "");
}

TEST(CondaFetchMarker, RoundTripsAndRejectsAnythingElse) {
  VerificationMarker m;
  m.digests = digests_of("abc", true);
  m.archive = {2049, 123456, 3, 1'700'000'000'123'456'789};
  std::string text = format_marker(m);
  auto back = parse_marker(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->digests.sha256, m.digests.sha256);
  EXPECT_EQ(back->digests.md5, m.digests.md5);
  EXPECT_EQ(back->archive, m.archive);

  EXPECT_FALSE(parse_marker("").has_value());
  EXPECT_FALSE(parse_marker(text.substr(0, text.size() - 1)).has_value());  // torn
  EXPECT_FALSE(parse_marker(text + "extra 1\n").has_value());
  std::string bad_hex = text;
  bad_hex.replace(bad_hex.find("sha256 ") + 7, 1, "G");
  EXPECT_FALSE(parse_marker(bad_hex).has_value());
  std::string bad_number = text;
  bad_number.replace(bad_number.find("inode ") + 6, 1, "x");
  EXPECT_FALSE(parse_marker(bad_number).has_value());
  std::string other_version = text;
  other_version.replace(other_version.find("v1"), 2, "v2");
  EXPECT_FALSE(parse_marker(other_version).has_value());
}

TEST(CondaFetchMarker, VouchesOnlyForTheSameFileAndRecord) {
  VerificationMarker m;
  m.digests = digests_of("abc", false);
  m.archive = {1, 2, 3, 1000};
  const int64_t later = 5000;
  const PackageRecord r = record("a.conda");
  EXPECT_TRUE(marker_vouches(m, later, m.archive, r));

  for (int field = 0; field < 4; ++field) {
    FileStamp s = m.archive;
    if (field == 0) s.device++;
    if (field == 1) s.inode++;
    if (field == 2) s.size++;
    if (field == 3) s.mtime_ns++;
    EXPECT_FALSE(marker_vouches(m, later, s, r)) << field;
  }
  // Racy: the archive is not older than the marker.
  EXPECT_FALSE(marker_vouches(m, 1000, m.archive, r));
  // Another record's digest or size.
  std::string other = kSha;
  other[5] = '0';
  EXPECT_FALSE(marker_vouches(m, later, m.archive, record("a.conda", other)));
  PackageRecord sized = r;
  sized.size = 4;
  EXPECT_FALSE(marker_vouches(m, later, m.archive, sized));
  // md5-only records need the md5 in the marker.
  EXPECT_FALSE(marker_vouches(m, later, m.archive, record("a.conda", "")));
  m.digests = digests_of("abc", true);
  EXPECT_TRUE(marker_vouches(m, later, m.archive, record("a.conda", "")));
  EXPECT_FALSE(marker_vouches(m, later, m.archive, record("a.conda", "", std::string(32, 'a'))));
}

TEST(CondaFetchMarker, ReadsWhatItWrites) {
  envbuild::testing::TempDir tmp;
  fs::path archive = tmp.path() / "a.conda";
  envbuild::testing::write_file(archive, "abc");
  auto stamp = stamp_of(archive);
  ASSERT_TRUE(stamp.has_value());
  EXPECT_EQ(stamp->size, 3u);
  EXPECT_FALSE(stamp_of(tmp.path()).has_value());  // a directory
  EXPECT_FALSE(stamp_of(tmp.path() / "missing").has_value());

  fs::path marker_path = tmp.path() / "a.conda.verified";
  EXPECT_FALSE(read_marker(marker_path).has_value());
  write_marker(marker_path, {digests_of("abc", false), *stamp});
  auto read = read_marker(marker_path);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->first.archive, *stamp);
  EXPECT_GT(read->second, 0);
  envbuild::testing::write_file(marker_path, "garbage\n");
  EXPECT_FALSE(read_marker(marker_path).has_value());
}
