#include "snapshot/ignore_pattern.hpp"

#include <gtest/gtest.h>

#include "snapshot/wildmatch.hpp"

using namespace envbuild::snapshot;

namespace {

TEST(Wildmatch, GitPathnameRules) {
  EXPECT_TRUE(wildmatch("*.txt", "a.txt"));
  EXPECT_FALSE(wildmatch("*.txt", "d/a.txt"));
  EXPECT_TRUE(wildmatch("**/a.txt", "a.txt"));
  EXPECT_TRUE(wildmatch("**/a.txt", "x/y/a.txt"));
  EXPECT_TRUE(wildmatch("a/**", "a/b/c"));
  EXPECT_FALSE(wildmatch("a/**", "a"));
  EXPECT_TRUE(wildmatch("a/**/b", "a/b"));
  EXPECT_TRUE(wildmatch("a/**/b", "a/x/y/b"));
  EXPECT_FALSE(wildmatch("a**b", "a/b"));  // not between slashes: a plain star
  EXPECT_TRUE(wildmatch("a**b", "axxb"));
  EXPECT_FALSE(wildmatch("?", "/"));
  EXPECT_TRUE(wildmatch("[a-c]x", "bx"));
  EXPECT_FALSE(wildmatch("[!a-c]x", "bx"));
  EXPECT_TRUE(wildmatch("[^a-c]x", "dx"));
  EXPECT_TRUE(wildmatch("[]]", "]"));
  EXPECT_TRUE(wildmatch("[[:upper:]]*", "Kx"));
  EXPECT_FALSE(wildmatch("[[:upper:]]*", "kx"));
  EXPECT_FALSE(wildmatch("[[:nope:]]", "n"));  // unknown class: nothing matches
  EXPECT_FALSE(wildmatch("[abc", "a"));        // unterminated: nothing matches
  EXPECT_TRUE(wildmatch("\\*", "*"));
  EXPECT_FALSE(wildmatch("\\*", "x"));
  EXPECT_FALSE(wildmatch("abc\\", "abc"));    // trailing backslash
  EXPECT_TRUE(wildmatch("*", "a/b", false));  // basename mode: '/' not special
}

IgnorePattern parse(std::string_view line) {
  auto p = parse_ignore_line(line, 1);
  EXPECT_TRUE(p.has_value()) << line;
  return p.value_or(IgnorePattern{});
}

TEST(IgnorePattern, ParsesLikeGit) {
  EXPECT_FALSE(parse_ignore_line("", 1));
  EXPECT_FALSE(parse_ignore_line("# comment", 1));
  EXPECT_FALSE(parse_ignore_line("   ", 1));
  EXPECT_FALSE(parse_ignore_line("/", 1));

  IgnorePattern neg = parse("!keep.log");
  EXPECT_TRUE(neg.negated);
  EXPECT_EQ(neg.pattern, "keep.log");
  EXPECT_EQ(neg.text, "!keep.log");

  IgnorePattern dir = parse("/build/");
  EXPECT_TRUE(dir.directory_only);
  EXPECT_FALSE(dir.basename_only);  // the leading slash anchors it
  EXPECT_EQ(dir.pattern, "build");
  EXPECT_TRUE(dir.matches("build", "build", true));
  EXPECT_FALSE(dir.matches("build", "build", false));
  EXPECT_FALSE(dir.matches("src/build", "build", true));

  IgnorePattern any = parse("build/");
  EXPECT_TRUE(any.basename_only);
  EXPECT_TRUE(any.matches("src/build", "build", true));

  IgnorePattern mid = parse("doc/*.md");
  EXPECT_FALSE(mid.basename_only);
  EXPECT_TRUE(mid.matches("doc/a.md", "a.md", false));
  EXPECT_FALSE(mid.matches("x/doc/a.md", "a.md", false));

  EXPECT_EQ(parse("\\#hash").pattern, "\\#hash");
  EXPECT_TRUE(parse("\\#hash").matches("#hash", "#hash", false));
  EXPECT_FALSE(parse("\\!bang").negated);
  EXPECT_TRUE(parse("\\!bang").matches("!bang", "!bang", false));
}

TEST(IgnorePattern, TrailingSpacesAreTrimmedUnlessEscapedTabsStay) {
  EXPECT_EQ(parse("a.txt   ").text, "a.txt");
  IgnorePattern esc = parse("a\\ ");
  EXPECT_TRUE(esc.matches("a ", "a ", false));
  EXPECT_FALSE(esc.matches("a", "a", false));
  IgnorePattern tab = parse("a\t");
  EXPECT_TRUE(tab.matches("a\t", "a\t", false));
  EXPECT_FALSE(tab.matches("a", "a", false));
}

TEST(IgnorePattern, FileParsingSkipsBomHandlesCrlfAndCountsLines) {
  auto ps = parse_ignore_file("\xEF\xBB\xBF*.log\r\n\n# c\r\n!keep.log\r\nlast");
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[0].pattern, "*.log");
  EXPECT_EQ(ps[0].line, 1);
  EXPECT_EQ(ps[1].text, "!keep.log");
  EXPECT_EQ(ps[1].line, 4);
  EXPECT_EQ(ps[2].pattern, "last");
  EXPECT_EQ(ps[2].line, 5);
  EXPECT_TRUE(ps[0].matches("x/a.log", "a.log", false));
  EXPECT_FALSE(ps[0].matches("x/a.logx", "a.logx", false));
}

}  // namespace
