// The channel fixture generator writes real formats: .conda is a stored zip
// of metadata.json and two tar.zst members, .tar.bz2 a bzip2 tar, CEP 34
// metadata matches the content, and repodata records match the files.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <map>

#include "builder/conda/channel/repodata_index.hpp"
#include "tests/support/conda_channel.hpp"
#include "tests/support/conda_channel_archive.hpp"
#include "tests/support/conda_channel_synthetic.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Member {
  std::string content;
  mode_t mode = 0;
  std::string symlink;
  bool directory = false;
};

// Every member of an archive in memory (any format and filter libarchive reads).
std::map<std::string, Member> read_archive(const std::string& bytes) {
  std::map<std::string, Member> out;
  archive* a = archive_read_new();
  archive_read_support_format_all(a);
  archive_read_support_filter_all(a);
  EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()), ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Member m;
    m.mode = archive_entry_perm(e);
    if (archive_entry_filetype(e) == AE_IFLNK) m.symlink = archive_entry_symlink(e);
    m.directory = archive_entry_filetype(e) == AE_IFDIR;
    char buffer[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buffer, sizeof buffer)) > 0) {
      m.content.append(buffer, static_cast<size_t>(n));
    }
    std::string name = archive_entry_pathname(e);
    if (!name.empty() && name.back() == '/') name.pop_back();
    out[name] = m;
  }
  archive_read_free(a);
  return out;
}

uint32_t le(const std::string& s, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v * 256 + static_cast<unsigned char>(s[at + i]);
  return v;
}

// Compression methods from the zip central directory, by name.
std::map<std::string, uint32_t> zip_methods(const std::string& zip) {
  std::map<std::string, uint32_t> out;
  size_t eocd = zip.rfind(std::string("PK\x05\x06", 4));
  EXPECT_NE(eocd, std::string::npos);
  size_t at = le(zip, eocd + 16, 4);
  size_t count = le(zip, eocd + 10, 2);
  for (size_t i = 0; i < count; ++i) {
    EXPECT_EQ(zip.compare(at, 4, std::string("PK\x01\x02", 4)), 0);
    uint32_t method = le(zip, at + 10, 2);
    size_t name_length = le(zip, at + 28, 2), extra = le(zip, at + 30, 2),
           comment = le(zip, at + 32, 2);
    out[zip.substr(at + 46, name_length)] = method;
    at += 46 + name_length + extra + comment;
  }
  return out;
}

PackageSpec rich_spec() {
  PackageSpec spec;
  spec.name = "rich";
  spec.version = "2.1";
  spec.build = "py_3";
  spec.build_number = 3;
  spec.subdir = "noarch";
  spec.noarch = "python";
  spec.depends = {"python >=3.8", "dep 1.*"};
  spec.constrains = {"other <2"};
  spec.track_features = "feat1 feat2";
  spec.entry_points = {"rich = rich.cli:main"};
  spec.post_link = "#!/bin/sh\necho linked >> \"$PREFIX/.messages.txt\"\n";
  spec.about = json{{"home", "https://example.com"}};
  spec.files = {
      PackageFile::text("site-packages/rich/__init__.py", "VERSION = '2.1'\n"),
      PackageFile::text("bin/helper", "#!/bin/sh\necho hi\n", 0755),
      PackageFile::symlink("bin/helper-link", "helper"),
      PackageFile::with_prefix("etc/rich.conf", "prefix=" + kPlaceholder + "\n"),
      PackageFile::with_prefix("lib/blob.bin",
                               std::string("\x7f"
                                           "ELF\0",
                                           5) +
                                   long_placeholder(80) + std::string(8, '\0'),
                               FileMode::Binary, long_placeholder(80)),
      PackageFile::directory("share/empty"),
  };
  spec.formats = kBothFormats;
  return spec;
}

}  // namespace

TEST(CondaChannelFixture, CondaArtifactIsRealFormat) {
  TempDir dir;
  CondaChannel channel(dir.path());
  std::vector<BuiltArtifact> built = channel.add(rich_spec());
  ASSERT_EQ(built.size(), 2u);
  const BuiltArtifact& conda = built[0];
  EXPECT_EQ(conda.filename, "rich-2.1-py_3.conda");
  std::string bytes = slurp(conda.path);
  EXPECT_EQ(conda.size, bytes.size());
  EXPECT_EQ(conda.sha256, sha256_hex(bytes));
  EXPECT_EQ(conda.md5, md5_hex(bytes));

  // CEP 35: stored members with these names.
  auto methods = zip_methods(bytes);
  EXPECT_EQ(methods, (std::map<std::string, uint32_t>{{"info-rich-2.1-py_3.tar.zst", 0},
                                                      {"metadata.json", 0},
                                                      {"pkg-rich-2.1-py_3.tar.zst", 0}}));
  auto outer = read_archive(bytes);
  EXPECT_EQ(json::parse(outer["metadata.json"].content)["conda_pkg_format_version"], 2);
  std::string info_zst = outer["info-rich-2.1-py_3.tar.zst"].content;
  ASSERT_GE(info_zst.size(), 4u);
  EXPECT_EQ(info_zst.substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));  // zstd magic
  auto info = read_archive(info_zst);
  auto pkg = read_archive(outer["pkg-rich-2.1-py_3.tar.zst"].content);

  for (const auto& [path, m] : info) EXPECT_EQ(path.rfind("info/", 0), 0u) << path;
  for (const auto& [path, m] : pkg) EXPECT_NE(path.rfind("info/", 0), 0u) << path;
  EXPECT_EQ(pkg["bin/helper"].mode, 0755u);
  EXPECT_EQ(pkg["bin/helper-link"].symlink, "helper");
  EXPECT_TRUE(pkg["share/empty"].directory);
  EXPECT_EQ(pkg["bin/.rich-post-link.sh"].mode, 0755u);

  json index = json::parse(info["info/index.json"].content);
  EXPECT_EQ(index["name"], "rich");
  EXPECT_EQ(index["build_number"], 3);
  EXPECT_EQ(index["noarch"], "python");
  EXPECT_EQ(index["subdir"], "noarch");
  EXPECT_EQ(index["track_features"], "feat1 feat2");
  EXPECT_TRUE(index["arch"].is_null());
  json link = json::parse(info["info/link.json"].content);
  EXPECT_EQ(link["noarch"]["type"], "python");
  EXPECT_EQ(link["noarch"]["entry_points"][0], "rich = rich.cli:main");
  EXPECT_EQ(json::parse(info["info/about.json"].content)["home"], "https://example.com");
  EXPECT_NE(info["info/has_prefix"].content.find(kPlaceholder + " text etc/rich.conf"),
            std::string::npos);

  // paths.json describes the pkg member exactly (CEP 34).
  json paths = json::parse(info["info/paths.json"].content);
  EXPECT_EQ(paths["paths_version"], 1);
  size_t seen = 0;
  for (const json& p : paths["paths"]) {
    std::string path = p["_path"];
    ASSERT_TRUE(pkg.count(path)) << path;
    ++seen;
    if (p["path_type"] == "hardlink") {
      EXPECT_EQ(p["sha256"], sha256_hex(pkg[path].content)) << path;
      EXPECT_EQ(p["size_in_bytes"], pkg[path].content.size()) << path;
    }
    if (path == "bin/helper-link") {
      EXPECT_EQ(p["path_type"], "softlink");
      EXPECT_EQ(p["sha256"], sha256_hex(pkg["bin/helper"].content));  // the target's content
    }
    if (path == "share/empty") {
      EXPECT_EQ(p["path_type"], "directory");
    }
    if (path == "etc/rich.conf") {
      EXPECT_EQ(p["file_mode"], "text");
      EXPECT_EQ(p["prefix_placeholder"], kPlaceholder);
    }
    if (path == "lib/blob.bin") {
      EXPECT_EQ(p["file_mode"], "binary");
      EXPECT_EQ(p["prefix_placeholder"], long_placeholder(80));
    }
  }
  EXPECT_EQ(seen, pkg.size());
}

TEST(CondaChannelFixture, TarBz2ArtifactAndRepodata) {
  TempDir dir;
  CondaChannel channel(dir.path());
  std::vector<BuiltArtifact> built = channel.add(rich_spec());
  const BuiltArtifact& bz2 = built[1];
  EXPECT_EQ(bz2.filename, "rich-2.1-py_3.tar.bz2");
  std::string bytes = slurp(bz2.path);
  EXPECT_EQ(bytes.substr(0, 3), "BZh");
  auto members = read_archive(bytes);
  EXPECT_TRUE(members.count("info/index.json"));
  EXPECT_TRUE(members.count("info/paths.json"));
  EXPECT_TRUE(members.count("site-packages/rich/__init__.py"));

  RepodataWriteOptions w;
  w.zst = true;
  w.bz2 = true;
  channel.write_repodata(w);
  json repodata = json::parse(slurp(dir.path() / "noarch" / "repodata.json"));
  EXPECT_EQ(repodata["info"]["subdir"], "noarch");
  EXPECT_EQ(repodata["repodata_version"], 1);
  json record = repodata["packages.conda"]["rich-2.1-py_3.conda"];
  EXPECT_EQ(record["sha256"], built[0].sha256);
  EXPECT_EQ(record["md5"], built[0].md5);
  EXPECT_EQ(record["size"], built[0].size);
  EXPECT_EQ(record["depends"], json({"python >=3.8", "dep 1.*"}));
  EXPECT_EQ(repodata["packages"]["rich-2.1-py_3.tar.bz2"]["sha256"], bz2.sha256);
  // The compressed variants hold the same document.
  std::string plain = slurp(dir.path() / "noarch" / "repodata.json");
  EXPECT_EQ(compress_bytes(plain, ArchiveCompression::Zstd),
            slurp(dir.path() / "noarch" / "repodata.json.zst"));

  // And the index reads it all back.
  builder::conda::RepodataIndexOptions o;
  o.subdir = "linux-64";
  builder::conda::RepodataIndex index({builder::conda::resolve_channel(channel.url())}, o);
  const auto& rich = index.candidates("rich");
  ASSERT_EQ(rich.size(), 1u);  // the .conda wins
  EXPECT_EQ(rich[0].sha256, built[0].sha256);
  EXPECT_EQ(rich[0].track_features, (std::vector<std::string>{"feat1", "feat2"}));
  EXPECT_EQ(rich[0].constrains, std::vector<std::string>{"other <2"});
  EXPECT_EQ(rich[0].url, channel.url() + "/noarch/rich-2.1-py_3.conda");
}

TEST(CondaChannelFixture, GeneratedAndPayloadPackages) {
  TempDir dir;
  CondaChannel channel(dir.path());
  channel.add_generated(30, "gen", 2, true);
  channel.add_generated(2000, "meta", 1, false, "linux-64");
  auto names = channel.add_payload(2, 256 * 1024);
  channel.write_repodata();
  builder::conda::RepodataIndexOptions o;
  o.subdir = "linux-64";
  builder::conda::RepodataIndex index({builder::conda::resolve_channel(channel.url())}, o);
  EXPECT_EQ(index.stats().records, 30u * 2 + 2000 + 2);
  const auto& g = index.candidates("gen-00029");
  ASSERT_EQ(g.size(), 2u);
  EXPECT_TRUE(fs::exists(dir.path() / "noarch" / g[0].filename));
  EXPECT_EQ(fs::file_size(dir.path() / "noarch" / g[0].filename), g[0].size);
  EXPECT_FALSE(g[0].depends.empty());
  EXPECT_EQ(index.candidates("meta-01999").size(), 1u);
  ASSERT_EQ(index.candidates(names[1]).size(), 1u);
  // Incompressible payload: the artifact is about as big as its content.
  EXPECT_GT(index.candidates(names[1])[0].size, 256u * 1024);
}

TEST(CondaChannelFixture, SyntheticRepodataParses) {
  TempDir dir;
  SyntheticRepodataOptions o;
  o.records = 3000;
  o.names = 200;
  SyntheticRepodataStats stats = write_synthetic_repodata(dir.path() / "linux-64/repodata.json", o);
  EXPECT_EQ(stats.records, 3000u);
  write_file(dir.path() / "noarch/repodata.json", "{}");
  json doc = json::parse(slurp(dir.path() / "linux-64/repodata.json"));  // valid JSON
  EXPECT_EQ(doc["packages"].size() + doc["packages.conda"].size(), 3000u);
  builder::conda::RepodataIndexOptions io;
  io.subdir = "linux-64";
  builder::conda::RepodataIndex index({builder::conda::resolve_channel((dir.path()).string())}, io);
  EXPECT_EQ(index.stats().records, 3000u);
  EXPECT_EQ(index.stats().names, 200u);
  size_t expected = stats.records_per_name[0];
  const auto& top = index.candidates(stats.names[0]);
  // Every record of the top name, less the .tar.bz2 twins of .conda ones.
  EXPECT_GT(top.size(), 0u);
  EXPECT_LE(top.size(), expected);
  EXPECT_TRUE(index.warnings().empty());
}
