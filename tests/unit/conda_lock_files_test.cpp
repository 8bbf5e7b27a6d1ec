// Lock files: conda's explicit format and the JSON lock, written and read
// back; malformed input named by file and line.
#include <gtest/gtest.h>

#include "builder/conda/install/lock_files.hpp"
#include "registry/error.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::builder;
using envbuild::testing::slurp;
using envbuild::testing::TempDir;
using envbuild::testing::write_file;

namespace {

EnvironmentLock sample_lock() {
  EnvironmentLock lock;
  lock.spec_hash = std::string(64, 'a');
  lock.platform = "linux/amd64";
  lock.base_reference = "docker.io/library/debian:12-slim";
  lock.base_digest = registry::Digest::sha256_of("base");
  LockedPackage zlib{"conda",
                     "zlib",
                     "1.2.13",
                     "hd590300_5",
                     "https://conda.anaconda.org/conda-forge",
                     "linux-64",
                     "https://conda.anaconda.org/conda-forge/linux-64/zlib-1.2.13-hd590300_5.conda",
                     std::string(64, 'b'),
                     "",
                     61588};
  LockedPackage old{
      "conda",
      "python-dateutil",
      "2.9.0",
      "pyhd8ed1ab_0",
      "https://conda.anaconda.org/conda-forge",
      "noarch",
      "https://conda.anaconda.org/conda-forge/noarch/python-dateutil-2.9.0-pyhd8ed1ab_0.tar.bz2",
      "",
      std::string(32, 'c'),
      222742};
  lock.packages = {zlib, old};
  return lock;
}

}  // namespace

TEST(CondaLockFiles, ExplicitFormatRoundTrips) {
  TempDir tmp;
  const EnvironmentLock lock = sample_lock();
  conda::write_lock_file(tmp.path() / "env.lock", lock, "linux-64");
  const std::string text = slurp(tmp.path() / "env.lock");
  EXPECT_NE(text.find("@EXPLICIT\n"), std::string::npos);
  EXPECT_NE(text.find("zlib-1.2.13-hd590300_5.conda#sha256:" + std::string(64, 'b')),
            std::string::npos);
  EXPECT_NE(text.find(".tar.bz2#" + std::string(32, 'c')), std::string::npos);
  const auto back = conda::read_lock_file(tmp.path() / "env.lock");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].name, "zlib");
  EXPECT_EQ(back[0].version, "1.2.13");
  EXPECT_EQ(back[0].build, "hd590300_5");
  EXPECT_EQ(back[0].subdir, "linux-64");
  EXPECT_EQ(back[0].channel, "https://conda.anaconda.org/conda-forge");
  EXPECT_EQ(back[0].sha256, std::string(64, 'b'));
  EXPECT_EQ(back[1].name, "python-dateutil");
  EXPECT_EQ(back[1].md5, std::string(32, 'c'));
}

TEST(CondaLockFiles, JsonFormatRoundTrips) {
  TempDir tmp;
  const EnvironmentLock lock = sample_lock();
  conda::write_lock_file(tmp.path() / "env.lock.json", lock, "linux-64");
  EXPECT_EQ(slurp(tmp.path() / "env.lock.json").front(), '{');
  const auto back = conda::read_lock_file(tmp.path() / "env.lock.json");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].url, lock.packages[0].url);
  EXPECT_EQ(back[0].size, 61588u);
  EXPECT_EQ(back[1].md5, lock.packages[1].md5);
}

TEST(CondaLockFiles, MalformedLocksNameTheLine) {
  TempDir tmp;
  struct Case {
    const char* text;
    const char* expected;
  };
  const std::string sha(64, 'd');
  const Case cases[] = {
      {"https://x/c/linux-64/a-1-0.conda#sha256:dd\n", "l.txt:1: expected @EXPLICIT"},
      {"@EXPLICIT\nhttps://x/c/linux-64/a-1-0.conda\n", "l.txt:2: the URL has no #sha256"},
      {"@EXPLICIT\nftp://x/c/linux-64/a-1-0.conda#abc\n",
       "l.txt:2: only https, http and file URLs"},
      {"@EXPLICIT\nhttps://x/c/linux-64/a-1-0.conda#nothex\n",
       "l.txt:2: 'nothex' is not a sha256 or md5"},
      {"@EXPLICIT\nhttps://x/c/linux-64/readme.txt#0123456789abcdef0123456789abcdef\n",
       "l.txt:2: 'https://x/c/linux-64/readme.txt' is not a conda package URL"},
      {"# nothing\n", "l.txt: not a conda explicit lock"},
      {"{\"lock_version\": 1}", "l.txt: malformed lock"},
      {"{oops", "l.txt: not valid JSON"},
  };
  for (const Case& c : cases) {
    write_file(tmp.path() / "l.txt", c.text);
    try {
      conda::read_lock_file(tmp.path() / "l.txt");
      ADD_FAILURE() << "accepted:\n" << c.text;
    } catch (const Error& e) {
      std::string msg = e.what();
      msg.erase(0, tmp.path().string().size() + 1);
      EXPECT_EQ(msg.substr(0, std::string(c.expected).size()), c.expected) << msg;
    }
  }
}
