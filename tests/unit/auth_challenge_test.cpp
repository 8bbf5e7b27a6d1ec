#include "registry/auth_challenge.hpp"

#include <gtest/gtest.h>

#include "registry/error.hpp"

using namespace envbuild;
using namespace envbuild::registry;

namespace {

TEST(AuthChallenge, BearerWithQuotedParameters) {
  auto all = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull")");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].scheme, "bearer");
  EXPECT_EQ(all[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(all[0].param("service"), "registry.docker.io");
  EXPECT_EQ(all[0].param("scope"), "repository:library/ubuntu:pull");
  EXPECT_EQ(all[0].param("missing"), std::nullopt);
}

TEST(AuthChallenge, CommasAndEscapesInsideQuotes) {
  auto all = parse_www_authenticate(
      R"(Bearer realm="https://a/t",scope="repository:a:pull,push repository:b:pull",error="say \"hi\", \\ ok")");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].param("scope"), "repository:a:pull,push repository:b:pull");
  EXPECT_EQ(all[0].param("error"), R"(say "hi", \ ok)");
}

TEST(AuthChallenge, SchemeAndNamesAreCaseInsensitiveAndTokensUnquoted) {
  auto all = parse_www_authenticate("BASIC Realm=registry ,  Charset=\"UTF-8\"");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].scheme, "basic");
  EXPECT_EQ(all[0].param("realm"), "registry");
  EXPECT_EQ(all[0].param("charset"), "UTF-8");
}

TEST(AuthChallenge, SeveralChallengesInOneValue) {
  auto all = parse_www_authenticate(
      R"(Basic realm="x", Bearer realm="https://t/token", service="s", Negotiate)");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].scheme, "basic");
  EXPECT_EQ(all[0].params.size(), 1u);
  EXPECT_EQ(all[1].scheme, "bearer");
  EXPECT_EQ(all[1].param("service"), "s");
  EXPECT_EQ(all[2].scheme, "negotiate");
  EXPECT_TRUE(all[2].params.empty());
}

TEST(AuthChallenge, Token68) {
  auto all = parse_www_authenticate("Negotiate abc+/def==, Basic realm=\"r\"");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].token68, "abc+/def==");
  EXPECT_EQ(all[1].param("realm"), "r");
}

TEST(AuthChallenge, MalformedInputThrows) {
  for (const char* bad : {
           "",
           "   ",
           R"(Bearer realm="unterminated)",
           R"(Bearer realm="x", service=)",
           R"(Bearer realm="x" service="y")",
           R"(Bearer realm="x", realm="y")",
           R"(="x")",
           "Bearer realm=\"a\x01b\"",
           "Bearer realm=\"x\\",
       }) {
    EXPECT_THROW(parse_www_authenticate(bad), Error) << bad;
  }
  try {
    parse_www_authenticate(R"(Bearer realm="s3cret)");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Registry);
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos);
  }
}

TEST(AuthChallenge, FindChallengeSkipsMalformedValues) {
  std::vector<std::string> values = {R"(Bearer realm="broken)", R"(Basic realm="b")",
                                     R"(Bearer realm="https://ok/token")"};
  auto bearer = find_challenge(values, "bearer");
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->param("realm"), "https://ok/token");
  EXPECT_TRUE(find_challenge(values, "basic"));
  EXPECT_FALSE(find_challenge(values, "digest"));
  EXPECT_FALSE(find_challenge({}, "basic"));
}

}  // namespace
