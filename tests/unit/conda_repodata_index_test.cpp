// RepodataIndex over local channels: the conda project's real test channels
// and generated ones. Lazy parsing, .conda over .tar.bz2, removed records,
// CEP 15 base_url, missing subdirs, malformed input.
#include <gtest/gtest.h>

#include <algorithm>

#include "builder/conda/channel/repodata_index.hpp"
#include "registry/error.hpp"
#include "tests/support/conda_channel.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::builder::conda;
using envbuild::testing::CondaChannel;
using envbuild::testing::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

RepodataIndexOptions options_for(const std::string& subdir) {
  RepodataIndexOptions o;
  o.subdir = subdir;
  o.fetch.cache_dir = fs::temp_directory_path() / "envbuild-unused-cache";  // file:// never uses it
  return o;
}

json record(const std::string& name, const std::string& version, const std::string& build = "0") {
  return json{{"name", name},      {"version", version},          {"build", build},
              {"build_number", 0}, {"depends", json::array()},    {"subdir", "noarch"},
              {"size", 10},        {"md5", std::string(32, 'a')}, {"sha256", std::string(64, 'b')}};
}

std::vector<std::string> filenames(const std::vector<PackageRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.filename);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(CondaRepodataIndex, CondaFormatRepo) {
  fs::path root = envbuild::testing::conda_testdata_dir() / "conda-format-repo";
  ASSERT_TRUE(fs::exists(root / "linux-64" / "repodata.json")) << root;
  RepodataIndex index({resolve_channel(root.string())}, options_for("linux-64"));
  const auto& zlib = index.candidates("zlib");
  // zlib exists as .tar.bz2 and .conda: the .conda wins.
  ASSERT_EQ(zlib.size(), 1u);
  const PackageRecord& z = zlib[0];
  EXPECT_EQ(z.filename, "zlib-1.2.11-h7b6447c_3.conda");
  EXPECT_EQ(z.url, "file://" + root.string() + "/linux-64/zlib-1.2.11-h7b6447c_3.conda");
  EXPECT_EQ(z.channel, "file://" + root.string());
  EXPECT_EQ(z.sha256, "f33afff2144e1d6c4cf2e3e184937db8bf825b4537df74662aea5ee207b6a31b");
  EXPECT_EQ(z.md5, "cb23839f06da92ec92c6d2d2d5e0cb4a");
  EXPECT_EQ(z.size, 105917u);
  EXPECT_EQ(z.depends, std::vector<std::string>{"libgcc-ng >=7.3.0"});
  EXPECT_EQ(z.timestamp, 1542814864621);
  EXPECT_EQ(z.license, "zlib");
  EXPECT_EQ(z.subdir, "linux-64");
  EXPECT_EQ(z.dist_name(), "zlib-1.2.11-h7b6447c_3");
  EXPECT_EQ(fs::file_size(root / "linux-64" / z.filename), z.size);
  // Only in .tar.bz2: kept.
  ASSERT_EQ(index.candidates("libgcc-ng").size(), 1u);
  EXPECT_TRUE(index.candidates("libgcc-ng")[0].filename.ends_with(".tar.bz2"));
  EXPECT_TRUE(index.candidates("numpy").empty());
  EXPECT_EQ(index.stats().superseded, 1u);
  EXPECT_EQ(index.stats().documents, 2u);  // linux-64 and the empty noarch
  EXPECT_EQ(index.names(), (std::vector<std::string>{"libgcc-ng", "zlib"}));
  // The same reference on every call.
  EXPECT_EQ(&index.candidates("zlib"), &zlib);
}

TEST(CondaRepodataIndex, TestRecipesWithPriorities) {
  fs::path recipes = envbuild::testing::conda_testdata_dir() / "conda-test-recipes";
  fs::path format = envbuild::testing::conda_testdata_dir() / "conda-format-repo";
  // linux-fake is a real subdir there; conda-format-repo has no such subdir
  // but a noarch, so it simply contributes nothing for it.
  RepodataIndex index({resolve_channel(recipes.string()), resolve_channel(format.string())},
                      options_for("linux-fake"));
  const auto& virt = index.candidates("virtualdep-package");
  ASSERT_EQ(virt.size(), 2u);
  for (const auto& r : virt) {
    EXPECT_EQ(r.subdir, "linux-fake");
    EXPECT_EQ(r.channel_priority, 0);
  }
  EXPECT_EQ(filenames(virt), (std::vector<std::string>{"virtualdep-package-1.0-0.conda",
                                                       "virtualdep-package-2.0-0.conda"}));
  const auto& python = index.candidates("python");
  ASSERT_EQ(python.size(), 1u);
  EXPECT_EQ(python[0].noarch, "generic");
  EXPECT_EQ(python[0].subdir, "noarch");
  EXPECT_EQ(index.candidates("feature")[0].track_features.size(), 0u);
  ASSERT_EQ(index.candidates("track_feature").size(), 2u);
  EXPECT_EQ(index.candidates("sample_noarch_python")[0].noarch, "python");
  EXPECT_EQ(index.candidates("run_constrained").size(), 1u);
  EXPECT_TRUE(index.warnings().empty());
  size_t fetched_missing = 0;
  for (const auto& f : index.fetched()) fetched_missing += f.missing ? 1 : 0;
  EXPECT_EQ(fetched_missing, 1u);  // conda-format-repo/linux-fake
}

TEST(CondaRepodataIndex, ChannelWithNeitherSubdirIsAnError) {
  TempDir dir;
  try {
    RepodataIndex index({resolve_channel(dir.path().string())}, options_for("linux-64"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_NE(std::string(e.what()).find(dir.path().string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("linux-64 or noarch"), std::string::npos) << e.what();
  }
  // With only the target subdir present, noarch counts as empty.
  envbuild::testing::write_file(dir.path() / "linux-64" / "repodata.json", "{}");
  RepodataIndex index({resolve_channel(dir.path().string())}, options_for("linux-64"));
  EXPECT_TRUE(index.candidates("x").empty());
}

TEST(CondaRepodataIndex, GeneratedChannel) {
  TempDir dir;
  CondaChannel channel(dir.path());
  channel.add_record("linux-64", "a-1.0-0.tar.bz2", record("a", "1.0"));
  channel.add_record("linux-64", "a-1.0-0.conda", record("a", "1.0"));
  channel.add_record("linux-64", "a-2.0-0.tar.bz2", record("a", "2.0"));
  channel.add_record("linux-64", "a-3.0-0.conda", record("a", "3.0"));
  channel.add_record("noarch", "a-0.1-0.conda", record("a", "0.1"));
  channel.add_record("linux-64", "b-1.0-0.conda", record("b", "1.0"));
  envbuild::testing::RepodataWriteOptions w;
  w.removed = {"a-3.0-0.conda"};
  channel.write_repodata(w);
  RepodataIndex index({resolve_channel(dir.path().string())}, options_for("linux-64"));
  // a-1.0 .tar.bz2 superseded, a-3.0 removed; the noarch one comes after.
  const auto& a = index.candidates("a");
  ASSERT_EQ(a.size(), 3u);
  // Document order: `packages` before `packages.conda`, linux-64 before noarch.
  EXPECT_EQ(a[0].filename, "a-2.0-0.tar.bz2");
  EXPECT_EQ(a[1].filename, "a-1.0-0.conda");
  EXPECT_EQ(a[1].subdir, "noarch");  // the record says so, but the file is where it was listed:
  EXPECT_EQ(a[1].url, "file://" + dir.path().string() + "/linux-64/a-1.0-0.conda");
  EXPECT_EQ(a[2].filename, "a-0.1-0.conda");
  EXPECT_NE(a[2].url.find("/noarch/a-0.1-0.conda"), std::string::npos);
  EXPECT_EQ(filenames(a),
            (std::vector<std::string>{"a-0.1-0.conda", "a-1.0-0.conda", "a-2.0-0.tar.bz2"}));
  EXPECT_EQ(index.stats().removed, 1u);
  EXPECT_EQ(index.stats().superseded, 1u);
}

TEST(CondaRepodataIndex, LazyParsing) {
  TempDir dir;
  CondaChannel channel(dir.path());
  for (int i = 0; i < 5; ++i) {
    channel.add_record("noarch", "ok-" + std::to_string(i) + "-0.conda",
                       record("ok", std::to_string(i)));
  }
  json broken = record("broken", "1");
  broken["depends"] = 5;  // malformed, but only for whoever asks for "broken"
  channel.add_record("noarch", "broken-1-0.conda", broken);
  channel.add_record("noarch", "broken-2-0.conda", record("broken", "2"));
  channel.write_repodata();
  RepodataIndex index({resolve_channel(dir.path().string())}, options_for("noarch"));
  EXPECT_EQ(index.stats().records, 7u);
  EXPECT_EQ(index.stats().parsed, 0u);
  EXPECT_EQ(index.candidates("ok").size(), 5u);
  EXPECT_EQ(index.stats().parsed, 5u);
  EXPECT_EQ(index.stats().malformed, 0u);
  EXPECT_TRUE(index.warnings().empty());
  // Asking for it skips the bad record, counts it and says why.
  ASSERT_EQ(index.candidates("broken").size(), 1u);
  EXPECT_EQ(index.candidates("broken")[0].version, "2");
  EXPECT_EQ(index.stats().malformed, 1u);
  ASSERT_EQ(index.warnings().size(), 1u);
  EXPECT_NE(index.warnings()[0].find("broken-1-0.conda: depends is not a list"), std::string::npos)
      << index.warnings()[0];
  index.candidates("broken");
  EXPECT_EQ(index.stats().parsed, 7u);  // parsed once
}

TEST(CondaRepodataIndex, MalformedJsonNamesTheUrl) {
  TempDir dir;
  envbuild::testing::write_file(dir.path() / "noarch" / "repodata.json",
                                "{\"packages\": {\"a\": [}");
  try {
    RepodataIndex index({resolve_channel(dir.path().string())}, options_for("linux-64"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    std::string m = e.what();
    EXPECT_NE(m.find("file://" + dir.path().string() + "/noarch/repodata.json"), std::string::npos)
        << m;
    EXPECT_NE(m.find("at byte"), std::string::npos) << m;
  }
  envbuild::testing::write_file(dir.path() / "noarch" / "repodata.json",
                                "{\"repodata_version\": 3}");
  EXPECT_THROW(RepodataIndex({resolve_channel(dir.path().string())}, options_for("linux-64")),
               Error);
}

TEST(CondaRepodataIndex, CompressedVariantsOnly) {
  for (auto [zst, bz2] : {std::pair{true, false}, std::pair{false, true}}) {
    TempDir dir;
    CondaChannel channel(dir.path());
    channel.add_record("linux-64", "a-1-0.conda", record("a", "1"));
    envbuild::testing::RepodataWriteOptions w;
    w.plain = false;
    w.zst = zst;
    w.bz2 = bz2;
    channel.write_repodata(w);
    ASSERT_FALSE(fs::exists(dir.path() / "linux-64" / "repodata.json"));
    RepodataIndex index({resolve_channel(dir.path().string())}, options_for("linux-64"));
    EXPECT_EQ(index.candidates("a").size(), 1u);
    EXPECT_EQ(
        index.fetched()[0].variant_url,
        "file://" + dir.path().string() + "/linux-64/repodata.json" + (zst ? ".zst" : ".bz2"));
  }
  TempDir dir;
  envbuild::testing::write_file(dir.path() / "noarch" / "repodata.json.zst", "not zstd at all");
  EXPECT_THROW(RepodataIndex({resolve_channel(dir.path().string())}, options_for("noarch")), Error);
}

TEST(CondaRepodataIndex, BaseUrl) {
  TempDir dir;
  CondaChannel channel(dir.path());
  channel.add_record("linux-64", "a-1-0.conda", record("a", "1"));
  envbuild::testing::RepodataWriteOptions w;
  w.base_url = "../../mirror/pkgs";
  channel.write_repodata(w);
  RepodataIndex index({resolve_channel(dir.path().string())}, options_for("linux-64"));
  ASSERT_EQ(index.candidates("a").size(), 1u);
  EXPECT_EQ(index.candidates("a")[0].url,
            "file://" + dir.path().parent_path().string() + "/mirror/pkgs/a-1-0.conda");
  EXPECT_EQ(index.candidates("a")[0].channel, "file://" + dir.path().string());

  const std::string from = "https://h.example/c/linux-64/repodata.json";
  EXPECT_EQ(resolve_repodata_base_url(from, "../pkgs"), "https://h.example/c/pkgs/");
  EXPECT_EQ(resolve_repodata_base_url(from, "./"), "https://h.example/c/linux-64/");
  EXPECT_EQ(resolve_repodata_base_url(from, "/abs/x/"), "https://h.example/abs/x/");
  EXPECT_EQ(resolve_repodata_base_url(from, "//cdn.example/p"), "https://cdn.example/p/");
  EXPECT_EQ(resolve_repodata_base_url(from, "https://cdn.example/a/../b/"),
            "https://cdn.example/b/");
  EXPECT_EQ(resolve_repodata_base_url("http://127.0.0.1:8/c/noarch/repodata.json", "../x/"),
            "http://127.0.0.1:8/c/x/");
  EXPECT_THROW(resolve_repodata_base_url(from, "file:///etc/"), Error);
  EXPECT_THROW(resolve_repodata_base_url(from, "http://evil.example/"), Error);
  EXPECT_THROW(resolve_repodata_base_url(from, "https://cdn.example/?q=1"), Error);
  EXPECT_THROW(resolve_repodata_base_url(from, "https:///nohost/"), Error);
}

TEST(CondaRepodataIndex, FromDocumentsInMemory) {
  std::vector<RepodataDocument> docs(2);
  docs[0].channel = resolve_channel("conda-forge");
  docs[0].subdir = "linux-64";
  docs[0].url = docs[0].channel.base_url + "/linux-64/repodata.json";
  docs[0].body =
      RepodataBytes::own(json{{"packages.conda", {{"a-1-0.conda", record("a", "1")}}}}.dump());
  docs[1] = docs[0];
  docs[1].channel = resolve_channel("bioconda");
  docs[1].priority = 1;
  docs[1].url = docs[1].channel.base_url + "/linux-64/repodata.json";
  RepodataIndex index(std::move(docs));
  const auto& a = index.candidates("a");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].url, "https://conda.anaconda.org/conda-forge/linux-64/a-1-0.conda");
  EXPECT_EQ(a[0].channel_priority, 0);
  EXPECT_EQ(a[1].channel, "https://conda.anaconda.org/bioconda");
  EXPECT_EQ(a[1].channel_priority, 1);
}
