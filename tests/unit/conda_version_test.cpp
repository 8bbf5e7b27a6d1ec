#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "builder/conda/version.hpp"
#include "builder/conda/version_spec.hpp"
#include "registry/error.hpp"

using namespace envbuild;
using namespace envbuild::builder::conda;

namespace {

CondaVersion v(const std::string& s) { return CondaVersion::parse(s); }

// Segments as text: "[0][1][2,g]", dev as DEV, post as POST.
std::string render(const std::vector<CondaVersion::Segment>& segments) {
  std::string out;
  for (const auto& segment : segments) {
    out += "[";
    for (std::size_t i = 0; i < segment.size(); ++i) {
      if (i) out += ",";
      const auto& atom = segment[i];
      switch (atom.kind) {
        case CondaVersion::Atom::Kind::Dev:
          out += "DEV";
          break;
        case CondaVersion::Atom::Kind::Post:
          out += "POST";
          break;
        default:
          out += atom.text;
      }
    }
    out += "]";
  }
  return out;
}

// Groups of equal versions, each group greater than the one before.
void expect_order(const std::vector<std::vector<std::string>>& groups) {
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (const std::string& a : groups[g]) {
      for (const std::string& b : groups[g]) {
        EXPECT_TRUE(v(a) == v(b)) << a << " == " << b;
        EXPECT_EQ(v(a) <=> v(b), std::weak_ordering::equivalent) << a << " <=> " << b;
      }
      for (std::size_t h = g + 1; h < groups.size(); ++h) {
        for (const std::string& b : groups[h]) {
          EXPECT_TRUE(v(a) < v(b)) << a << " < " << b;
          EXPECT_TRUE(v(b) > v(a)) << b << " > " << a;
          EXPECT_FALSE(v(a) == v(b)) << a << " != " << b;
        }
      }
    }
  }
}

}  // namespace

// CEP 33 "Examples", in the published order.
TEST(CondaVersion, Cep33PublishedOrder) {
  expect_order({{"0.4", "0.4.0"},
                {"0.4.1.rc", "0.4.1.RC"},
                {"0.4.1+local"},
                {"0.4.1+0.local"},
                {"0.4.1", "0.4.1+0"},
                {"0.4.1+1.local"},
                {"0.5a1"},
                {"0.5b3"},
                {"0.5C1"},
                {"0.5"},
                {"0.9.6"},
                {"0.960923"},
                {"1.0"},
                {"1.1dev1"},
                {"1.1a1"},
                {"1.1.0dev1", "1.1.dev1"},
                {"1.1.a1"},
                {"1.1.0rc1"},
                {"1.1.0.0", "1.1.0", "1.1"},
                {"1.1.post1", "1.1.0post1"},
                {"1.1post1"},
                {"1996.07.12"},
                {"1!0.4.1"},
                {"1!3.1.1.6"},
                {"2!0.4.1"}});
}

// conda's VersionOrder docstring (conda/models/version.py), with 1.1_.
TEST(CondaVersion, CondaDocstringOrder) {
  expect_order({{"0.4", "0.4.0"}, {"0.4.1.rc", "0.4.1.RC"},
                {"0.4.1"},        {"0.5a1"},
                {"0.5b3"},        {"0.5C1"},
                {"0.5"},          {"0.9.6"},
                {"0.960923"},     {"1.0"},
                {"1.1dev1"},      {"1.1_"},
                {"1.1a1"},        {"1.1.0dev1", "1.1.dev1"},
                {"1.1.a1"},       {"1.1.0rc1"},
                {"1.1.0", "1.1"}, {"1.1.0post1", "1.1.post1"},
                {"1.1post1"},     {"1996.07.12"},
                {"1!0.4.1"},      {"1!3.1.1.6"},
                {"2!0.4.1"}});
}

// conda's openssl convention test: a trailing '_' sorts below letters.
TEST(CondaVersion, OpensslConvention) {
  std::vector<std::string> sorted = {
      "1.0.1dev",    "1.0.1_",      "1.0.1a",      "1.0.1b",       "1.0.1c", "1.0.1d",
      "1.0.1r",      "1.0.1rc",     "1.0.1rc1",    "1.0.1rc2",     "1.0.1s", "1.0.1",
      "1.0.1post.a", "1.0.1post.b", "1.0.1post.z", "1.0.1post.za", "1.0.2"};
  std::vector<std::vector<std::string>> groups;
  for (const auto& s : sorted) groups.push_back({s});
  expect_order(groups);
  std::vector<std::string> shuffled = sorted;
  std::mt19937 rng(42);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  std::sort(shuffled.begin(), shuffled.end(),
            [](const std::string& a, const std::string& b) { return v(a) < v(b); });
  EXPECT_EQ(shuffled, sorted);
}

// conda's parser test table (tests/models/test_version.py), sorted there too.
TEST(CondaVersion, ParsedSegmentsAndOrder) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"0.4", "[0][0][4]"},
      {"0.4.0", "[0][0][4][0]"},
      {"0.4.1a.vc11", "[0][0][4][1,a][0,vc,11]"},
      {"0.4.1.rc", "[0][0][4][1][0,rc]"},
      {"0.4.1.vc11", "[0][0][4][1][0,vc,11]"},
      {"0.4.1", "[0][0][4][1]"},
      {"0.5a1", "[0][0][5,a,1]"},
      {"0.5b3", "[0][0][5,b,3]"},
      {"0.5C1", "[0][0][5,c,1]"},
      {"0.5z", "[0][0][5,z]"},
      {"0.5za", "[0][0][5,za]"},
      {"0.5", "[0][0][5]"},
      {"0.5_5", "[0][0][5][5]"},
      {"0.5-5", "[0][0][5][5]"},
      {"0.9.6", "[0][0][9][6]"},
      {"0.960923", "[0][0][960923]"},
      {"1.0", "[0][1][0]"},
      {"1.0.4a3", "[0][1][0][4,a,3]"},
      {"1.0.4b1", "[0][1][0][4,b,1]"},
      {"1.0.4", "[0][1][0][4]"},
      {"1.1dev1", "[0][1][1,DEV,1]"},
      {"1.1_", "[0][1][1,_]"},
      {"1.1a1", "[0][1][1,a,1]"},
      {"1.1.dev1", "[0][1][1][0,DEV,1]"},
      {"1.1.a1", "[0][1][1][0,a,1]"},
      {"1.1", "[0][1][1]"},
      {"1.1.post1", "[0][1][1][0,POST,1]"},
      {"1.1.1dev1", "[0][1][1][1,DEV,1]"},
      {"1.1.1rc1", "[0][1][1][1,rc,1]"},
      {"1.1.1", "[0][1][1][1]"},
      {"1.1.1post1", "[0][1][1][1,POST,1]"},
      {"1.1post1", "[0][1][1,POST,1]"},
      {"2g6", "[0][2,g,6]"},
      {"2.0b1pr0", "[0][2][0,b,1,pr,0]"},
      {"2.2be.ta29", "[0][2][2,be][0,ta,29]"},
      {"2.2be5ta29", "[0][2][2,be,5,ta,29]"},
      {"2.2beta29", "[0][2][2,beta,29]"},
      {"2.2.0.1", "[0][2][2][0][1]"},
      {"3.1.1.6", "[0][3][1][1][6]"},
      {"3.2.p.r0", "[0][3][2][0,p][0,r,0]"},
      {"3.2.pr0", "[0][3][2][0,pr,0]"},
      {"3.2.pr.1", "[0][3][2][0,pr][1]"},
      {"5.5.kw", "[0][5][5][0,kw]"},
      {"11g", "[0][11,g]"},
      {"14.3.1", "[0][14][3][1]"},
      {"14.3.1.post26.g9d75ca2", "[0][14][3][1][0,POST,26][0,g,9,d,75,ca,2]"},
      {"1996.07.12", "[0][1996][7][12]"},
      {"1!0.4.1", "[1][0][4][1]"},
      {"1!3.1.1.6", "[1][3][1][1][6]"},
      {"2!0.4.1", "[2][0][4][1]"},
  };
  for (const auto& [text, segments] : table) {
    CondaVersion parsed = v(text);
    EXPECT_EQ(render(parsed.segments()), segments) << text;
    std::string norm = text;
    for (char& c : norm) c = c == '-' ? '_' : static_cast<char>(std::tolower(c));
    EXPECT_EQ(parsed.str(), norm) << text;
  }
  for (std::size_t i = 0; i + 1 < table.size(); ++i)
    EXPECT_TRUE(v(table[i].first) <= v(table[i + 1].first)) << table[i].first;
}

// CEP 33's parse examples.
TEST(CondaVersion, Cep33ParseExamples) {
  EXPECT_EQ(render(v("1.2g.beta15.rc").segments()), "[0][1][2,g][0,beta,15][0,rc]");
  EXPECT_EQ(render(v("1!2.15.1_ALPHA").segments()), "[1][2][15][1][0,alpha]");
  EXPECT_EQ(render(v("1!2.15.1alpha_").segments()), "[1][2][15][1,alpha_]");
  CondaVersion local = v("1!2.15.1_alpha+1.2.3h123");
  EXPECT_EQ(render(local.segments()), "[1][2][15][1][0,alpha]");
  EXPECT_EQ(render(local.local_segments()), "[1][2][3,h,123]");
  EXPECT_EQ(render(v("007.0100").segments()), "[0][7][100]");
}

TEST(CondaVersion, SpecialStringsAndNumbers) {
  // dev < '_' < letters < numbers < post.
  EXPECT_LT(v("1.0dev"), v("1.0_"));
  EXPECT_LT(v("1.0_"), v("1.0a"));
  EXPECT_LT(v("1.0a"), v("1.0"));
  EXPECT_LT(v("1.0"), v("1.0post"));
  EXPECT_LT(v("1.0post"), v("1.0post1"));
  EXPECT_LT(v("1.0post1"), v("1.1"));
  EXPECT_LT(v("1.0.dev"), v("1.0.a"));
  EXPECT_LT(v("1.0.devel"), v("1.0.dew"));  // only 'dev' itself is special
  EXPECT_GT(v("1.0.devel"), v("1.0.dev"));
  EXPECT_LT(v("1.9"), v("1.10"));
  EXPECT_EQ(v("1.01"), v("1.1"));
  EXPECT_EQ(v("01!1.0"), v("1!1"));
  EXPECT_LT(v("99999999999999999999999"), v("100000000000000000000000"));
  EXPECT_EQ(v("000000000000000000000000000012"), v("12"));
  EXPECT_EQ(v("1.0A"), v("1.0a"));
  EXPECT_EQ(v("1.0-1").str(), "1.0_1");
  EXPECT_EQ(v("1.0-1"), v("1.0.1"));
  EXPECT_EQ(v("V1.0").str(), "v1.0");
  EXPECT_LT(v("v1.0"), v("0.1"));        // a leading letter means 0 first
  EXPECT_EQ(v("1.1.0rc"), v("1.1.rc"));  // CEP 33's warning about leading zeros
  EXPECT_GT(v("1.1.rc"), v("1.1rc"));
}

TEST(CondaVersion, StartsWith) {
  EXPECT_TRUE(v("0.4.1").starts_with(v("0")));
  EXPECT_TRUE(v("0.4.1").starts_with(v("0.4")));
  EXPECT_TRUE(v("0.4.1p1").starts_with(v("0.4")));
  EXPECT_TRUE(v("0.4.1p1").starts_with(v("0.4.1p")));
  EXPECT_FALSE(v("0.4.1p1").starts_with(v("0.4.1q1")));
  EXPECT_FALSE(v("0.4").starts_with(v("0.4.1")));
  EXPECT_TRUE(v("0.4.1+1.3").starts_with(v("0.4.1")));
  EXPECT_TRUE(v("0.4.1+1.3").starts_with(v("0.4.1+1")));
  EXPECT_FALSE(v("0.4.1").starts_with(v("0.4.1+1.3")));
  EXPECT_FALSE(v("0.4.1+1").starts_with(v("0.4.1+1.3")));
  EXPECT_FALSE(v("0.40").starts_with(v("0.4")));
  EXPECT_TRUE(v("1.2alpha").starts_with(v("1.2a")));
  EXPECT_TRUE(v("1.2").starts_with(v("1.2.0")));
  EXPECT_FALSE(v("1.2.1").starts_with(v("1.2.0")));
  EXPECT_TRUE(v("1.2.dev1").starts_with(v("1.2.dev")));
  EXPECT_FALSE(v("1.2.devel").starts_with(v("1.2.dev")));
  EXPECT_FALSE(v("2!1.2").starts_with(v("1.2")));
}

TEST(CondaVersion, RejectsMalformed) {
  const std::vector<std::string> bad = {"",
                                        " ",
                                        "  1.0",
                                        "1.0 ",
                                        "1 .0",
                                        "1.0\t",
                                        "3.5&1",
                                        "5.5++",
                                        "5.5..mw",
                                        "!",
                                        "a!1.0",
                                        "a!b!1.0",
                                        "1!2!3",
                                        "1+2+3",
                                        "1.0-1_2",
                                        ".1",
                                        "1.",
                                        "1..2",
                                        "1.+2",
                                        "+1",
                                        "1!",
                                        "1!+2",
                                        "1+",
                                        "1+a..b",
                                        "1+a_",
                                        "_",
                                        "1._",
                                        "1__",
                                        "1.*",
                                        "*",
                                        "1.0,",
                                        "1.0=",
                                        ">=1",
                                        "(1)",
                                        "1.0é",
                                        std::string("1.0\0", 4),
                                        "1.0\n",
                                        "1.0\x7f",
                                        "1.0/2",
                                        "1;0",
                                        "'1.0'",
                                        std::string(300, '1'),
                                        std::string(200, '.') + "1"};
  for (const std::string& s : bad) {
    try {
      CondaVersion::parse(s);
      ADD_FAILURE() << "accepted " << s;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::BadInput) << s;
      std::string what = e.what();
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
      EXPECT_LT(what.size(), 400u) << what;
      EXPECT_EQ(what.rfind("invalid conda version '", 0), 0u) << what;
    }
  }
}

TEST(CondaVersion, QuoteInputIsOneShortLine) {
  EXPECT_EQ(quote_input("abc"), "'abc'");
  EXPECT_EQ(quote_input(std::string("a\0b\n", 4)), "'a\\x00b\\x0a'");
  EXPECT_EQ(quote_input(std::string(500, 'x')), "'" + std::string(200, 'x') + "'...");
}

// ---------------------------------------------------------------------------

namespace {

bool m(const std::string& spec, const std::string& version) {
  return VersionSpec::parse(spec).matches(v(version));
}

}  // namespace

// conda's test_match table for version 1.7.1 (regex rows left out).
TEST(VersionSpec, CondaMatchTable) {
  const std::vector<std::pair<std::string, bool>> table = {{"1.7.*", true},
                                                           {"1.7.1", true},
                                                           {"1.7.0", false},
                                                           {"1.7", false},
                                                           {"1.5.*", false},
                                                           {">=1.5", true},
                                                           {"!=1.5", true},
                                                           {"!=1.7.1", false},
                                                           {"==1.7.1", true},
                                                           {"==1.7", false},
                                                           {"==1.7.2", false},
                                                           {"==1.7.1.0", true},
                                                           {"1.7.*|1.8.*", true},
                                                           {">1.7,<1.8", true},
                                                           {">1.7.1,<1.8", false},
                                                           {"*", true},
                                                           {"1.*.1", true},
                                                           {"1.5.*|>1.7,<1.8", true},
                                                           {"1.5.*|>1.7,<1.7.1", false},
                                                           {"*.7.*", true},
                                                           {"*.8.*", false},
                                                           {">=1,*.7.*", true},
                                                           {"*.7.*,>=1", true},
                                                           {">=2,*.7.*", false},
                                                           {"1.6*|1.7*", true},
                                                           {"1.6*|1.8*", false},
                                                           {"1.6.2|1.7*", true},
                                                           {"1.6.2|1.7.1", true},
                                                           {"1.6.2|1.7.0", false},
                                                           {">1.7.1a", true},
                                                           {">=1.5,>1.6", true},
                                                           {">1.5,<2,!=1.7.1", false},
                                                           {">1.8,<2|==1.7", false},
                                                           {">1.8,<2|>=1.7.1", true},
                                                           {">=1.8|1.7*", true},
                                                           {"~=1.7", true},
                                                           {"~=1.7.2", false},
                                                           {"~=1.6.0", false},
                                                           {"~=1.7.0", true}};
  for (const auto& [spec, expected] : table) EXPECT_EQ(m(spec, "1.7.1"), expected) << spec;
}

// conda's test_ver_eval and test_not_eq_star.
TEST(VersionSpec, CondaVerEval) {
  EXPECT_TRUE(m("==1.7", "1.7.0"));
  EXPECT_TRUE(m("<=1.7", "1.7.0"));
  EXPECT_FALSE(m("<1.7", "1.7.0"));
  EXPECT_TRUE(m(">=1.7", "1.7.0"));
  EXPECT_FALSE(m(">1.7", "1.7.0"));
  EXPECT_FALSE(m(">=1.7", "1.6.7"));
  EXPECT_FALSE(m(">2013b", "2013a"));
  EXPECT_TRUE(m(">2013b", "2013k"));
  EXPECT_FALSE(m(">2013b", "3.0.0"));
  EXPECT_TRUE(m(">1.0.0a", "1.0.0"));
  EXPECT_TRUE(m("1.0*", "1.0"));
  EXPECT_TRUE(m("1.0*", "1.0.0"));
  EXPECT_TRUE(m("1.0.0*", "1.0"));
  EXPECT_FALSE(m("1.0.0*", "1.0.1"));
  EXPECT_TRUE(m("2013a*", "2013a"));
  EXPECT_FALSE(m("2013b*", "2013a"));
  EXPECT_TRUE(m("2013a*", "2013ab"));
  EXPECT_FALSE(m("1.2.4*", "1.3.4"));
  EXPECT_TRUE(m("1.2.3*", "1.2.3+4.5.6"));
  EXPECT_TRUE(m("1.2.3+4*", "1.2.3+4.5.6"));
  EXPECT_FALSE(m("1.2.3+5*", "1.2.3+4.5.6"));
  EXPECT_FALSE(m("1.2.4+5*", "1.2.3+4.5.6"));

  EXPECT_TRUE(m("=3.3", "3.3.1"));
  EXPECT_TRUE(m("=3.3", "3.3"));
  EXPECT_FALSE(m("=3.3", "3.4"));
  EXPECT_FALSE(m("=3.3", "3.30"));
  EXPECT_TRUE(m("3.3.*", "3.3.1"));
  EXPECT_TRUE(m("3.3.*", "3.3"));
  EXPECT_FALSE(m("3.3.*", "3.4"));
  EXPECT_TRUE(m("=3.3.*", "3.3.1"));
  EXPECT_TRUE(m("==3.3.*", "3.3.1"));
  EXPECT_FALSE(m("=3.3.*", "3.4"));
  EXPECT_FALSE(m("!=3.3.*", "3.3.1"));
  EXPECT_TRUE(m("!=3.3.*", "3.4"));
  EXPECT_TRUE(m("!=3.3.*", "3.4.1"));
  EXPECT_TRUE(m("!=3.3", "3.3.1"));  // conda: not-exact, not a negated fuzzy match
  EXPECT_FALSE(m("!=3.3", "3.3.0.0"));
  EXPECT_FALSE(m("!=3.3.*", "3.3.0.0"));
  EXPECT_TRUE(m("1.7a*", "1.7alpha"));
  EXPECT_TRUE(m("1.7*", "1.7a"));  // a pre-release of 1.7 starts with 1.7
  EXPECT_FALSE(m("1.7*", "1.70"));
  EXPECT_TRUE(m("1.7", "1.7.0.0"));  // a bare literal is exact
  EXPECT_FALSE(m("1.7", "1.7.1"));
}

TEST(VersionSpec, CompoundAndCompatible) {
  const std::string compound = ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*";
  EXPECT_FALSE(m(compound, "2.6.8"));
  EXPECT_TRUE(m(compound, "2.7.2"));
  EXPECT_FALSE(m(compound, "3.3"));
  EXPECT_FALSE(m(compound, "3.3.4"));
  EXPECT_TRUE(m(compound, "3.4"));
  EXPECT_TRUE(m(compound, "3.4a"));

  EXPECT_TRUE(m("~=1.10", "1.11.0"));
  EXPECT_FALSE(m("~=1.10.0", "1.11.0"));
  EXPECT_FALSE(m("~=3.3.2", "3.4.0"));
  EXPECT_FALSE(m("~=3.3.2", "3.3.1"));
  EXPECT_TRUE(m("~=3.3.2", "3.3.2.0"));
  EXPECT_TRUE(m("~=3.3.2", "3.3.3"));
  EXPECT_TRUE(m("~=3.3.2|==2.2", "2.2.0"));
  EXPECT_TRUE(m("~=3.3.2|==2.2", "3.3.3"));
  EXPECT_FALSE(m("~=3.3.2|==2.2", "2.2.1"));
  EXPECT_FALSE(m("~=1.2", "2.0"));
  EXPECT_TRUE(m("~=1!1.2", "1!1.9"));
  EXPECT_FALSE(m("~=1!1.2", "1.9"));
}

// ',' binds tighter than '|'; parentheses regroup (conda's treeify examples).
TEST(VersionSpec, PrecedenceAndParentheses) {
  VersionSpec a = VersionSpec::parse("1.2.3,4.5.6|<=7.8.9");
  EXPECT_EQ(a.kind(), VersionSpec::Kind::Or);
  EXPECT_EQ(a.str(), "<=7.8.9|==1.2.3,==4.5.6");
  EXPECT_TRUE(a.matches(v("7.0")));
  EXPECT_TRUE(a.matches(v("1.2.3")));
  EXPECT_FALSE(a.matches(v("8.0")));

  VersionSpec b = VersionSpec::parse("(1.2.3|4.5.6),<=7.8.9");
  EXPECT_EQ(b.kind(), VersionSpec::Kind::And);
  EXPECT_EQ(b.str(), "<=7.8.9,(==1.2.3|==4.5.6)");
  EXPECT_TRUE(b.matches(v("1.2.3")));
  EXPECT_FALSE(b.matches(v("7.0")));

  VersionSpec c = VersionSpec::parse("((1.5|((1.6|1.7), 1.8), 1.9 |2.0))|2.1");
  EXPECT_EQ(c.str(), "(==1.6|==1.7),==1.8,==1.9|==1.5|==2.0|==2.1");
  EXPECT_TRUE(c.matches(v("1.5")));
  EXPECT_FALSE(c.matches(v("1.6")));
  EXPECT_TRUE(c.matches(v("2.1")));
  EXPECT_FALSE(c.matches(v("3.0")));
  EXPECT_EQ(VersionSpec::parse("1.5|(1.6|1.7),1.8,1.9|2.0|2.1").str(), c.str());

  EXPECT_TRUE(m(">=1|<0.5,>0.2", "0.3"));
  EXPECT_FALSE(m("(>=1|<0.5),>0.7", "0.6"));
  EXPECT_TRUE(m("(>=1|<0.5),>0.7", "1.1"));
}

TEST(VersionSpec, CanonicalSpelling) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"1.7*", "1.7.*"},
      {"1.7.*", "1.7.*"},
      {"1.7**", "1.7.*"},
      {"=1.7", "1.7.*"},
      {"=1.7.*", "1.7.*"},
      {"==1.7.*", "1.7.*"},
      {"==1.7*", "1.7.*"},
      {"1.7", "==1.7"},
      {"==1.7", "==1.7"},
      {"1.7A", "==1.7a"},
      {"1.7a*", "1.7a.*"},
      {" >= 1.2 , < 2 ", "<2,>=1.2"},
      {"1.0*|( >=1.2, <2 )", "1.0.*|<2,>=1.2"},
      {">=1.7.*", ">=1.7"},
      {"<1.7.*", "<1.7"},
      {"!=1.7*", "!=1.7.*"},
      {"!=1.7", "!=1.7"},
      {"~=1.2.3", "~=1.2.3"},
      {"*", "*"},
      {"*,>=1", ">=1"},
      {"*,*", "*"},
      {"*|>=1", "*"},
      {">=1,>=1", ">=1"},
      {"1.7.0|1.7", "==1.7|==1.7.0"},
      {"1.*.1", "1.*.1"},
      {"1.*.X", "1.*.x"},
      {"(>=1)", ">=1"},
      {"((1.2))", "==1.2"},
      {">1.0-1", ">1.0_1"},
      {"1!2.0+A", "==1!2.0+a"},
      {"(a|b),(c|d)", "(==a|==b),(==c|==d)"},
      {"a|(b|c)", "==a|==b|==c"},
      {"a,(b,c)", "==a,==b,==c"},
      {"1.1.1_", "==1.1.1_"},
  };
  for (const auto& [input, expected] : table) {
    VersionSpec spec = VersionSpec::parse(input);
    EXPECT_EQ(spec.str(), expected) << input;
    EXPECT_EQ(VersionSpec::parse(spec.str()).str(), expected) << input;
  }
}

TEST(VersionSpec, SingleClauseAndAny) {
  EXPECT_TRUE(VersionSpec::parse("*").is_any());
  EXPECT_TRUE(VersionSpec::parse("*|1").is_any());
  EXPECT_TRUE(VersionSpec::any().matches(v("0")));
  ASSERT_NE(VersionSpec::parse("1.2.*").single_clause(), nullptr);
  EXPECT_EQ(VersionSpec::parse("1.2.*").single_clause()->op, VersionOp::StartsWith);
  EXPECT_EQ(VersionSpec::parse("==1.2").single_clause()->op, VersionOp::Exact);
  EXPECT_EQ(VersionSpec::parse("1.2").single_clause()->op, VersionOp::Exact);
  EXPECT_EQ(VersionSpec::parse("1.*.2").single_clause()->op, VersionOp::Glob);
  EXPECT_EQ(VersionSpec::parse(">=1,<2").single_clause(), nullptr);
  EXPECT_EQ(VersionSpec::parse("(>=1)").single_clause()->op, VersionOp::GreaterEqual);
}

TEST(VersionSpec, GlobMatch) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "abc"));
  EXPECT_TRUE(glob_match("py3*_2", "py37_2"));
  EXPECT_FALSE(glob_match("py3*_2", "py37_1"));
  EXPECT_TRUE(glob_match("*_0", "h123_0"));
  EXPECT_TRUE(glob_match("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXbYbZ"));
  EXPECT_TRUE(glob_match("abc", "abc"));
  EXPECT_FALSE(glob_match("abc", "abcd"));
  EXPECT_TRUE(glob_match("**a**", "xxaxx"));
  EXPECT_FALSE(glob_match(std::string(100, '*') + "b", std::string(10000, 'a')));
}

TEST(VersionSpec, RejectsMalformed) {
  std::string deep = std::string(100, '(') + "1" + std::string(100, ')');
  const std::vector<std::string> bad = {"",
                                        " ",
                                        "(1.5",
                                        "1.5)",
                                        "1.5||1.6",
                                        "^1.5",
                                        "^1.5$",
                                        "1.5$",
                                        "~",
                                        "^",
                                        "><2.4.5",
                                        "!!2.4.5",
                                        "!",
                                        "!1.0",
                                        "~1.0",
                                        ",",
                                        "|",
                                        "1.2,",
                                        ",1.2",
                                        "1.2|",
                                        "|1.2",
                                        "()",
                                        "(())",
                                        "(1.2,)",
                                        ">=",
                                        "<",
                                        "==",
                                        "!=",
                                        "~=",
                                        "=",
                                        ">= ",
                                        "1.2 3",
                                        ">=1.2 <2",
                                        "1.2 .3",
                                        "===1.0",
                                        "=>1.0",
                                        "=<1.0",
                                        ">==1.0",
                                        "<>1.0",
                                        ">=1.*.2",
                                        ">=1.0*",
                                        "<1*",
                                        "~=1",
                                        "~=1.*",
                                        "~=1.2.*",
                                        "**",
                                        "1..2",
                                        "1.2&",
                                        "1.2;",
                                        "1.2 (",
                                        "(1.2)(1.3)",
                                        "1.2 ,,1.3",
                                        deep,
                                        std::string(5000, '1'),
                                        std::string("1.0\0", 4),
                                        "1.0\n",
                                        "1.0\r",
                                        "é",
                                        "1.0é",
                                        "1.2,(",
                                        "((1.2)",
                                        "1.2))",
                                        ">=1.2,<",
                                        "1.0-1_0",
                                        "1!2!3",
                                        "=1.2=3",
                                        "1.2=",
                                        "'1.2'",
                                        "\"1.2\""};
  for (const std::string& s : bad) {
    try {
      VersionSpec::parse(s);
      ADD_FAILURE() << "accepted " << s;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::BadInput) << s;
      std::string what = e.what();
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
      EXPECT_LT(what.size(), 600u) << what;
      EXPECT_EQ(what.rfind("invalid version spec '", 0), 0u) << what;
      EXPECT_NE(what.find(" at column "), std::string::npos) << what;
    }
  }
}

TEST(VersionSpec, ErrorNamesConstraintAndColumn) {
  try {
    VersionSpec::parse(">=1.2,<");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "invalid version spec '>=1.2,<' at column 7: operator '<' without a version");
  }
  try {
    VersionSpec::parse("(1.2|1.3");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "invalid version spec '(1.2|1.3' at column 1: '(' is never closed");
  }
  try {
    VersionSpec::parse("1..2");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(
        std::string(e.what()),
        "invalid version spec '1..2' at column 1: invalid conda version '1..2': empty segment "
        "in the version");
  }
}
