// Parsing of conda package metadata (CEP 34): index.json, paths.json,
// link.json entry points, and the legacy info/files + has_prefix + no_link.
#include <gtest/gtest.h>

#include "builder/conda/package/package_metadata.hpp"
#include "builder/conda/package/package_path.hpp"
#include "registry/error.hpp"
#include "tests/support/error_kind.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

using envbuild::ErrorKind;
using envbuild::testing::kind_of;
using namespace envbuild::builder::conda;

namespace {

constexpr const char* kSha = "79aa69435cd17d98c25fbe1ac03aa6681b6edee04a5fb04c141ab1effcaa3c3f";

std::string paths_json(const std::string& entries) {
  return R"({"paths_version": 1, "paths": [)" + entries + "]}";
}

TEST(CondaPackagePath, NormalizesAndRefusesEscapes) {
  EXPECT_EQ(checked_package_path("./lib//libz.so", "t"), "lib/libz.so");
  EXPECT_EQ(package_path_components(".", "t").size(), 0u);
  std::string msg;
  EXPECT_EQ(kind_of([] { checked_package_path("../etc/passwd", "pkg.conda: entry"); }, &msg),
            ErrorKind::BadInput);
  EXPECT_NE(msg.find("pkg.conda: entry"), std::string::npos) << msg;
  EXPECT_NE(msg.find(".."), std::string::npos) << msg;
  EXPECT_EQ(kind_of([] { checked_package_path("lib/../../x", "t"); }), ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { checked_package_path("/etc/passwd", "t"); }), ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { checked_package_path(std::string("a\0b", 3), "t"); }),
            ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { checked_package_path(std::string(5000, 'a'), "t"); }),
            ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { checked_package_path("./", "t"); }), ErrorKind::BadInput);
  EXPECT_TRUE(path_is_within("info/index.json", "info"));
  EXPECT_TRUE(path_is_within("info", "info"));
  EXPECT_FALSE(path_is_within("information", "info"));
}

TEST(CondaPackagePath, InstallPathsStayOutOfInfoAndCondaMeta) {
  EXPECT_EQ(checked_install_path("bin/x", "t"), "bin/x");
  EXPECT_EQ(kind_of([] { checked_install_path("info/index.json", "t"); }), ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { checked_install_path("conda-meta/evil.json", "t"); }),
            ErrorKind::BadInput);
  EXPECT_EQ(checked_install_path("conda-metadata/x", "t"), "conda-metadata/x");
}

TEST(CondaPathsJson, ReadsEveryField) {
  auto paths = parse_paths_json(
      paths_json(std::string(R"({"_path": "lib/libz.so.1", "path_type": "softlink", "sha256": ")") +
                 kSha + R"(", "size_in_bytes": 133384},
         {"_path": "lib/pkgconfig/zlib.pc", "file_mode": "text", "path_type": "hardlink",
          "prefix_placeholder": "/opt/anaconda1anaconda2anaconda3", "sha256": ")" +
                 kSha + R"(", "size_in_bytes": 281},
         {"_path": "bin/tool", "file_mode": "binary", "prefix_placeholder": "/p_placehold",
          "no_link": true, "sha256": ")" +
                 kSha + R"(", "size_in_bytes": 5},
         {"_path": "share/empty", "path_type": "directory"},
         {"_path": "./etc//x"})"),
      "paths.json");
  ASSERT_EQ(paths.size(), 5u);
  EXPECT_EQ(paths[0].path, "lib/libz.so.1");
  EXPECT_EQ(paths[0].type, PathType::Softlink);
  EXPECT_EQ(paths[0].size, 133384u);
  EXPECT_EQ(paths[0].sha256, kSha);
  EXPECT_EQ(paths[1].prefix_placeholder, "/opt/anaconda1anaconda2anaconda3");
  EXPECT_EQ(paths[1].file_mode, FileMode::Text);
  EXPECT_EQ(paths[2].type, PathType::Hardlink);  // the default
  EXPECT_EQ(paths[2].file_mode, FileMode::Binary);
  EXPECT_TRUE(paths[2].no_link);
  EXPECT_FALSE(paths[1].no_link);
  EXPECT_EQ(paths[3].type, PathType::Directory);
  EXPECT_FALSE(paths[3].size.has_value());
  EXPECT_TRUE(paths[3].sha256.empty());
  EXPECT_EQ(paths[4].path, "etc/x");
}

TEST(CondaPathsJson, RefusesMalformedAndHostileEntries) {
  auto refused = [](const std::string& text) {
    return kind_of([&] { parse_paths_json(text, "pkg/info/paths.json"); }) == ErrorKind::BadInput;
  };
  EXPECT_TRUE(refused("not json"));
  EXPECT_TRUE(refused("[]"));
  EXPECT_TRUE(refused(R"({"paths_version": 2, "paths": []})"));
  EXPECT_TRUE(refused(R"({"paths": []})"));
  EXPECT_TRUE(refused(paths_json(R"({"_path": "../../etc/passwd"})")));
  EXPECT_TRUE(refused(paths_json(R"({"_path": "/etc/passwd"})")));
  EXPECT_TRUE(refused(paths_json(R"({"_path": "info/paths.json"})")));
  EXPECT_TRUE(refused(paths_json(R"({"_path": "conda-meta/x.json"})")));
  EXPECT_TRUE(refused(paths_json(R"({"_path": "a"}, {"_path": "./a"})")));
  EXPECT_TRUE(refused(paths_json(R"({"_path": "a", "path_type": "pyc_file"})")));
  EXPECT_TRUE(refused(paths_json(R"({"_path": "a", "file_mode": "weird"})")));
  EXPECT_TRUE(refused(paths_json(R"({"_path": "a", "sha256": "XYZ"})")));
  EXPECT_TRUE(refused(paths_json(R"({"_path": "a", "size_in_bytes": -1})")));
  EXPECT_TRUE(refused(paths_json(R"({"_path": "a", "no_link": "yes"})")));
  EXPECT_TRUE(refused(paths_json(R"({"path_type": "hardlink"})")));
  EXPECT_TRUE(refused(
      paths_json(R"({"_path": "a", "path_type": "softlink", "prefix_placeholder": "/x"})")));
  std::string msg;
  kind_of([] { parse_paths_json(paths_json(R"({"_path": "x/../../y"})"), "zlib/info/paths.json"); },
          &msg);
  EXPECT_NE(msg.find("zlib/info/paths.json"), std::string::npos) << msg;
}

TEST(CondaIndexJson, RequiresNameVersionBuild) {
  auto j = parse_index_json(R"({"name": "zlib", "version": "1.2.11", "build": "h7b6447c_3",
                                "build_number": 3, "subdir": "linux-64", "arch": null})",
                            "index.json");
  EXPECT_EQ(j["name"], "zlib");
  EXPECT_EQ(kind_of([] { parse_index_json(R"({"version": "1", "build": "0"})", "i"); }),
            ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { parse_index_json(R"({"name": 3, "version": "1", "build": "0"})", "i"); }),
            ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] {
              parse_index_json(R"({"name": "a", "version": "1", "build": "0", "noarch": 3})", "i");
            }),
            ErrorKind::BadInput);
}

TEST(CondaLinkJson, NoarchTypeAndEntryPoints) {
  LinkJson link = parse_link_json(R"({"noarch": {"type": "python", "entry_points": [
      "bsdiff4 = bsdiff4.cli:main_bsdiff4", "tool=pkg.sub:Main.run", "x-y.z = m:f [extra1,extra2]"]},
      "package_metadata_version": 1})",
                                  "link.json");
  EXPECT_EQ(link.noarch_type, "python");
  ASSERT_EQ(link.entry_points.size(), 3u);
  EXPECT_EQ(link.entry_points[0].name, "bsdiff4");
  EXPECT_EQ(link.entry_points[0].module, "bsdiff4.cli");
  EXPECT_EQ(link.entry_points[0].function, "main_bsdiff4");
  EXPECT_EQ(link.entry_points[1].name, "tool");
  EXPECT_EQ(link.entry_points[1].function, "Main.run");
  EXPECT_EQ(link.entry_points[2].name, "x-y.z");
  EXPECT_EQ(link.entry_points[2].module, "m");

  EXPECT_EQ(parse_link_json(R"({"noarch": {"type": "generic"}})", "l").noarch_type, "generic");
  EXPECT_EQ(parse_link_json(R"({"package_metadata_version": 1})", "l").noarch_type, "");
  EXPECT_EQ(kind_of([] { parse_link_json(R"({"noarch": {"type": "ruby"}})", "l"); }),
            ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] {
              parse_link_json(
                  R"({"noarch": {"type": "python", "entry_points": ["a = b:c", "a = d:e"]}})", "l");
            }),
            ErrorKind::BadInput);
}

TEST(CondaLinkJson, RefusesEntryPointsThatAreNotNameModuleFunction) {
  for (const char* text :
       {"noequals", "a = nocolon", "../x = m:f", "bin/x = m:f", " = m:f", "a = m:", "a = :f",
        "a = m;rm -rf:f", "a = m:f()", "a = m..x:f", "a = m:f [extra"}) {
    EXPECT_EQ(kind_of([&] { parse_entry_point(text, "link.json"); }), ErrorKind::BadInput) << text;
  }
}

TEST(CondaLegacyFiles, FilesHasPrefixAndNoLink) {
  auto paths = parse_legacy_files("bin/tool\nlib/libx.so\r\n\nshare/a b.txt\nshare/plain\n",
                                  "/opt/anaconda1anaconda2anaconda3 binary lib/libx.so\n"
                                  "\"/build/prefix\" text \"share/a b.txt\"\n"
                                  "bin/tool\n"
                                  "/x text not/installed\n",
                                  "share/plain\n", "pkg");
  ASSERT_EQ(paths.size(), 4u);
  EXPECT_EQ(paths[0].path, "bin/tool");
  EXPECT_EQ(paths[0].prefix_placeholder, kDefaultPrefixPlaceholder);
  EXPECT_EQ(paths[0].file_mode, FileMode::Text);
  EXPECT_EQ(paths[1].path, "lib/libx.so");
  EXPECT_EQ(paths[1].file_mode, FileMode::Binary);
  EXPECT_EQ(paths[1].prefix_placeholder, "/opt/anaconda1anaconda2anaconda3");
  EXPECT_EQ(paths[2].path, "share/a b.txt");
  EXPECT_EQ(paths[2].prefix_placeholder, "/build/prefix");
  EXPECT_TRUE(paths[3].no_link);
  EXPECT_TRUE(paths[3].prefix_placeholder.empty());
  EXPECT_TRUE(paths[3].sha256.empty());
  EXPECT_FALSE(paths[3].size.has_value());

  EXPECT_EQ(kind_of([] { parse_legacy_files("../x\n", "", "", "pkg"); }), ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { parse_legacy_files("a\na\n", "", "", "pkg"); }), ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { parse_legacy_files("a\n", "p weird a\n", "", "pkg"); }),
            ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { parse_legacy_files("a\n", "p text\n", "", "pkg"); }), ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { parse_legacy_files("a\n", "\"p text a\n", "", "pkg"); }),
            ErrorKind::BadInput);
}

TEST(CondaPackageMetadata, ReadsAnExtractedTreeAndFallsBackToInfoFiles) {
  envbuild::testing::TempDir tmp;
  auto dir = tmp.path();
  using envbuild::testing::write_file;
  write_file(dir / "info/index.json",
             R"({"name": "old", "version": "1.0", "build": "0", "subdir": "linux-64"})");
  write_file(dir / "info/files", "bin/tool\nlib/link\n");
  write_file(dir / "info/has_prefix", "bin/tool\n");
  write_file(dir / "bin/tool", "#!/opt/anaconda1anaconda2anaconda3/bin/sh\n", 0755);
  std::filesystem::create_directories(dir / "lib");
  std::filesystem::create_symlink("../bin/tool", dir / "lib/link");
  PackageMetadata m = read_package_metadata(dir);
  EXPECT_FALSE(m.has_paths_json);
  EXPECT_EQ(m.name, "old");
  EXPECT_EQ(m.subdir, "linux-64");
  EXPECT_EQ(m.noarch, "");
  ASSERT_EQ(m.paths.size(), 2u);
  EXPECT_EQ(m.paths[0].type, PathType::Hardlink);
  EXPECT_EQ(m.paths[0].prefix_placeholder, kDefaultPrefixPlaceholder);
  EXPECT_EQ(m.paths[1].type, PathType::Softlink);

  // paths.json wins over info/files; link.json's noarch over index.json's.
  write_file(dir / "info/paths.json",
             paths_json(R"({"_path": "bin/tool", "sha256": ")" + std::string(kSha) + R"("})"));
  write_file(dir / "info/link.json",
             R"({"noarch": {"type": "python", "entry_points": ["t = m:f"]}})");
  m = read_package_metadata(dir);
  EXPECT_TRUE(m.has_paths_json);
  ASSERT_EQ(m.paths.size(), 1u);
  EXPECT_TRUE(m.paths[0].prefix_placeholder.empty());
  EXPECT_EQ(m.noarch, "python");
  ASSERT_EQ(m.entry_points.size(), 1u);

  // A metadata file the package made a symlink is refused, not followed.
  std::filesystem::remove(dir / "info/paths.json");
  std::filesystem::create_symlink("/etc/hostname", dir / "info/paths.json");
  EXPECT_EQ(kind_of([&] { read_package_metadata(dir); }), ErrorKind::BadInput);

  // info/files naming something absent is refused.
  std::filesystem::remove(dir / "info/paths.json");
  write_file(dir / "info/files", "bin/missing\n");
  EXPECT_EQ(kind_of([&] { read_package_metadata(dir); }), ErrorKind::BadInput);
}

TEST(CondaPackageMetadata, SymlinkedInfoFolderIsRefused) {
  envbuild::testing::TempDir tmp;
  envbuild::testing::write_file(tmp.path() / "elsewhere/index.json",
                                R"({"name": "a", "version": "1", "build": "0"})");
  std::filesystem::create_directories(tmp.path() / "pkg");
  std::filesystem::create_symlink(tmp.path() / "elsewhere", tmp.path() / "pkg/info");
  std::string msg;
  EXPECT_EQ(kind_of([&] { read_package_metadata(tmp.path() / "pkg"); }, &msg), ErrorKind::BadInput);
  EXPECT_NE(msg.find("symlink"), std::string::npos) << msg;
}

}  // namespace
