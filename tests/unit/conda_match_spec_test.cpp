#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "builder/conda/match_spec.hpp"
#include "registry/error.hpp"

using namespace envbuild;
using namespace envbuild::builder::conda;

namespace {

std::string canon(const std::string& spec) { return MatchSpec::parse(spec).canonical(); }

void expect_canonical(const std::vector<std::pair<std::string, std::string>>& table) {
  for (const auto& [input, expected] : table) {
    std::string got;
    try {
      got = canon(input);
    } catch (const Error& e) {
      ADD_FAILURE() << input << ": " << e.what();
      continue;
    }
    EXPECT_EQ(got, expected) << input;
    // The canonical text parses back to itself.
    EXPECT_EQ(canon(got), got) << input;
  }
}

}  // namespace

// conda's test_canonical_string_forms, where our normalization differs the
// difference is noted.
TEST(MatchSpec, CondaCanonicalForms) {
  expect_canonical({
      {"numpy", "numpy"},
      {"numpy=1.7", "numpy=1.7"},
      {"numpy 1.7*", "numpy=1.7"},
      {"numpy 1.7.*", "numpy=1.7"},
      {"numpy[version='1.7*']", "numpy=1.7"},
      {"numpy[version='1.7.*']", "numpy=1.7"},
      {"numpy[version=1.7.*]", "numpy=1.7"},
      {"numpy==1.7", "numpy==1.7"},
      {"numpy[version='1.7']", "numpy==1.7"},
      {"numpy[version=1.7]", "numpy==1.7"},
      {"numpy 1.7", "numpy==1.7"},
      // conda keeps bare literals inside expressions; ours are explicit.
      {"numpy[version='1.7|1.8']", "numpy[version='==1.7|==1.8']"},
      {"numpy[version=\"1.7,1.8\"]", "numpy[version='==1.7,==1.8']"},
      {"numpy >1.7", "numpy[version='>1.7']"},
      {"numpy>=1.7", "numpy[version='>=1.7']"},
      {"numpy=1.7=py3*_2", "numpy==1.7[build=py3*_2]"},
      {"numpy=1.7.*=py3*_2", "numpy=1.7[build=py3*_2]"},
      {"defaults::numpy", "defaults::numpy"},
      {"numpy[channel=defaults]", "defaults::numpy"},
      {"conda-forge::numpy", "conda-forge::numpy"},
      {"numpy[channel=conda-forge]", "conda-forge::numpy"},
      {"numpy[channel=defaults,subdir=osx-64]", "defaults/osx-64::numpy"},
      {"defaults/win-32::numpy", "defaults/win-32::numpy"},
      {"conda-forge/linux-64::numpy", "conda-forge/linux-64::numpy"},
      {"numpy[channel=conda-forge,subdir=noarch]", "conda-forge/noarch::numpy"},
      {"numpy[subdir=win-32]", "numpy[subdir=win-32]"},
      {"*/win-32::numpy", "numpy[subdir=win-32]"},
      {"*/win-32::numpy[subdir=\"osx-64\"]", "numpy[subdir=osx-64]"},
      // Channel URLs stay URLs: resolving names needs the channel_alias.
      {"https://repo.anaconda.com/pkgs/free::numpy", "https://repo.anaconda.com/pkgs/free::numpy"},
      {"https://repo.anaconda.com/pkgs/free/win-32::numpy",
       "https://repo.anaconda.com/pkgs/free/win-32::numpy"},
      {"numpy[channel=https://repo.anaconda.com/pkgs/free/osx-64, subdir=linux-64]",
       "https://repo.anaconda.com/pkgs/free/linux-64::numpy"},
      {"numpy=1.10=py38_0", "numpy==1.10=py38_0"},
      {"numpy==1.10=py38_0", "numpy==1.10=py38_0"},
      {"numpy[version=1.10 build=py38_0]", "numpy==1.10=py38_0"},
      {"numpy!=1.10", "numpy!=1.10"},
      {"numpy !=1.10", "numpy!=1.10"},
      {"numpy!=1.10 py38_0", "numpy[version='!=1.10',build=py38_0]"},
      {"numpy !=1.10 py38_0", "numpy[version='!=1.10',build=py38_0]"},
      {"numpy!=1.10=py38_0", "numpy[version='!=1.10',build=py38_0]"},
      {"numpy !=1.10=py38_0", "numpy[version='!=1.10',build=py38_0]"},
      // Clauses sorted: '!' sorts before '>'.
      {"numpy >1.7,!=1.10 py38_0", "numpy[version='!=1.10,>1.7',build=py38_0]"},
      {"numpy!=1.10.*", "numpy!=1.10.*"},
      {"numpy!=1.10,!=1.11", "numpy[version='!=1.10,!=1.11']"},
      {"numpy=1.10.*,!=1.10.2", "numpy[version='!=1.10.2,1.10.*']"},
      {"numpy ~=1.10.1", "numpy~=1.10.1"},
      {"numpy~=1.10.1", "numpy~=1.10.1"},
      {"numpy ~=1.10.1 py38_0", "numpy[version='~=1.10.1',build=py38_0]"},
      {"openssl=1.1.1_", "openssl=1.1.1_"},
      {"openssl>=1.1.1_,!=1.1.1c", "openssl[version='!=1.1.1c,>=1.1.1_']"},
      {"conda-canary/linux-64::conda==4.3.21.post699+1dab973=py36h4a561cd_0",
       "conda-canary/linux-64::conda==4.3.21.post699+1dab973=py36h4a561cd_0"},
  });
}

// CEP 29's examples and its two blocks of equivalent specs.
TEST(MatchSpec, Cep29Examples) {
  expect_canonical({
      {"foo 1.0 py27_0", "foo==1.0=py27_0"},
      {"foo=1.0=py27_0", "foo==1.0=py27_0"},
      {"conda-forge::foo[version=1.0.*]", "conda-forge::foo=1.0"},
      {"conda-forge/linux-64::foo>=1.0", "conda-forge/linux-64::foo[version='>=1.0']"},
      {"*/linux-64::foo>=1.0", "foo[subdir=linux-64,version='>=1.0']"},
  });
  for (const char* fuzzy : {"pkg=1.8", "pkg =1.8", "pkg 1.8.*", "pkg 1.8.* *", "pkg=1.8.*",
                            "pkg=1.8.*=*", "pkg =1.8.* *", "pkg ==1.8.* *", "pkg[version=1.8.*]",
                            "pkg[version=\"1.8.*\"]", "pkg 1.8*", "PKG=1.8"}) {
    EXPECT_EQ(canon(fuzzy), "pkg=1.8") << fuzzy;
  }
  for (const char* exact : {"pkg 1.8", "pkg 1.8 *", "pkg==1.8", "pkg=1.8=*", "pkg==1.8=*",
                            "pkg ==1.8 *", "pkg[version=1.8]", "pkg[version=\"1.8\"]",
                            "pkg[version='==1.8']", "pkg * *[version=1.8]"}) {
    EXPECT_EQ(canon(exact), "pkg==1.8") << exact;
  }
}

// Different spellings of one requirement hash alike.
TEST(MatchSpec, EquivalenceClasses) {
  const std::vector<std::vector<std::string>> classes = {
      {"numpy>=1.2", "numpy >=1.2", "numpy[version=\">=1.2\"]", "numpy[version='>=1.2']",
       "NumPy >= 1.2", "numpy >=1.2.*", "numpy[version=>=1.2]", "  numpy>=1.2  ",
       "numpy>=1.2 # comment", "numpy\t>=1.2"},
      {"numpy >=1.2,<2", "numpy>=1.2,<2", "numpy <2,>=1.2", "numpy >=1.2 , <2",
       "numpy[version='<2,>=1.2']", "numpy[version=' >=1.2, <2 ']", "numpy >=1.2,<2,<2"},
      {"python 3.11.*", "python=3.11", "python 3.11*", "python[version='=3.11']",
       "python[version=3.11.*]", "python ==3.11.*"},
      {"numpy 1.26.4 py311h64a7726_0", "numpy=1.26.4=py311h64a7726_0",
       "numpy==1.26.4=py311h64a7726_0", "numpy[version=1.26.4,build=py311h64a7726_0]",
       "numpy[build=py311h64a7726_0, version='1.26.4']", "numpy 1.26.4 PY311H64A7726_0",
       "numpy ==1.26.4 py311h64a7726_0", "numpy 1.26.4[build=py311h64a7726_0]"},
      {"conda-forge::numpy", "numpy[channel=conda-forge]", "conda-forge/::numpy",
       "numpy[channel='conda-forge']"},
      {"blas * openblas", "blas[build=openblas]", "blas *[build=openblas]"},
      {"pytorch[build=*cuda*]", "pytorch * *cuda*", "pytorch=*=*cuda*"},
      {"numpy[build_number=3]", "numpy[ build_number = 3 ]", "numpy[build_number='3']",
       "numpy[build_number=003]"},
  };
  for (const auto& group : classes) {
    const std::string first = canon(group.front());
    for (const std::string& spec : group)
      EXPECT_EQ(canon(spec), first) << spec << " vs " << group.front();
  }
  EXPECT_EQ(canon("numpy >=1.2,<2"), "numpy[version='<2,>=1.2']");
  EXPECT_EQ(canon("numpy 1.26.4 py311h64a7726_0"), "numpy==1.26.4=py311h64a7726_0");
  EXPECT_EQ(canon("blas * openblas"), "blas[build=openblas]");
  EXPECT_EQ(canon("pytorch[build=*cuda*]"), "pytorch[build=*cuda*]");
  EXPECT_EQ(canon("numpy[build_number=3]"), "numpy[build_number=3]");
  // Equal versions with different text stay different specs.
  EXPECT_NE(canon("numpy==1.2"), canon("numpy==1.2.0"));
  EXPECT_NE(canon("numpy=1.2"), canon("numpy==1.2"));
  EXPECT_NE(canon("conda-forge::numpy"), canon("numpy"));
}

TEST(MatchSpec, Fields) {
  MatchSpec s = MatchSpec::parse("conda-forge/linux-64::NumPy >=1.2,<2 py311*[build_number=3]");
  EXPECT_EQ(s.name, "numpy");
  EXPECT_EQ(s.channel, "conda-forge");
  EXPECT_EQ(s.subdir, "linux-64");
  ASSERT_TRUE(s.version);
  EXPECT_EQ(s.version->str(), "<2,>=1.2");
  EXPECT_EQ(s.build, "py311*");
  EXPECT_EQ(s.build_number, 3);
  EXPECT_EQ(s.canonical(),
            "conda-forge/linux-64::numpy[version='<2,>=1.2',build=py311*,build_number=3]");

  MatchSpec bare = MatchSpec::parse("python");
  EXPECT_EQ(bare.name, "python");
  EXPECT_FALSE(bare.channel || bare.subdir || bare.version || bare.build || bare.build_number);

  // Brackets override positional values (but not the name).
  MatchSpec over = MatchSpec::parse("numpy 1.2 py_0[build=py_1, version='>=1.3']");
  EXPECT_EQ(over.build, "py_1");
  EXPECT_EQ(over.version->str(), ">=1.3");
  EXPECT_EQ(MatchSpec::parse("defaults::numpy[channel=conda-forge]").channel, "conda-forge");
  EXPECT_EQ(MatchSpec::parse("numpy[name=NumPy]").name, "numpy");

  // Channels of every shape.
  EXPECT_EQ(MatchSpec::parse("file:///opt/channel::pkg").channel, "file:///opt/channel");
  EXPECT_EQ(MatchSpec::parse("http://localhost:8000/ch/linux-64::pkg").channel,
            "http://localhost:8000/ch");
  EXPECT_EQ(MatchSpec::parse("http://localhost:8000/ch/linux-64::pkg").subdir, "linux-64");
  EXPECT_EQ(MatchSpec::parse("./local-channel::pkg").channel, "./local-channel");
  // An unknown last component is part of the channel, as in conda.
  MatchSpec label = MatchSpec::parse("conda-forge/label/rc::pkg");
  EXPECT_EQ(label.channel, "conda-forge/label/rc");
  EXPECT_FALSE(label.subdir);
  EXPECT_FALSE(MatchSpec::parse("*::pkg").channel);

  // Names as CEP 26 allows them.
  for (const char* name : {"_libgcc_mutex", "python-dateutil", "ca-certificates", "r-base", "7zip",
                           "a.b", "x", "__cuda", "__glibc", "_", "python_abi", "libstdcxx-ng"}) {
    EXPECT_EQ(MatchSpec::parse(name).name, name) << name;
  }
  EXPECT_EQ(canon("__cuda>=11"), "__cuda[version='>=11']");
  EXPECT_EQ(canon("numpy[]"), "numpy");
  EXPECT_EQ(canon("numpy *"), "numpy");
  EXPECT_EQ(canon("numpy * *"), "numpy");
  EXPECT_EQ(canon("numpy=*"), "numpy");
  EXPECT_EQ(canon("numpy >=1.2|<1"), "numpy[version='<1|>=1.2']");
  EXPECT_EQ(canon("numpy[version='(>=1.2,<2)|1.0.*']"), "numpy[version='1.0.*|<2,>=1.2']");
  EXPECT_EQ(canon("numpy[version='1.*.2']"), "numpy[version='1.*.2']");
  EXPECT_EQ(canon("numpy 1.2 *_0"), "numpy==1.2[build=*_0]");
  EXPECT_EQ(canon("numpy >=1.2 py_0"), "numpy[version='>=1.2',build=py_0]");
  // conda's _parse_version_plus_build examples.
  EXPECT_EQ(canon("numpy >=1.0 , < 2.0 py34_0"), "numpy[version='<2.0,>=1.0',build=py34_0]");
  EXPECT_EQ(canon("numpy >=1.0 , < 2.0 =py34_0"), "numpy[version='<2.0,>=1.0',build=py34_0]");
  EXPECT_EQ(canon("numpy =1.2.3 0"), "numpy==1.2.3=0");
  EXPECT_EQ(canon("numpy 1.2.3=0"), "numpy==1.2.3=0");
  EXPECT_EQ(canon("numpy =1.2.3 "), "numpy=1.2.3");
  EXPECT_EQ(canon("numpy >1.8,<2|==1.7"), "numpy[version='<2,>1.8|==1.7']");
  EXPECT_EQ(canon("numpy 1.2 =build"), "numpy==1.2=build");
  EXPECT_EQ(canon("numpy>=1.2=py_0"), "numpy[version='>=1.2',build=py_0]");
  EXPECT_EQ(canon("numpy =1.2 py_0"), "numpy==1.2=py_0");  // conda: exact with a build
  EXPECT_EQ(canon("numpy ==1.2"), "numpy==1.2");
  EXPECT_EQ(canon("numpy 1!2.0"), "numpy==1!2.0");
  EXPECT_EQ(canon("numpy =1!2.0"), "numpy=1!2.0");
  EXPECT_EQ(canon("numpy[subdir=linux-64, channel=conda-forge]"), "conda-forge/linux-64::numpy");
  EXPECT_EQ(canon("numpy[subdir=*]"), "numpy");
  EXPECT_EQ(canon("numpy[channel=*]"), "numpy");
}

// conda's test_match_1 against numpy-1.7.1-py27_0.
TEST(MatchSpec, MatchesRecords) {
  const CondaVersion version = CondaVersion::parse("1.7.1");
  const std::vector<std::pair<std::string, bool>> table = {
      {"numpy 1.7*", true},
      {"numpy 1.7.1", true},
      {"numpy 1.7", false},
      {"numpy 1.5*", false},
      {"numpy >=1.5", true},
      {"numpy >=1.5,<2", true},
      {"numpy >=1.8,<1.9", false},
      {"numpy >1.5,<2,!=1.7.1", false},
      {"numpy >1.8,<2|==1.7", false},
      {"numpy >1.8,<2|>=1.7.1", true},
      {"numpy >=1.8|1.7*", true},
      {"numpy ==1.7", false},
      {"numpy >=1.5,>1.6", true},
      {"numpy ==1.7.1", true},
      {"numpy ==1.7.1.0", true},
      {"numpy==1.7.1.0.0", true},
      {"numpy >=1,*.7.*", true},
      {"numpy *.7.*,>=1", true},
      {"numpy >=1,*.8.*", false},
      {"numpy >=2,*.7.*", false},
      {"numpy 1.6*|1.7*", true},
      {"numpy 1.6*|1.8*", false},
      {"numpy 1.6.2|1.7*", true},
      {"numpy 1.6.2|1.7.1", true},
      {"numpy 1.6.2|1.7.0", false},
      {"numpy 1.7.1 py27_0", true},
      {"numpy 1.7.1 py26_0", false},
      {"numpy >1.7.1a", true},
      {"python", false},
      {"NUMPY", true},
      {"numpy 1.7.1 py27*", true},
      {"numpy 1.7.1 *_0", true},
      {"numpy 1.7.1 *_1", false},
      {"numpy[build_number=0]", true},
      {"numpy[build_number=1]", false},
      {"numpy 1.7.1 PY27_0", true},
      {"conda-forge::numpy 1.7.1", true},
  };
  for (const auto& [spec, expected] : table)
    EXPECT_EQ(MatchSpec::parse(spec).matches("numpy", version, "py27_0", 0), expected) << spec;
  EXPECT_TRUE(MatchSpec::parse("numpy").matches("NumPy", version, "PY27_0", 0));
  EXPECT_TRUE(MatchSpec::parse("blas * openblas_0")
                  .matches("blas", CondaVersion::parse("1.0"), "openblas_0", 0));
  EXPECT_FALSE(
      MatchSpec::parse("numpy >=1.0.1").matches("numpy", CondaVersion::parse("1.0.1a"), "0", 0));
  EXPECT_TRUE(
      MatchSpec::parse("numpy >=1.0.1a").matches("numpy", CondaVersion::parse("1.0.1z"), "0", 0));
  EXPECT_TRUE(
      MatchSpec::parse("numpy <1.0.1").matches("numpy", CondaVersion::parse("1.0.1.vc11"), "0", 0));
  EXPECT_TRUE(MatchSpec::parse("numpy >=1.0.1a py27*")
                  .matches("numpy", CondaVersion::parse("1.0.1z"), "py27_1", 1));
}

TEST(MatchSpec, RejectsMalformed) {
  const std::string deep =
      "numpy[version='" + std::string(100, '(') + "1" + std::string(100, ')') + "']";
  const std::vector<std::string> bad = {
      "",
      " ",
      "\t",
      "# just a comment",
      "*",
      "*[md5=0123]",
      "*[name=numpy]",
      "num*",
      "numpy*",
      "nu?py",
      "numpy[",
      "numpy]",
      "numpy[version=1.2",
      "numpy[version='1.2]",
      "numpy[version=\"1.2']",
      "numpy[[version=1]]",
      "numpy[version=[1]]",
      "numpy[version=1.2]x",
      "numpy[version=1.2][build=x]",
      "numpy[version=]",
      "numpy[version='']",
      "numpy[=1.2]",
      "numpy[version 1.2]",
      "numpy[version=1.2,]",
      "numpy[,version=1.2]",
      "numpy[version=1.2,,build=x]",
      "numpy[version=1.2 version=1.3]",
      "numpy[version='1.2'build=x]",
      "numpy[version=1'2']",
      "numpy[md5=0123]",
      "numpy[sha256=abcd]",
      "numpy[url=https://x]",
      "numpy[license=MIT]",
      "numpy[foo=bar]",
      "numpy[Version=1.2]",
      "numpy[build_number='>=3']",
      "numpy[build_number=x]",
      "numpy[build_number=-1]",
      "numpy[build_number=9999999999]",
      "numpy[name=scipy]",
      "numpy[subdir=Linux_64]",
      "numpy[subdir=foo]",
      "numpy[channel=*forge]",
      "numpy[optional]",
      "numpy[version=>=1.2,<2]",
      "numpy >=",
      "numpy ==",
      "numpy <",
      "numpy=",
      "numpy==",
      "numpy >=1.2 <2",
      "numpy 1.2 py_0 extra",
      "numpy (optional)",
      "numpy >=1.0,(<2|>3)",
      "numpy 1.2 (target=x)",
      "ns:numpy",
      "chan:ns:numpy",
      "::numpy",
      "conda-forge::",
      "conda-forge::numpy::x",
      "conda forge::numpy",
      "*chan::numpy",
      "/linux-64::numpy",
      "numpy=1.2 if __osx",
      "numpy if __linux",
      "https://conda.anaconda.org/conda-forge/linux-64/numpy-1.0-0.conda",
      "./numpy-1.0-0.tar.bz2",
      "mkl@",
      "numpy 1.2 py-0",
      "numpy ^1.2$",
      "numpy 1.2 ^py.*$",
      "numpy[build='^py.*$']",
      std::string("numpy\0", 6),
      "numpy\n",
      "numpy\r",
      "numpy é",
      "a--b",
      "a-.b",
      "-numpy",
      ".numpy",
      "numpy>=1.2,<2|",
      "numpy >=1.2,,<2",
      "numpy=1.2=",
      "numpy 1.2 = build",
      "numpy 1.2 build build2",
      "numpy'1.2'",
      "numpy \"1.2\"",
      "numpy >=1..2",
      "numpy ===1.2",
      "numpy =<1.2",
      "numpy ~=1",
      "numpy >=1.*.2",
      "numpy 1.2 py_0 *",
      std::string(65, 'a'),
      std::string(5000, 'a'),
      "numpy " + std::string(5000, '1'),
      deep,
      "numpy[version='1.2'",
      "numpy[build=\"py\"",
      "numpy[ ]]",
      "[version=1.2]",
      " [build=x]",
      "numpy @ https://x",
      "numpy 1.2 " + std::string(70, 'b')};
  for (const std::string& s : bad) {
    try {
      MatchSpec::parse(s);
      ADD_FAILURE() << "accepted " << s << " as " << MatchSpec::parse(s).canonical();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::BadInput) << s;
      std::string what = e.what();
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
      EXPECT_LT(what.size(), 800u) << what;
      EXPECT_EQ(what.rfind("invalid conda package spec '", 0), 0u) << what;
    }
  }
}

TEST(MatchSpec, ErrorMessagesSayWhatIsWrong) {
  auto error = [](const std::string& spec) {
    try {
      MatchSpec::parse(spec);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(error("numpy >="),
            "invalid conda package spec 'numpy >=': invalid version spec '>=' at column 1: "
            "operator '>=' without a version");
  EXPECT_EQ(error("numpy["), "invalid conda package spec 'numpy[': '[' is never closed");
  EXPECT_EQ(error("*"),
            "invalid conda package spec '*': the package name must be a name, not '*' "
            "or a glob");
  EXPECT_EQ(error("numpy[md5=abc]"),
            "invalid conda package spec 'numpy[md5=abc]': the key 'md5' is not supported in "
            "brackets");
  EXPECT_EQ(error("ns:numpy"),
            "invalid conda package spec 'ns:numpy': namespaces are not supported; write "
            "channel::name");
  std::string long_error = error(std::string(5000, 'a'));
  EXPECT_NE(long_error.find("'..."), std::string::npos);
  EXPECT_LT(long_error.size(), 300u);
}
