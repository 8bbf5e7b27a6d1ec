// Clobber detection over linked packages: two packages writing one path,
// and a file where another package needs a folder.
#include <gtest/gtest.h>

#include "builder/conda/package/clobber.hpp"

using namespace envbuild::builder::conda;

namespace {

LinkedPackage pkg(std::string name, std::vector<InstalledPath> installed) {
  LinkedPackage p;
  p.name = std::move(name);
  p.dist_name = p.name + "-1.0-0";
  p.installed = std::move(installed);
  return p;
}

InstalledPath file(std::string path, std::string sha = "") {
  return InstalledPath{std::move(path), PathType::Hardlink, std::move(sha), ""};
}
InstalledPath link(std::string path, std::string target) {
  return InstalledPath{std::move(path), PathType::Softlink, "", std::move(target)};
}

TEST(CondaClobber, NoneWhenPathsAreDisjoint) {
  std::vector<LinkedPackage> pkgs = {pkg("a", {file("bin/a"), file("lib/x/a.so")}),
                                     pkg("b", {file("bin/b"), file("lib/x/b.so")})};
  EXPECT_TRUE(find_clobbers(pkgs).empty());  // lib/x is shared as a folder: fine
}

TEST(CondaClobber, SamePathReportsBothPackagesInOrder) {
  std::vector<LinkedPackage> pkgs = {
      pkg("clobber-a", {file("bin/clobber-test-file", "aa")}),
      pkg("other", {file("bin/other")}),
      pkg("clobber-b", {file("bin/clobber-test-file", "bb")}),
  };
  auto c = find_clobbers(pkgs);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].path, "bin/clobber-test-file");
  EXPECT_EQ(c[0].first_package, "clobber-a");
  EXPECT_EQ(c[0].second_package, "clobber-b");
  EXPECT_FALSE(c[0].same_content);
}

TEST(CondaClobber, SameContentIsTold) {
  std::vector<LinkedPackage> pkgs = {
      pkg("a", {file("f", "same"), link("l", "t"), file("unknown")}),
      pkg("b", {file("f", "same"), link("l", "t"), file("unknown")}),
      pkg("c", {file("f", "other"), link("l", "u")}),
  };
  auto c = find_clobbers(pkgs);
  ASSERT_EQ(c.size(), 5u);
  // Sorted by path, then package order; each later owner against the first.
  EXPECT_EQ(c[0].path, "f");
  EXPECT_TRUE(c[0].same_content);   // a vs b
  EXPECT_FALSE(c[1].same_content);  // a vs c
  EXPECT_EQ(c[1].second_package, "c");
  EXPECT_EQ(c[2].path, "l");
  EXPECT_TRUE(c[2].same_content);
  EXPECT_FALSE(c[3].same_content);
  EXPECT_EQ(c[4].path, "unknown");
  EXPECT_FALSE(c[4].same_content);  // no hashes: not known to be the same
}

TEST(CondaClobber, FileWhereAFolderIsNeeded) {
  std::vector<LinkedPackage> pkgs = {pkg("dirs", {file("share/x/y/z")}),
                                     pkg("file", {file("share/x")})};
  auto c = find_clobbers(pkgs);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].path, "share/x");
  EXPECT_EQ(c[0].first_package, "dirs");
  EXPECT_EQ(c[0].second_package, "file");
}

}  // namespace
