// Extracting and linking every real package of conda's own test channels
// (../shared/testdata): conda-test-recipes (noarch and linux-fake) and
// zlib 1.2.11 from conda-format-repo as both .conda and .tar.bz2. Each
// linked package is also written as a layer and read back.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "builder/conda/package/clobber.hpp"
#include "builder/conda/package/link_package.hpp"
#include "builder/conda/package/package_archive.hpp"
#include "builder/conda/package/package_metadata.hpp"
#include "registry/blob_io.hpp"
#include "registry/digest.hpp"
#include "registry/error.hpp"
#include "registry/layer_reader.hpp"
#include "registry/layer_writer.hpp"
#include "tests/support/conda_channel.hpp"
#include "tests/support/error_kind.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

using envbuild::ErrorKind;
using envbuild::registry::LayerEntry;
using envbuild::testing::kind_of;
using envbuild::testing::slurp;
using envbuild::testing::TempDir;
using nlohmann::json;
using namespace envbuild::builder::conda;
namespace fs = std::filesystem;

namespace {

const fs::path kTestData = envbuild::testing::conda_testdata_dir();
const fs::path kRecipes = kTestData / "conda-test-recipes";
const fs::path kZlibConda = kTestData / "conda-format-repo/linux-64/zlib-1.2.11-h7b6447c_3.conda";
const fs::path kZlibBz2 = kTestData / "conda-format-repo/linux-64/zlib-1.2.11-h7b6447c_3.tar.bz2";
constexpr const char* kPrefix = "/opt/conda";

std::string stem_of(const fs::path& archive) {
  std::string name = archive.filename().string();
  for (std::string_view ext : {".conda", ".tar.bz2"})
    if (name.ends_with(ext)) return name.substr(0, name.size() - ext.size());
  return name;
}

json repodata_entry(const fs::path& archive) {
  json repodata = json::parse(slurp(archive.parent_path() / "repodata.json"));
  std::string fn = archive.filename().string();
  return repodata.at(fn.ends_with(".conda") ? "packages.conda" : "packages").at(fn);
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text + " ") {
    if (c == ' ' || c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

// The record the channel's repodata.json gives for `archive`, as a solver
// would hand it to the linker.
PackageRecord record_for(const fs::path& archive) {
  fs::path subdir_dir = archive.parent_path();
  std::string fn = archive.filename().string();
  const json r = repodata_entry(archive);
  PackageRecord rec;
  rec.name = r.at("name");
  rec.version = r.at("version");
  rec.build = r.at("build");
  rec.build_number = r.value("build_number", 0);
  rec.depends = r.value("depends", std::vector<std::string>{});
  rec.constrains = r.value("constrains", std::vector<std::string>{});
  rec.track_features = words(r.value("track_features", ""));
  rec.features = words(r.value("features", ""));
  rec.subdir = r.value("subdir", "");
  rec.noarch = r.value("noarch", "");
  rec.license = r.value("license", "");
  rec.timestamp = r.value("timestamp", int64_t{0});
  rec.filename = fn;
  rec.channel = "file://" + fs::weakly_canonical(subdir_dir.parent_path()).string();
  rec.url = rec.channel + "/" + subdir_dir.filename().string() + "/" + fn;
  rec.sha256 = r.value("sha256", "");
  rec.md5 = r.value("md5", "");
  rec.size = r.value("size", uint64_t{0});
  return rec;
}

std::vector<fs::path> recipe_packages() {
  std::vector<fs::path> out;
  for (const char* subdir : {"noarch", "linux-fake"})
    for (const auto& e : fs::directory_iterator(kRecipes / subdir))
      if (e.path().extension() == ".conda") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

LinkContext context() {
  LinkContext ctx;
  ctx.prefix = kPrefix;
  ctx.python_version = "3.11";
  ctx.target_subdir = "linux-fake";
  return ctx;
}

std::string bytes_of(const LayerEntry& e) { return e.source.empty() ? e.content : slurp(e.source); }

const LayerEntry* find(const LinkedPackage& p, const std::string& path) {
  for (const LayerEntry& e : p.entries)
    if (e.path == path) return &e;
  return nullptr;
}

std::string sha256(const std::string& data) {
  return envbuild::registry::Digest::sha256_of(data).hex();
}

class LinkFixture : public ::testing::Test {
 protected:
  fs::path extract(const fs::path& archive) {
    fs::path dest = cache_.path() / stem_of(archive);
    if (archive.filename().string().ends_with(".tar.bz2")) dest += "-bz2";
    extract_package(archive, dest);
    return dest;
  }
  LinkedPackage link(const fs::path& archive, const LinkContext& ctx = context()) {
    return link_package(extract(archive), record_for(archive), ctx, archive);
  }

  // Writes the entries as a layer, applies it to an empty root with the
  // layer reader, and returns the root.
  fs::path apply_as_layer(const std::vector<LayerEntry>& entries, const std::string& name) {
    fs::path blob = layers_.path() / (name + ".tar.gz");
    envbuild::registry::LayerOptions options;
    envbuild::registry::LayerInfo info = envbuild::registry::write_layer(entries, blob, options);
    EXPECT_EQ(info.entry_count, entries.size());
    fs::path root = layers_.path() / name;
    fs::create_directories(root);
    envbuild::registry::FileBlobReader reader(blob);
    envbuild::registry::apply_layer(reader, std::string(info.blob.media_type), root);
    return root;
  }

  TempDir cache_{"envbuild-conda-cache"};
  TempDir layers_{"envbuild-conda-layers"};
};

class EveryRecipePackage : public LinkFixture, public ::testing::WithParamInterface<fs::path> {};

TEST_P(EveryRecipePackage, ExtractsLinksAndBecomesALayer) {
  const fs::path archive = GetParam();
  fs::path dir = extract(archive);
  PackageRecord rec = record_for(archive);
  PackageMetadata meta = read_package_metadata(dir);
  LinkedPackage pkg = link_package(dir, rec, context(), archive);

  EXPECT_EQ(pkg.name, rec.name);
  EXPECT_EQ(pkg.dist_name, stem_of(archive));
  // Sorted, unique, all under the prefix, every folder present.
  std::set<std::string> paths;
  for (size_t i = 0; i < pkg.entries.size(); ++i) {
    const LayerEntry& e = pkg.entries[i];
    EXPECT_TRUE(e.path == "opt/conda" || e.path.starts_with("opt/conda/")) << e.path;
    EXPECT_TRUE(paths.insert(e.path).second) << e.path;
    if (i) {
      EXPECT_TRUE(envbuild::registry::layer_path_less(pkg.entries[i - 1].path, e.path));
    }
    if (e.path != "opt/conda") {
      const LayerEntry* parent = find(pkg, e.path.substr(0, e.path.rfind('/')));
      ASSERT_NE(parent, nullptr) << e.path;
      EXPECT_EQ(parent->type, LayerEntry::Type::Directory);
    }
  }

  // Every paths.json entry is installed with its bytes and mode.
  bool python = meta.noarch == "python";
  for (const PathEntry& p : meta.paths) {
    std::string target = p.path;
    if (python && target.starts_with("site-packages/")) target = "lib/python3.11/" + target;
    const LayerEntry* e = find(pkg, "opt/conda/" + target);
    ASSERT_NE(e, nullptr) << target;
    ASSERT_EQ(p.type, PathType::Hardlink) << "these packages hold only files";
    ASSERT_EQ(e->type, LayerEntry::Type::File) << target;
    std::string data = bytes_of(*e);
    EXPECT_EQ(data.size(), p.size.value()) << target;
    if (p.prefix_placeholder.empty()) {
      EXPECT_EQ(sha256(data), p.sha256) << target;
      EXPECT_EQ(e->source, dir / p.path) << "unchanged files are not copied";
    }
    struct stat st {};
    ASSERT_EQ(::stat((dir / p.path).c_str(), &st), 0);
    EXPECT_EQ(e->mode, st.st_mode & 0755) << target;
  }

  // The CEP 32 record, in the same layer.
  const LayerEntry* meta_entry = find(pkg, "opt/conda/conda-meta/" + pkg.dist_name + ".json");
  ASSERT_NE(meta_entry, nullptr);
  EXPECT_EQ(pkg.conda_meta_path, meta_entry->path);
  json cm = json::parse(meta_entry->content);
  EXPECT_EQ(cm, pkg.conda_meta);
  EXPECT_EQ(cm["name"], rec.name);
  EXPECT_EQ(cm["version"], rec.version);
  EXPECT_EQ(cm["build"], rec.build);
  EXPECT_EQ(cm["build_number"], rec.build_number);
  EXPECT_EQ(cm["channel"], rec.channel);
  EXPECT_EQ(cm["url"], rec.url);
  EXPECT_EQ(cm["fn"], rec.filename);
  EXPECT_EQ(cm["md5"], rec.md5);
  EXPECT_EQ(cm["sha256"], rec.sha256);
  EXPECT_EQ(cm["size"], rec.size);
  EXPECT_EQ(cm["subdir"], rec.subdir);
  EXPECT_EQ(cm["timestamp"], rec.timestamp);
  EXPECT_EQ(cm["depends"], rec.depends);
  EXPECT_EQ(cm["constrains"], rec.constrains);
  json r = repodata_entry(archive);
  EXPECT_EQ(cm["track_features"], r.value("track_features", ""));
  if (r.contains("features")) {
    EXPECT_EQ(cm["features"], r["features"]);
  }
  if (r.contains("license")) {
    EXPECT_EQ(cm["license"], r["license"]);
  }
  EXPECT_EQ(cm["extracted_package_dir"], fs::absolute(dir).lexically_normal().string());
  EXPECT_EQ(cm["package_tarball_full_path"], fs::absolute(archive).lexically_normal().string());
  EXPECT_EQ(cm["link"]["source"], cm["extracted_package_dir"]);
  EXPECT_EQ(cm["link"]["type"], 3);
  EXPECT_EQ(cm["requested_spec"], "");
  EXPECT_EQ(cm["paths_data"]["paths_version"], 1);
  ASSERT_EQ(cm["paths_data"]["paths"].size(), meta.paths.size());
  ASSERT_EQ(cm["files"].size(), meta.paths.size());
  for (size_t i = 0; i < meta.paths.size(); ++i) {
    const json& p = cm["paths_data"]["paths"][i];
    EXPECT_EQ(p["_path"], cm["files"][i]);
    EXPECT_EQ(p["path_type"], "hardlink");
    EXPECT_EQ(p["sha256"], meta.paths[i].sha256);
    EXPECT_EQ(p["sha256_in_prefix"], meta.paths[i].sha256);
    EXPECT_EQ(p["size_in_bytes"], meta.paths[i].size.value());
  }
  ASSERT_EQ(pkg.installed.size(), meta.paths.size());

  // The package cache convention: info/repodata_record.json.
  json rr = json::parse(slurp(dir / "info/repodata_record.json"));
  EXPECT_EQ(rr["fn"], rec.filename);
  EXPECT_EQ(rr["sha256"], rec.sha256);
  EXPECT_EQ(rr["url"], rec.url);
  EXPECT_EQ(rr["depends"], rec.depends);

  // As a layer, read back: every file with its bytes and mode.
  fs::path root = apply_as_layer(pkg.entries, pkg.dist_name);
  for (const LayerEntry& e : pkg.entries) {
    struct stat st {};
    ASSERT_EQ(::lstat((root / e.path).c_str(), &st), 0) << e.path;
    if (e.type == LayerEntry::Type::File) {
      EXPECT_TRUE(S_ISREG(st.st_mode)) << e.path;
      EXPECT_EQ(st.st_mode & 07777, e.mode) << e.path;
      EXPECT_EQ(slurp(root / e.path), bytes_of(e)) << e.path;
    } else {
      EXPECT_TRUE(S_ISDIR(st.st_mode)) << e.path;
    }
  }
  EXPECT_EQ(json::parse(slurp(root / pkg.conda_meta_path)), pkg.conda_meta);
}

INSTANTIATE_TEST_SUITE_P(CondaTestRecipes, EveryRecipePackage,
                         ::testing::ValuesIn(recipe_packages()),
                         [](const ::testing::TestParamInfo<fs::path>& info) {
                           std::string name = info.param.parent_path().filename().string() + "_" +
                                              stem_of(info.param);
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

TEST(CondaTestRecipesChannel, HasTheExpectedPackages) {
  // Guard against an empty parameter list passing silently.
  EXPECT_EQ(recipe_packages().size(), 35u);
}

using CondaLinkZlib = LinkFixture;

TEST_F(CondaLinkZlib, TextPlaceholderSymlinksAndModes) {
  LinkContext ctx = context();
  ctx.target_subdir = "linux-64";
  LinkedPackage pkg = link(kZlibConda, ctx);

  const LayerEntry* pc = find(pkg, "opt/conda/lib/pkgconfig/zlib.pc");
  ASSERT_NE(pc, nullptr);
  EXPECT_TRUE(pc->source.empty()) << "a replaced file is new bytes";
  EXPECT_EQ(pc->content.find("anaconda1anaconda2anaconda3"), std::string::npos) << pc->content;
  EXPECT_TRUE(pc->content.starts_with("prefix=/opt/conda\n")) << pc->content;
  EXPECT_EQ(pc->mode, 0644u);  // 0666 in the archive

  // libz.so and libz.so.1 have no target in this archive (see
  // package_archive.hpp); paths.json's hash finds libz.so.1.2.11.
  for (const char* link : {"opt/conda/lib/libz.so", "opt/conda/lib/libz.so.1"}) {
    const LayerEntry* e = find(pkg, link);
    ASSERT_NE(e, nullptr) << link;
    EXPECT_EQ(e->type, LayerEntry::Type::Symlink) << link;
    EXPECT_EQ(e->link_target, "libz.so.1.2.11") << link;
  }
  EXPECT_EQ(pkg.warnings.size(), 2u);
  const LayerEntry* lib = find(pkg, "opt/conda/lib/libz.so.1.2.11");
  ASSERT_NE(lib, nullptr);
  EXPECT_EQ(lib->type, LayerEntry::Type::File);
  EXPECT_EQ(fs::file_size(lib->source), 133384u);
  EXPECT_EQ(lib->mode, 0644u);

  // conda-meta: the replaced file has a different sha256 in the prefix; the
  // softlinks record their type.
  for (const json& p : pkg.conda_meta["paths_data"]["paths"]) {
    if (p["_path"] == "lib/pkgconfig/zlib.pc") {
      EXPECT_EQ(p["prefix_placeholder"], "/opt/anaconda1anaconda2anaconda3");
      EXPECT_EQ(p["file_mode"], "text");
      EXPECT_NE(p["sha256_in_prefix"], p["sha256"]);
      EXPECT_EQ(p["sha256_in_prefix"], sha256(pc->content));
    }
    if (p["_path"] == "lib/libz.so") {
      EXPECT_EQ(p["path_type"], "softlink");
    }
  }
  EXPECT_EQ(pkg.conda_meta["depends"], json::array({"libgcc-ng >=7.3.0"}));
  EXPECT_EQ(pkg.conda_meta["license"], "zlib");
  EXPECT_EQ(pkg.conda_meta["license_family"], "Other");  // from index.json

  // Read back from a layer: real symlinks.
  fs::path root = apply_as_layer(pkg.entries, "zlib");
  EXPECT_EQ(fs::read_symlink(root / "opt/conda/lib/libz.so"), "libz.so.1.2.11");
  EXPECT_EQ(fs::file_size(root / "opt/conda/lib/libz.so.1"), 133384u);
  EXPECT_TRUE(slurp(root / "opt/conda/lib/pkgconfig/zlib.pc").starts_with("prefix=/opt/conda\n"));
}

TEST_F(CondaLinkZlib, CondaAndTarBz2GiveTheSameLink) {
  LinkContext ctx = context();
  ctx.target_subdir = "linux-64";
  ctx.recorded_cache_dir = "/opt/conda/pkgs";
  LinkedPackage a = link(kZlibConda, ctx);
  LinkedPackage b = link(kZlibBz2, ctx);
  ASSERT_EQ(a.entries.size(), b.entries.size());
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const LayerEntry& x = a.entries[i];
    const LayerEntry& y = b.entries[i];
    EXPECT_EQ(x.path, y.path);
    EXPECT_EQ(x.type, y.type) << x.path;
    EXPECT_EQ(x.mode, y.mode) << x.path;
    EXPECT_EQ(x.link_target, y.link_target) << x.path;
    if (x.path == a.conda_meta_path || x.type != LayerEntry::Type::File) continue;
    EXPECT_EQ(bytes_of(x), bytes_of(y)) << x.path;
  }
  // The records differ only where the archives do.
  json ma = a.conda_meta;
  json mb = b.conda_meta;
  for (const char* key : {"fn", "url", "md5", "sha256", "size", "package_tarball_full_path",
                          "extracted_package_dir", "link"}) {
    ma.erase(key);
    mb.erase(key);
  }
  EXPECT_EQ(ma, mb);
  EXPECT_EQ(a.conda_meta["extracted_package_dir"], "/opt/conda/pkgs/zlib-1.2.11-h7b6447c_3");
  EXPECT_EQ(a.conda_meta["package_tarball_full_path"],
            "/opt/conda/pkgs/zlib-1.2.11-h7b6447c_3.conda");

  // Same content in, same layer bytes out: written twice, one digest.
  envbuild::registry::LayerOptions options;
  auto first = envbuild::registry::write_layer(a.entries, layers_.path() / "a.tar.gz", options);
  LinkedPackage again = link(kZlibConda, ctx);
  auto second =
      envbuild::registry::write_layer(again.entries, layers_.path() / "b.tar.gz", options);
  EXPECT_EQ(first.blob.digest, second.blob.digest);
}

TEST_F(CondaLinkZlib, RefusedForAnotherSubdirOrWithoutSymlinkRepair) {
  LinkContext ctx = context();  // linux-fake
  std::string msg;
  EXPECT_EQ(kind_of([&] { link(kZlibConda, ctx); }, &msg), ErrorKind::BadInput);
  EXPECT_NE(msg.find("linux-64"), std::string::npos) << msg;
  ctx.target_subdir = "linux-64";
  ctx.repair_empty_symlinks = false;
  EXPECT_EQ(kind_of([&] { link(kZlibConda, ctx); }, &msg), ErrorKind::BadInput);
  EXPECT_NE(msg.find("lib/libz.so"), std::string::npos) << msg;
}

TEST_F(CondaLinkZlib, ARecordForAnotherPackageIsRefused) {
  fs::path dir = extract(kZlibConda);
  PackageRecord rec = record_for(kZlibConda);
  rec.build = "h7b6447c_4";
  LinkContext ctx = context();
  ctx.target_subdir = "linux-64";
  std::string msg;
  EXPECT_EQ(kind_of([&] { link_package(dir, rec, ctx); }, &msg), ErrorKind::BadInput);
  EXPECT_NE(msg.find("h7b6447c_4"), std::string::npos) << msg;
}

TEST_F(CondaLinkZlib, BadPrefixesAreRefused) {
  fs::path dir = extract(kZlibConda);
  PackageRecord rec = record_for(kZlibConda);
  for (const char* prefix : {"", "opt/conda", "/", "/opt/conda/", "/opt//conda", "/opt/../etc",
                             "/opt/my conda", "/opt/con\nda"}) {
    LinkContext ctx = context();
    ctx.target_subdir = "linux-64";
    ctx.prefix = prefix;
    EXPECT_EQ(kind_of([&] { link_package(dir, rec, ctx); }), ErrorKind::BadInput) << prefix;
  }
}

using CondaLinkNoarchPython = LinkFixture;

TEST_F(CondaLinkNoarchPython, SitePackagesMoveUnderThePythonVersion) {
  fs::path archive = kRecipes / "noarch/sample_noarch_python-1.0-py_0.conda";
  LinkedPackage pkg = link(archive);
  const LayerEntry* sample = find(pkg, "opt/conda/lib/python3.11/site-packages/sample.py");
  ASSERT_NE(sample, nullptr);
  EXPECT_EQ(sample->type, LayerEntry::Type::File);
  EXPECT_EQ(find(pkg, "opt/conda/site-packages"), nullptr);
  EXPECT_EQ(pkg.conda_meta["files"], json::array({"lib/python3.11/site-packages/sample.py"}));
  EXPECT_EQ(pkg.conda_meta["noarch"], "python");

  LinkContext ctx = context();
  ctx.python_version = "";
  std::string msg;
  EXPECT_EQ(kind_of([&] { link(archive, ctx); }, &msg), ErrorKind::BadInput);
  EXPECT_NE(msg.find("python"), std::string::npos) << msg;
}

TEST_F(CondaLinkNoarchPython, SitePackagesPathFromThePythonRecord) {
  // The test channel's python declares CEP 20's python_site_packages_path.
  fs::path python_dir = extract(kRecipes / "noarch/python-3.99.99-0.conda");
  PackageMetadata python = read_package_metadata(python_dir);
  EXPECT_EQ(python.python_site_packages_path, "lib/python3.99t/site-packages");
  LinkContext ctx = context();
  ctx.python_version = "3.99";
  ctx.python_site_packages_path = python.python_site_packages_path;
  LinkedPackage pkg = link(kRecipes / "noarch/sample_noarch_python-1.0-py_0.conda", ctx);
  EXPECT_NE(find(pkg, "opt/conda/lib/python3.99t/site-packages/sample.py"), nullptr);
}

TEST_F(CondaLinkNoarchPython, EntryPointsBecomeScriptsInBin) {
  // The real package plus entry points in its link.json (none of the test
  // channel's packages has any).
  fs::path dir = extract(kRecipes / "noarch/sample_noarch_python-1.0-py_0.conda");
  fs::path copy = cache_.path() / "sample_noarch_python-1.0-py_0.with-entry-points";
  fs::copy(dir, copy, fs::copy_options::recursive);
  fs::remove(copy / "info/link.json");
  envbuild::testing::write_file(
      copy / "info/link.json",
      R"({"noarch": {"type": "python", "entry_points": ["sample-cli = sample:main",
          "sample-other = sample.sub:App.run"]}, "package_metadata_version": 1})");
  LinkedPackage pkg = link_package(
      copy, record_for(kRecipes / "noarch/sample_noarch_python-1.0-py_0.conda"), context());
  const LayerEntry* cli = find(pkg, "opt/conda/bin/sample-cli");
  ASSERT_NE(cli, nullptr);
  EXPECT_EQ(cli->mode, 0755u);
  EXPECT_TRUE(cli->content.starts_with("#!/opt/conda/bin/python3.11\n")) << cli->content;
  EXPECT_NE(cli->content.find("from sample import main\n"), std::string::npos);
  EXPECT_NE(cli->content.find("sys.exit(main())"), std::string::npos);
  const LayerEntry* other = find(pkg, "opt/conda/bin/sample-other");
  ASSERT_NE(other, nullptr);
  EXPECT_NE(other->content.find("from sample.sub import App\n"), std::string::npos);
  ASSERT_NE(find(pkg, "opt/conda/bin"), nullptr);
  EXPECT_EQ(find(pkg, "opt/conda/bin")->type, LayerEntry::Type::Directory);

  json files = pkg.conda_meta["files"];
  EXPECT_NE(std::find(files.begin(), files.end(), "bin/sample-cli"), files.end());
  bool recorded = false;
  for (const json& p : pkg.conda_meta["paths_data"]["paths"])
    if (p["_path"] == "bin/sample-cli") {
      recorded = true;
      EXPECT_EQ(p["path_type"], "unix_python_entry_point");
      EXPECT_EQ(p["sha256_in_prefix"], sha256(cli->content));
    }
  EXPECT_TRUE(recorded);
}

using CondaLinkScripts = LinkFixture;

TEST_F(CondaLinkScripts, PostLinkScriptsAreReported) {
  std::map<std::string, std::string> expected = {
      {"post_link-c", "bin/.post_link-c-post-link.sh"},
      {"post_link-d", "bin/.post_link-d-post-link.sh"},
      {"post_link-e", "bin/.post_link-e-post-link.sh"},
      {"failing_post_link", "bin/.failing_post_link-post-link.sh"},
      {"post_link_run_in_env_package", "bin/.post_link_run_in_env_package-post-link.sh"},
  };
  size_t with_scripts = 0;
  for (const fs::path& archive : recipe_packages()) {
    LinkedPackage pkg = link(archive);
    EXPECT_FALSE(pkg.has_pre_link) << pkg.name;
    EXPECT_FALSE(pkg.has_pre_unlink) << pkg.name;
    auto it = expected.find(pkg.name);
    if (it == expected.end()) {
      EXPECT_FALSE(pkg.has_post_link) << pkg.name;
      continue;
    }
    ++with_scripts;
    EXPECT_TRUE(pkg.has_post_link) << pkg.name;
    EXPECT_EQ(pkg.post_link_script, it->second);
    // Installed like any file, executable.
    const LayerEntry* e = find(pkg, "opt/conda/" + it->second);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->mode, 0755u);
  }
  EXPECT_EQ(with_scripts, expected.size());
}

TEST_F(CondaLinkScripts, PrelinkMessagesAreRead) {
  LinkedPackage pkg = link(kRecipes / "noarch/pre_link_messages_package-1.0-0.conda");
  ASSERT_EQ(pkg.prelink_messages.size(), 2u);
  EXPECT_NE(pkg.prelink_messages[0].find("Lorem ipsum"), std::string::npos);
  EXPECT_NE(pkg.prelink_messages[1].find("SPAM!"), std::string::npos);
}

using CondaLinkClobber = LinkFixture;

TEST_F(CondaLinkClobber, TheChannelsClobberingPackages) {
  std::vector<LinkedPackage> all;
  for (const fs::path& archive : recipe_packages()) all.push_back(link(archive));
  std::vector<Clobber> clobbers = find_clobbers(all);
  ASSERT_EQ(clobbers.size(), 2u);
  EXPECT_EQ(clobbers[0].path, "bin/clobber-test-file");
  EXPECT_EQ(clobbers[0].first_package, "clobber-a");
  EXPECT_EQ(clobbers[0].second_package, "clobber-b");
  EXPECT_FALSE(clobbers[0].same_content);
  // post_link-b and private-package both ship the same bin/file.
  EXPECT_EQ(clobbers[1].path, "bin/file");
  EXPECT_EQ(clobbers[1].first_package, "post_link-b");
  EXPECT_EQ(clobbers[1].second_package, "private-package");
  EXPECT_TRUE(clobbers[1].same_content);
}

using CondaLinkCondaMeta = LinkFixture;

TEST_F(CondaLinkCondaMeta, RequestedSpecIsTheCallersAndRefreshes) {
  LinkedPackage pkg = link(kRecipes / "noarch/dependent-2.0-0.conda");
  pkg.conda_meta["requested_spec"] = "dependent >=2";
  pkg.conda_meta["requested_specs"] = json::array({"dependent >=2"});
  refresh_conda_meta_entry(pkg);
  const LayerEntry* e = find(pkg, pkg.conda_meta_path);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(json::parse(e->content)["requested_spec"], "dependent >=2");
  EXPECT_EQ(pkg.conda_meta["depends"], json::array({"dependency >=2.0,<3.0a0"}));
}

TEST_F(CondaLinkCondaMeta, ExtractionIsReusedAndRepodataRecordRewrittenOnlyOnChange) {
  fs::path archive = kRecipes / "noarch/small-executable-1.0-0.conda";
  fs::path dir = extract(archive);
  link_package(dir, record_for(archive), context(), archive);
  auto before = fs::last_write_time(dir / "info/repodata_record.json");
  fs::path marker = dir / "marker";
  envbuild::testing::write_file(marker, "x");
  extract_package(archive, dir);  // already complete: untouched
  EXPECT_TRUE(fs::exists(marker));
  link_package(dir, record_for(archive), context(), archive);
  EXPECT_EQ(fs::last_write_time(dir / "info/repodata_record.json"), before);
}

}  // namespace
