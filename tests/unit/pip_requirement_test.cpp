#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "builder/pip/marker.hpp"
#include "builder/pip/requirement.hpp"
#include "builder/pip/specifier.hpp"
#include "builder/pip/version.hpp"
#include "registry/error.hpp"

using namespace envbuild;
using namespace envbuild::builder::pip;

namespace {

PipVersion pv(const std::string& s) { return PipVersion::parse(s); }

void expect_strictly_increasing(const std::vector<std::string>& versions) {
  for (std::size_t i = 0; i < versions.size(); ++i) {
    for (std::size_t j = 0; j < versions.size(); ++j) {
      PipVersion a = pv(versions[i]), b = pv(versions[j]);
      EXPECT_EQ(a < b, i < j) << versions[i] << " < " << versions[j];
      EXPECT_EQ(a == b, i == j) << versions[i] << " == " << versions[j];
      EXPECT_EQ(a > b, i > j) << versions[i] << " > " << versions[j];
    }
  }
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    return e.what();
  }
  return "accepted";
}

}  // namespace

// PEP 440 "Summary of permitted suffixes and relative ordering".
TEST(PipVersion, Pep440SummaryOrder) {
  expect_strictly_increasing({"1.dev0",
                              "1.0.dev456",
                              "1.0a1",
                              "1.0a2.dev456",
                              "1.0a12.dev456",
                              "1.0a12",
                              "1.0b1.dev456",
                              "1.0b2",
                              "1.0b2.post345.dev456",
                              "1.0b2.post345",
                              "1.0rc1.dev456",
                              "1.0rc1",
                              "1.0",
                              "1.0+abc.5",
                              "1.0+abc.7",
                              "1.0+5",
                              "1.0.post456.dev34",
                              "1.0.post456",
                              "1.0.15",
                              "1.1.dev1"});
}

// packaging's ordering test list (with epochs and local versions).
TEST(PipVersion, PackagingOrder) {
  std::vector<std::string> versions = {"1.0.dev456",
                                       "1.0a1",
                                       "1.0a2.dev456",
                                       "1.0a12.dev456",
                                       "1.0a12",
                                       "1.0b1.dev456",
                                       "1.0b2",
                                       "1.0b2.post345.dev456",
                                       "1.0b2.post345",
                                       "1.0b2-346",
                                       "1.0c1.dev456",
                                       "1.0c1",
                                       "1.0rc2",
                                       "1.0c3",
                                       "1.0",
                                       "1.0.post456.dev34",
                                       "1.0.post456",
                                       "1.1.dev1",
                                       "1.2+123abc",
                                       "1.2+123abc456",
                                       "1.2+abc",
                                       "1.2+abc123",
                                       "1.2+abc123def",
                                       "1.2+1234.abc",
                                       "1.2+123456",
                                       "1.2.r32+123456",
                                       "1.2.rev33+123456"};
  std::vector<std::string> with_epoch = versions;
  for (const std::string& v : versions) with_epoch.push_back("1!" + v);
  expect_strictly_increasing(with_epoch);
}

TEST(PipVersion, Normalization) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"1.0RC1", "1.0rc1"},
      {"1.0-post1", "1.0.post1"},
      {"1.1.a1", "1.1a1"},
      {"1.1-a1", "1.1a1"},
      {"1.1_a1", "1.1a1"},
      {"1.0a.1", "1.0a1"},
      {"1.1alpha1", "1.1a1"},
      {"1.1beta2", "1.1b2"},
      {"1.1c3", "1.1rc3"},
      {"1.0pre1", "1.0rc1"},
      {"1.0preview1", "1.0rc1"},
      {"1.2a", "1.2a0"},
      {"1.2-post2", "1.2.post2"},
      {"1.2post2", "1.2.post2"},
      {"1.2.post-2", "1.2.post2"},
      {"1.0-r4", "1.0.post4"},
      {"1.0.rev1", "1.0.post1"},
      {"1.2.post", "1.2.post0"},
      {"1.0-1", "1.0.post1"},
      {"1.0_post_1", "1.0.post1"},
      {"1.2-dev2", "1.2.dev2"},
      {"1.2dev2", "1.2.dev2"},
      {"1.2.dev", "1.2.dev0"},
      {"1.0+ubuntu-1", "1.0+ubuntu.1"},
      {"1.0+ubuntu_1", "1.0+ubuntu.1"},
      {"v1.0", "1.0"},
      {"V1.0", "1.0"},
      {" 1.0\n", "1.0"},
      {"\t1.0 ", "1.0"},
      {"00", "0"},
      {"09000", "9000"},
      {"1.0+foo0100", "1.0+foo0100"},
      {"1.0+local.007", "1.0+local.7"},
      {"1!2.0", "1!2.0"},
      {"0!1.0", "1.0"},
      {"01!1.0", "1!1.0"},
      {"1.0A1", "1.0a1"},
      {"1.0.0", "1.0.0"},
      {"2012.15", "2012.15"},
      {"1.0a.", "1.0a0"},
      {"1.0rc1.post2.dev3+X.Y", "1.0rc1.post2.dev3+x.y"},
      {"1.0.a.1.post.2.dev.3", "1.0a1.post2.dev3"},
      // PEP 440's regex lets a separator follow a suffix with no number.
      {"1.0-dev-", "1.0.dev0"},
      {"1.0-a-", "1.0a0"},
      {"1.0a.-1", "1.0a0.post1"},
  };
  for (const auto& [input, expected] : table) EXPECT_EQ(pv(input).str(), expected) << input;
}

TEST(PipVersion, EqualityAndKinds) {
  EXPECT_EQ(pv("1.0"), pv("1.0.0"));
  EXPECT_EQ(pv("1.0a"), pv("1.0a0"));
  EXPECT_EQ(pv("1.0c1"), pv("1.0rc1"));
  EXPECT_NE(pv("1.0+ab"), pv("1.0"));
  EXPECT_EQ(pv("1.0+ab"), pv("1.0.0+ab"));
  EXPECT_LT(pv("1.0"), pv("1!0.1"));
  EXPECT_LT(pv("1.9"), pv("1.10"));
  EXPECT_LT(pv("99999999999999999999999"), pv("100000000000000000000000"));
  EXPECT_TRUE(pv("1.0a1").is_prerelease());
  EXPECT_TRUE(pv("1.0.dev1").is_prerelease());
  EXPECT_TRUE(pv("1.0.post1.dev1").is_prerelease());
  EXPECT_FALSE(pv("1.0.post1").is_prerelease());
  EXPECT_TRUE(pv("1.0.post1").is_postrelease());
  EXPECT_TRUE(pv("1.0+x").has_local());
  EXPECT_EQ(pv("1!1.0rc1.post2+x").public_version().str(), "1!1.0rc1.post2");
  EXPECT_EQ(pv("1!1.0rc1.post2+x").base_version().str(), "1!1.0");
  EXPECT_EQ(pv("2!1.2.3").epoch(), "2");
  EXPECT_EQ(pv("1.2.3").release(), (std::vector<std::string>{"1", "2", "3"}));
}

TEST(PipVersion, RejectsMalformed) {
  const std::vector<std::string> bad = {"",
                                        " ",
                                        "1.0-",
                                        "1.0.",
                                        "a",
                                        "1.0+",
                                        "1.0+a..b",
                                        "1.0+.a",
                                        "1.0+a-",
                                        "1.0a1a1",
                                        "1.0.dev1.post1",
                                        "1.0 1",
                                        "1..0",
                                        ".1",
                                        "1!",
                                        "!1",
                                        "1!2!3",
                                        "1.0_",
                                        "vv1",
                                        "1.0+ab_",
                                        "1.0ä",
                                        std::string("1.0\0", 4),
                                        "1.0.post1.post2",
                                        "1.0dev1dev2",
                                        "1.0-1-1",
                                        "1.0+a+b",
                                        "1.0*",
                                        "1.*",
                                        "==1.0",
                                        "1.0,",
                                        "-1",
                                        "1.0rc1rc2",
                                        "1.0.r.r",
                                        std::string(300, '1'),
                                        "1.0+" + std::string(300, 'a'),
                                        "1.0 ; x"};
  for (const std::string& s : bad) {
    std::string what = error_of([&] { PipVersion::parse(s); });
    EXPECT_EQ(what.rfind("invalid Python version '", 0), 0u) << s << ": " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_FALSE(PipVersion::try_parse(s)) << s;
  }
}

// ---------------------------------------------------------------------------

namespace {

bool contains(const std::string& spec, const std::string& version, bool pre = false) {
  return SpecifierSet::parse(spec).contains(pv(version), pre);
}

}  // namespace

// PEP 440 "Examples" and the clause-by-clause examples.
TEST(PipSpecifier, Pep440Examples) {
  EXPECT_TRUE(contains("~=3.1", "3.1"));
  EXPECT_TRUE(contains("~=3.1", "3.5"));
  EXPECT_FALSE(contains("~=3.1", "4.0"));
  EXPECT_FALSE(contains("~=3.1", "3.0"));
  EXPECT_TRUE(contains("~=3.1.2", "3.1.2"));
  EXPECT_TRUE(contains("~=3.1.2", "3.1.9"));
  EXPECT_FALSE(contains("~=3.1.2", "3.2.0"));
  EXPECT_TRUE(contains("~=3.1a1", "3.1a1"));
  EXPECT_TRUE(contains("~=3.1a1", "3.9"));
  EXPECT_FALSE(contains("~=3.1a1", "4.0"));
  EXPECT_TRUE(contains("== 3.1", "3.1"));
  EXPECT_TRUE(contains("== 3.1", "3.1.0"));
  EXPECT_FALSE(contains("== 3.1", "3.1.1"));
  EXPECT_FALSE(contains("== 3.1", "3.1a1", true));
  EXPECT_FALSE(contains("== 3.1", "3.1.post1"));
  EXPECT_TRUE(contains("== 3.1.*", "3.1.5"));
  EXPECT_FALSE(contains("== 3.1.*", "3.2"));
  EXPECT_FALSE(contains("~=3.1.0, != 3.1.3", "3.1.3"));
  EXPECT_TRUE(contains("~=3.1.0, != 3.1.3", "3.1.4"));
  EXPECT_FALSE(contains("~=3.1.0, != 3.1.3", "3.2.0"));
  EXPECT_TRUE(contains("~=2.2.post3", "2.9"));
  EXPECT_FALSE(contains("~=2.2.post3", "2.2"));
  EXPECT_TRUE(contains("~=1.4.5a4", "1.4.9"));
  EXPECT_FALSE(contains("~=1.4.5a4", "1.5.0"));
  EXPECT_TRUE(contains("~=1!1.2", "1!1.3"));
  EXPECT_FALSE(contains("~=1!1.2", "1.3"));

  // Version matching, given 1.1.post1, 1.1a1 and 1.1.
  EXPECT_FALSE(contains("==1.1", "1.1.post1"));
  EXPECT_TRUE(contains("==1.1.post1", "1.1.post1"));
  EXPECT_TRUE(contains("==1.1.*", "1.1.post1"));
  EXPECT_FALSE(contains("==1.1", "1.1a1", true));
  EXPECT_TRUE(contains("==1.1a1", "1.1a1"));
  EXPECT_TRUE(contains("==1.1.*", "1.1a1", true));
  EXPECT_FALSE(contains("==1.1.*", "1.1a1"));  // pre-releases not requested
  EXPECT_TRUE(contains("==1.1", "1.1"));
  EXPECT_TRUE(contains("==1.1.0", "1.1"));
  EXPECT_FALSE(contains("==1.1.dev1", "1.1"));
  EXPECT_FALSE(contains("==1.1a1", "1.1"));
  EXPECT_FALSE(contains("==1.1.post1", "1.1"));
  EXPECT_TRUE(contains("==1.1.*", "1.1"));
  EXPECT_TRUE(contains("==1.0.0.*", "1"));
  EXPECT_FALSE(contains("==1.1.*", "1.10"));
  EXPECT_FALSE(contains("==1.1.*", "1!1.1"));
  // Exclusion, given 1.1.post1.
  EXPECT_TRUE(contains("!=1.1", "1.1.post1"));
  EXPECT_FALSE(contains("!=1.1.post1", "1.1.post1"));
  EXPECT_FALSE(contains("!=1.1.*", "1.1.post1"));
  // Exclusive ordered comparisons.
  EXPECT_TRUE(contains(">1.7", "1.7.1"));
  EXPECT_FALSE(contains(">1.7", "1.7.0.post1"));
  EXPECT_TRUE(contains(">1.7.post2", "1.7.1"));
  EXPECT_TRUE(contains(">1.7.post2", "1.7.0.post3"));
  EXPECT_FALSE(contains(">1.7.post2", "1.7.0"));
  EXPECT_FALSE(contains(">1.7", "1.7.0+local"));
  EXPECT_TRUE(contains(">1.7", "1.7.1+local"));
  EXPECT_FALSE(contains("<1.7", "1.7a1", true));
  EXPECT_FALSE(contains("<1.7", "1.7.dev0", true));
  EXPECT_TRUE(contains("<1.7", "1.6.9"));
  EXPECT_TRUE(contains("<1.7rc1", "1.7a1"));
  EXPECT_TRUE(contains("<1.7", "1.6a1", true));
  // Arbitrary equality.
  EXPECT_TRUE(contains("===1.0", "1.0"));
  EXPECT_FALSE(contains("===1.0", "1.0+downstream1"));
  EXPECT_FALSE(contains("===1.0", "1.0.0"));
  // Local versions.
  EXPECT_TRUE(contains("==1.0+abc", "1.0+abc"));
  EXPECT_FALSE(contains("==1.0+abc", "1.0+abd"));
  EXPECT_FALSE(contains("==1.0+abc", "1.0"));
  EXPECT_TRUE(contains("==1.0", "1.0+abc"));
  EXPECT_TRUE(contains("<=1.0", "1.0+abc"));
  EXPECT_TRUE(contains(">=1.0", "1.0+abc"));
  EXPECT_FALSE(contains("!=1.0", "1.0+abc"));
}

TEST(PipSpecifier, PreReleasePolicy) {
  EXPECT_FALSE(contains(">=1.0", "2.0a1"));
  EXPECT_TRUE(contains(">=1.0", "2.0a1", true));
  EXPECT_TRUE(contains(">=1.0a1", "2.0a1"));
  EXPECT_TRUE(contains(">=1.0,<3.0b1", "2.0.dev1"));
  EXPECT_FALSE(contains("!=1.0a1", "2.0a1"));
  EXPECT_TRUE(contains("", "1.0"));
  EXPECT_FALSE(contains("", "1.0a1"));
  EXPECT_TRUE(contains("", "1.0a1", true));
  EXPECT_TRUE(contains(">=1.0", "2.0.post1"));
  EXPECT_TRUE(Specifier::parse("==1.0.*").contains(pv("1.0a1")));  // no policy at clause level
  EXPECT_TRUE(Specifier::parse(">=1.0a1").mentions_prerelease());
  EXPECT_TRUE(Specifier::parse("==1.0.dev1").mentions_prerelease());
  EXPECT_FALSE(Specifier::parse("!=1.0a1").mentions_prerelease());
  EXPECT_FALSE(Specifier::parse(">=1.0").mentions_prerelease());
}

TEST(PipSpecifier, CanonicalSpelling) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {">= 1.0, <2", "<2,>=1.0"},
      {"==1.0RC1", "==1.0rc1"},
      {"== v1.0.*", "==1.0.*"},
      {"~= 1.4.5a4", "~=1.4.5a4"},
      {"===Foo", "===Foo"},
      {" != 1.0-1 ", "!=1.0.post1"},
      {">=1,>=1.0", ">=1,>=1.0"},
      {">=1,>=1", ">=1"},
      {"", ""},
      {"<3,>=2,!=2.5.*", "!=2.5.*,<3,>=2"},
      {"==1.0+Ubuntu-1", "==1.0+ubuntu.1"},
  };
  for (const auto& [input, expected] : table) {
    SpecifierSet set = SpecifierSet::parse(input);
    EXPECT_EQ(set.str(), expected) << input;
    EXPECT_EQ(SpecifierSet::parse(set.str()).str(), expected) << input;
  }
  EXPECT_EQ(SpecifierSet::parse(">=1, <2").specifiers().size(), 2u);
  EXPECT_EQ(Specifier::parse("==1.*").op(), SpecifierOp::Equal);
  EXPECT_TRUE(Specifier::parse("==1.*").wildcard());
}

TEST(PipSpecifier, RejectsMalformed) {
  const std::vector<std::string> bad = {">=",
                                        "=1.0",
                                        "1.0",
                                        ">=1.0.*",
                                        "~=1",
                                        "~=1.*",
                                        "<1.0+local",
                                        ">=1.0+local",
                                        "~=1.0+l",
                                        "==1.0.dev1.*",
                                        "==1.0+foo.*",
                                        "==1.0a1.*",
                                        "==1.0.post1.*",
                                        "==1.*.1",
                                        "==*",
                                        ">=1.0,",
                                        ",>=1",
                                        ">=1,,<2",
                                        ">= 1.0 2",
                                        "!=",
                                        "=>1",
                                        "><1",
                                        ">=abc",
                                        "===",
                                        "=== ",
                                        "== 1.0 ;",
                                        ">=1.0;",
                                        "(>=1.0)",
                                        ">=1.0)",
                                        "!1.0",
                                        "~1.0",
                                        "<>1.0",
                                        ">=1.0\n1",
                                        std::string(">=\0", 3),
                                        ">=1é",
                                        std::string(5000, '>'),
                                        ">=" + std::string(300, '1')};
  for (const std::string& s : bad) {
    std::string what = error_of([&] { SpecifierSet::parse(s); });
    EXPECT_EQ(what.rfind("invalid version specifiers '", 0), 0u) << s << ": " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  EXPECT_EQ(error_of([] { SpecifierSet::parse(">=1.0, <"); }),
            "invalid version specifiers '>=1.0, <': '<': operator '<' without a version");
  EXPECT_EQ(error_of([] { Specifier::parse("~=1"); }),
            "invalid version specifier '~=1': '~=' needs at least two release parts, like ~=1.2");
}

// ---------------------------------------------------------------------------

TEST(PipMarker, ParseAndCanonical) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {R"(python_version >= "3.8" and sys_platform == "linux")",
       R"(python_version >= "3.8" and sys_platform == "linux")"},
      {R"(python_version>='3.8' and(sys_platform=="linux"))",
       R"(python_version >= "3.8" and sys_platform == "linux")"},
      {"(os_name=='a' or os_name=='b') and os_name=='c'",
       R"((os_name == "a" or os_name == "b") and os_name == "c")"},
      {"os_name=='a' or (os_name=='b' and os_name=='c')",
       R"(os_name == "a" or os_name == "b" and os_name == "c")"},
      {"os_name=='a' and (os_name=='b' and os_name=='c')",
       R"(os_name == "a" and os_name == "b" and os_name == "c")"},
      {"((python_version < '3'))", R"(python_version < "3")"},
      {"'linux' in sys_platform", R"("linux" in sys_platform)"},
      {"sys_platform  not   in 'win32 cygwin'", R"(sys_platform not in "win32 cygwin")"},
      {"os.name == 'posix'", R"(os_name == "posix")"},
      {"sys.platform == 'linux'", R"(sys_platform == "linux")"},
      {"platform.machine=='x86_64'", R"(platform_machine == "x86_64")"},
      {"python_implementation == 'CPython'", R"(platform_python_implementation == "CPython")"},
      {"extra == 'test'", R"(extra == "test")"},
      {R"('He said "x"' == platform_version)", R"('He said "x"' == platform_version)"},
      {"python_full_version ~= '3.11.0'", R"(python_full_version ~= "3.11.0")"},
      {"implementation_version === '3.11'", R"(implementation_version === "3.11")"},
      {"\tpython_version\t<\t'3'\t", R"(python_version < "3")"},
      {"python_version<'3'or python_version>'3.5'",
       R"(python_version < "3" or python_version > "3.5")"},
  };
  for (const auto& [input, expected] : table) {
    Marker marker = Marker::parse(input);
    EXPECT_EQ(marker.str(), expected) << input;
    EXPECT_EQ(Marker::parse(marker.str()).str(), expected) << input;
  }
  Marker m = Marker::parse("os_name=='a' and os_name=='b' or os_name=='c'");
  EXPECT_EQ(m.kind, Marker::Kind::Or);
  ASSERT_EQ(m.children.size(), 2u);
  EXPECT_EQ(m.children[0].kind, Marker::Kind::And);
  EXPECT_EQ(m.children[1].kind, Marker::Kind::Compare);
  EXPECT_TRUE(m.children[1].lhs.is_variable);
  EXPECT_EQ(m.children[1].lhs.text, "os_name");
  EXPECT_EQ(m.children[1].op, "==");
  EXPECT_FALSE(m.children[1].rhs.is_variable);
  EXPECT_EQ(m.children[1].rhs.text, "c");
}

TEST(PipMarker, Evaluate) {
  const MarkerEnvironment env = {
      {"python_version", "3.11"},         {"python_full_version", "3.11.4"},
      {"sys_platform", "linux"},          {"os_name", "posix"},
      {"platform_machine", "x86_64"},     {"platform_python_implementation", "CPython"},
      {"implementation_name", "cpython"}, {"extra", "test-extra"}};
  auto eval = [&](const std::string& m) { return Marker::parse(m).evaluate(env); };
  EXPECT_TRUE(eval("python_version >= '3.8'"));
  EXPECT_TRUE(eval("python_version > '3.9'"));  // as versions; as strings "3.11" < "3.9"
  EXPECT_FALSE(eval("python_version < '3.10'"));
  EXPECT_TRUE(eval("'3.9' < python_version"));
  EXPECT_TRUE(eval("sys_platform == 'win32' or python_version >= '3'"));
  EXPECT_FALSE(eval("sys_platform == 'win32' and python_version >= '3'"));
  EXPECT_TRUE(eval("'linux' in sys_platform"));
  EXPECT_TRUE(eval("sys_platform not in 'win32 cygwin'"));
  EXPECT_FALSE(eval("'lin' not in sys_platform"));
  EXPECT_TRUE(eval("extra == 'Test_Extra'"));
  EXPECT_TRUE(eval("python_full_version == '3.11.*'"));
  EXPECT_TRUE(eval("python_full_version ~= '3.11.0'"));
  EXPECT_FALSE(eval("python_full_version ~= '3.12.0'"));
  EXPECT_TRUE(eval("platform_machine == 'x86_64'"));
  EXPECT_TRUE(eval("platform_machine > 'aarch64'"));  // strings
  EXPECT_TRUE(eval("implementation_name === 'cpython'"));
  EXPECT_FALSE(Marker::parse("extra == 'gpu'").evaluate({}));
  EXPECT_EQ(error_of([&] { eval("platform_release >= '5'"); }),
            "the environment marker uses 'platform_release', which has no value here");
  EXPECT_NE(error_of([&] { eval("platform_machine ~= 'x86'"); }), "accepted");
}

TEST(PipMarker, RejectsMalformed) {
  std::string deep = std::string(100, '(') + "os_name == 'a'" + std::string(100, ')');
  const std::vector<std::string> bad = {"",
                                        " ",
                                        "python_version",
                                        "python_version >=",
                                        ">= '3'",
                                        "python_version >= 3.8",
                                        "foo == 'x'",
                                        "python_version = '3'",
                                        "python_version >= '3' and",
                                        "and python_version >= '3'",
                                        "(python_version >= '3'",
                                        "python_version >= '3')",
                                        "python_version >= '3",
                                        "python_version >= \"3'",
                                        "python_version not '3'",
                                        "python_version notin '3'",
                                        "python_version >= '3' or or os_name == 'a'",
                                        "python_version >= '3' python_version",
                                        "'a' == 'b\\c'",
                                        deep,
                                        "python_version <> '3'",
                                        "python_version ! '3'",
                                        "python_version == '3' &&",
                                        "python_version == '3' AND os_name == 'a'",
                                        "PYTHON_VERSION == '3'",
                                        "()",
                                        "python_version in",
                                        "'a' 'b'",
                                        std::string("os_name == '\0'", 14),
                                        "os_name == 'é'",
                                        "os_name == '\n'"};
  for (const std::string& s : bad) {
    std::string what = error_of([&] { Marker::parse(s); });
    EXPECT_EQ(what.rfind("invalid environment marker '", 0), 0u) << s << ": " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  EXPECT_EQ(error_of([] { Marker::parse("python_version >="); }),
            "invalid environment marker 'python_version >=': expected a marker variable or a "
            "quoted string at column 18");
}

// ---------------------------------------------------------------------------

namespace {

std::string canon(const std::string& line) { return PipRequirement::parse(line).canonical(); }

}  // namespace

TEST(PipRequirement, CanonicalForms) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"requests", "requests"},
      {"Requests[socks] >= 2.0 ; python_version>='3.8'",
       R"(requests[socks]>=2.0; python_version >= "3.8")"},
      {"Foo.Bar_baz", "foo-bar-baz"},
      {"foo___bar", "foo-bar"},
      {"A.B-C_D", "a-b-c-d"},
      {"name[b,a,A]", "name[a,b]"},
      {"name[Foo_Bar, foo.bar]", "name[foo-bar]"},
      {"name [ a , b ] (>=1.0, <2)", "name[a,b]<2,>=1.0"},
      {"name[]", "name"},
      {"name<=1", "name<=1"},
      {"name>=3,<2", "name<2,>=3"},
      {"name==1.0.*", "name==1.0.*"},
      {"name===1.0-Legacy", "name===1.0-Legacy"},
      {"torch==2.3.0", "torch==2.3.0"},
      {"requests[socks]>=2", "requests[socks]>=2"},
      {"scikit-learn >=1.5", "scikit-learn>=1.5"},
      {"numpy == 1.26.4", "numpy==1.26.4"},
      {"name@http://foo.com", "name @ http://foo.com"},
      {"name [fred,bar] @ http://foo.com ; python_version=='2.7'",
       R"(name[bar,fred] @ http://foo.com ; python_version == "2.7")"},
      {"name[quux, strange];python_version<'2.7' and platform_version=='2'",
       R"(name[quux,strange]; python_version < "2.7" and platform_version == "2")"},
      {"name; os_name=='a' or os_name=='b'", R"(name; os_name == "a" or os_name == "b")"},
      {"name; os_name=='a' and (os_name=='b' or os_name=='c')",
       R"(name; os_name == "a" and (os_name == "b" or os_name == "c"))"},
      {"pip @ "
       "https://github.com/pypa/pip/archive/"
       "1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686",
       "pip @ "
       "https://github.com/pypa/pip/archive/"
       "1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686"},
      {"pip @ git+https://github.com/pypa/pip.git@7921be1537eac1e97bc40179a57f0349c2aee67d",
       "pip @ git+https://github.com/pypa/pip.git@7921be1537eac1e97bc40179a57f0349c2aee67d"},
      {"pip @ file:///localbuilds/pip-1.3.1.zip ; python_version >= '3'",
       R"(pip @ file:///localbuilds/pip-1.3.1.zip ; python_version >= "3")"},
      {"  torch  ", "torch"},
      {"torch>=2.0,<3;sys_platform=='linux'", R"(torch<3,>=2.0; sys_platform == "linux")"},
      {"x (==1.0) ; os_name == 'posix'", R"(x==1.0; os_name == "posix")"},
      {"pkg~=1.4.5a4", "pkg~=1.4.5a4"},
      {"pkg!=1.0-1", "pkg!=1.0.post1"},
  };
  for (const auto& [input, expected] : table) {
    std::string got;
    try {
      got = canon(input);
    } catch (const Error& e) {
      ADD_FAILURE() << input << ": " << e.what();
      continue;
    }
    EXPECT_EQ(got, expected) << input;
    EXPECT_EQ(canon(got), got) << input;
  }
}

TEST(PipRequirement, EquivalenceClasses) {
  const std::vector<std::vector<std::string>> classes = {
      {"requests>=2.0,<3", "requests >= 2.0 , < 3", "Requests (<3, >=2.0)", "requests<3,>=2.0",
       "REQUESTS>=2.0,<3,<3", "requests>=v2.0,<3"},
      {"a_b.c[X,y]==1.0RC1", "A-B-C[y,x]==1.0rc1", "a.b.c [ x , Y ] == 1.0c1"},
      {"foo; python_version >= '3.8'", "foo;python_version>=\"3.8\"",
       "foo ; (python_version >= '3.8')"},
  };
  for (const auto& group : classes) {
    const std::string first = canon(group.front());
    for (const std::string& line : group) EXPECT_EQ(canon(line), first) << line;
  }
  EXPECT_EQ(canon("a.b.c [ x , Y ] == 1.0c1"), "a-b-c[x,y]==1.0rc1");
  EXPECT_NE(canon("requests<3"), canon("requests<3.0"));  // normalized, not simplified
}

TEST(PipRequirement, Fields) {
  PipRequirement r =
      PipRequirement::parse("Requests[Socks,security] >=2.0, <3 ; python_version >= '3.8'");
  EXPECT_EQ(r.name, "requests");
  EXPECT_EQ(r.extras, (std::vector<std::string>{"security", "socks"}));
  ASSERT_EQ(r.specifiers.specifiers().size(), 2u);
  EXPECT_TRUE(r.specifiers.contains(PipVersion::parse("2.5")));
  EXPECT_FALSE(r.specifiers.contains(PipVersion::parse("3.0")));
  EXPECT_FALSE(r.url);
  ASSERT_TRUE(r.marker);
  EXPECT_TRUE(r.marker->evaluate({{"python_version", "3.11"}}));

  PipRequirement u = PipRequirement::parse("pkg[x] @ https://example.com/pkg-1.0-py3-none-any.whl");
  EXPECT_EQ(u.url, "https://example.com/pkg-1.0-py3-none-any.whl");
  EXPECT_TRUE(u.specifiers.empty());
  EXPECT_FALSE(u.marker);
  // A ';' right after the URL is part of it (PEP 508 needs a space first).
  EXPECT_EQ(PipRequirement::parse("pkg @ https://example.com/a;b").url, "https://example.com/a;b");
  EXPECT_EQ(normalize_name("Foo..Bar--_baz"), "foo-bar-baz");
}

TEST(PipRequirement, RejectsMalformed) {
  const std::vector<std::string> bad = {
      "",
      " ",
      "#foo",
      "-e .",
      "-r other.txt",
      "--index-url x",
      "./local/path",
      "foo bar",
      "foo 1.0",
      "foo[",
      "foo[a",
      "foo[a,]",
      "foo[,a]",
      "foo[a b]",
      "foo]",
      "foo>=",
      "foo>=1.0,",
      "foo (>=1.0",
      "foo (>=1.0) x",
      "foo ()",
      "foo @",
      "foo @ ",
      "foo @ relative/path",
      "foo @ https://x y",
      "foo @ https://x;python_version<'3'",
      "foo @ ://x",
      "foo @ 1http://x",
      "foo ; ",
      "foo;",
      "foo; python_version",
      "foo>=1.0 ; bogus == '1'",
      "_foo",
      "foo_",
      "foo.",
      ".foo",
      "-foo",
      "foo==1.0 @ https://x",
      "foo[a]@https://x extra",
      std::string("foo\0", 4),
      "foo\n",
      "foo\r\n",
      "fooé",
      "foo; python_version >= '3' and",
      "foo==1.0 # comment",
      "foo==1.0;os_name=='a' x",
      "foo==1.0,>=",
      "foo[a]]",
      "foo[[a]]",
      "foo (==1.0",
      "foo>=1.0 (",
      "foo=1.0",
      "foo~1.0",
      "foo<>1.0",
      "foo>=1.0.*",
      "foo~=1",
      "foo @ https://x ; ",
      "foo[a-]",
      "foo[-a]",
      "foo; (os_name == 'a'",
      "foo; os_name == 'a')",
      "foo; os_name == 'a",
      "foo" + std::string(9000, 'o'),
      "foo; " + std::string(100, '(') + "os_name == 'a'" + std::string(100, ')'),
      "foo==1.0\x7f",
      "foo @ https://x/\"quoted\"",
      "foo @ https://x/<y>",
      "foo @ https://x\\y"};
  for (const std::string& s : bad) {
    std::string what = error_of([&] { PipRequirement::parse(s); });
    EXPECT_EQ(what.rfind("invalid requirement '", 0), 0u) << s << ": " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_LT(what.size(), 700u) << what;
  }
  EXPECT_EQ(error_of([] { PipRequirement::parse("requests >="); }),
            "invalid requirement 'requests >=': version specifier '>=': operator '>=' without a "
            "version");
  EXPECT_EQ(error_of([] { PipRequirement::parse("requests[socks"); }),
            "invalid requirement 'requests[socks': '[' without ']'");
  EXPECT_EQ(error_of([] { PipRequirement::parse("foo bar"); }),
            "invalid requirement 'foo bar': expected a version specifier, '[extras]', '@ URL' or "
            "'; marker' after the name, found 'bar'");
  EXPECT_EQ(error_of([] { PipRequirement::parse("foo; os_name = 'a'"); }),
            "invalid requirement 'foo; os_name = 'a'': marker 'os_name = 'a'': expected an "
            "operator (==, !=, <, <=, >, >=, ~=, ===, in, not in), found '= 'a'' at column 9");
}
