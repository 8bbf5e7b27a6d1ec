#include "registry/reference.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "registry/error.hpp"

using namespace envbuild;
using namespace envbuild::registry;

namespace {

const std::string kHex = Digest::sha256_of("reference test").hex();
const std::string kDigest = "sha256:" + kHex;

struct Valid {
  std::string input;
  std::string domain;
  std::string path;
  std::optional<std::string> tag;
  bool has_digest;
  std::string str;
  std::string familiar;
};

// Each expectation follows docker's ParseNormalizedNamed + TagNameOnly.
std::vector<Valid> valid_cases() {
  return {
      {"ubuntu", "docker.io", "library/ubuntu", std::nullopt, false,
       "docker.io/library/ubuntu:latest", "ubuntu:latest"},
      {"ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", false,
       "docker.io/library/ubuntu:22.04", "ubuntu:22.04"},
      {"user/img", "docker.io", "user/img", std::nullopt, false, "docker.io/user/img:latest",
       "user/img:latest"},
      {"docker.io/library/ubuntu", "docker.io", "library/ubuntu", std::nullopt, false,
       "docker.io/library/ubuntu:latest", "ubuntu:latest"},
      {"docker.io/ubuntu", "docker.io", "library/ubuntu", std::nullopt, false,
       "docker.io/library/ubuntu:latest", "ubuntu:latest"},
      {"index.docker.io/x/y", "docker.io", "x/y", std::nullopt, false, "docker.io/x/y:latest",
       "x/y:latest"},
      {"library/a/b", "docker.io", "library/a/b", std::nullopt, false,
       "docker.io/library/a/b:latest", "library/a/b:latest"},
      {"localhost/x", "localhost", "x", std::nullopt, false, "localhost/x:latest",
       "localhost/x:latest"},
      {"localhost:5000/a/b/c:t", "localhost:5000", "a/b/c", "t", false, "localhost:5000/a/b/c:t",
       "localhost:5000/a/b/c:t"},
      {"127.0.0.1:5000/team/env@" + kDigest, "127.0.0.1:5000", "team/env", std::nullopt, true,
       "127.0.0.1:5000/team/env@" + kDigest, "127.0.0.1:5000/team/env@" + kDigest},
      {"quay.io/org/app:v1@" + kDigest, "quay.io", "org/app", "v1", true,
       "quay.io/org/app:v1@" + kDigest, "quay.io/org/app:v1@" + kDigest},
      {"ubuntu@" + kDigest, "docker.io", "library/ubuntu", std::nullopt, true,
       "docker.io/library/ubuntu@" + kDigest, "ubuntu@" + kDigest},
      {"[::1]:5000/x:y", "[::1]:5000", "x", "y", false, "[::1]:5000/x:y", "[::1]:5000/x:y"},
      {"[fe80::1]/x", "[fe80::1]", "x", std::nullopt, false, "[fe80::1]/x:latest",
       "[fe80::1]/x:latest"},
      {"ghcr.io/org/sub/img:v1.2_3-rc", "ghcr.io", "org/sub/img", "v1.2_3-rc", false,
       "ghcr.io/org/sub/img:v1.2_3-rc", "ghcr.io/org/sub/img:v1.2_3-rc"},
      {"my-registry.example.com:443/x", "my-registry.example.com:443", "x", std::nullopt, false,
       "my-registry.example.com:443/x:latest", "my-registry.example.com:443/x:latest"},
      // An uppercase first component followed by '/' is a domain, as in docker.
      {"UPPER/case", "UPPER", "case", std::nullopt, false, "UPPER/case:latest",
       "UPPER/case:latest"},
      // Without a '/', "localhost:5000" is the image "localhost" with tag "5000".
      {"localhost:5000", "docker.io", "library/localhost", "5000", false,
       "docker.io/library/localhost:5000", "localhost:5000"},
      {"a.b", "docker.io", "library/a.b", std::nullopt, false, "docker.io/library/a.b:latest",
       "a.b:latest"},
      {"a_b", "docker.io", "library/a_b", std::nullopt, false, "docker.io/library/a_b:latest",
       "a_b:latest"},
      {"a__b", "docker.io", "library/a__b", std::nullopt, false, "docker.io/library/a__b:latest",
       "a__b:latest"},
      {"a---b", "docker.io", "library/a---b", std::nullopt, false, "docker.io/library/a---b:latest",
       "a---b:latest"},
      {"x/a.b_c__d-e/f0", "docker.io", "x/a.b_c__d-e/f0", std::nullopt, false,
       "docker.io/x/a.b_c__d-e/f0:latest", "x/a.b_c__d-e/f0:latest"},
      {"img:_under", "docker.io", "library/img", "_under", false, "docker.io/library/img:_under",
       "img:_under"},
      {"img:MiXeD.Case-1", "docker.io", "library/img", "MiXeD.Case-1", false,
       "docker.io/library/img:MiXeD.Case-1", "img:MiXeD.Case-1"},
      {"img:" + std::string(128, 't'), "docker.io", "library/img", std::string(128, 't'), false,
       "docker.io/library/img:" + std::string(128, 't'), "img:" + std::string(128, 't')},
  };
}

TEST(ReferenceTest, ParsesAndNormalizesValidReferences) {
  for (const Valid& v : valid_cases()) {
    SCOPED_TRACE(v.input);
    Reference r = Reference::parse(v.input);
    EXPECT_EQ(r.domain(), v.domain);
    EXPECT_EQ(r.path(), v.path);
    EXPECT_EQ(r.tag(), v.tag);
    ASSERT_EQ(r.digest().has_value(), v.has_digest);
    if (v.has_digest) {
      EXPECT_EQ(r.digest()->str(), kDigest);
    }
    EXPECT_EQ(r.repository(), v.domain + "/" + v.path);
    EXPECT_EQ(r.str(), v.str);
    EXPECT_EQ(r.familiar(), v.familiar);
  }
}

TEST(ReferenceTest, CanonicalFormParsesToTheSameReference) {
  for (const Valid& v : valid_cases()) {
    SCOPED_TRACE(v.input);
    Reference again = Reference::parse(Reference::parse(v.input).str());
    EXPECT_EQ(again.str(), v.str);
    EXPECT_EQ(again.domain(), v.domain);
    EXPECT_EQ(again.path(), v.path);
  }
}

TEST(ReferenceTest, AcceptsNameOfExactly255Characters) {
  // "docker.io/" (10) + "x/" (2) + 243 = 255.
  std::string input = "x/" + std::string(243, 'a');
  Reference r = Reference::parse(input);
  EXPECT_EQ(r.repository().size(), 255u);
}

std::string bad_input_message(const std::string& input) {
  try {
    Reference::parse(input);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput) << input;
    return e.what();
  }
  ADD_FAILURE() << "'" << input << "' parsed but should be rejected";
  return {};
}

TEST(ReferenceTest, RejectsInvalidReferencesNamingTheInput) {
  const std::vector<std::string> invalid = {
      "Ubuntu",
      "a/B",
      "a/b/Upper",
      "a//b",
      "-a",
      "a-",
      "a.",
      "a..b",
      "a___b",
      "a._b",
      "a:",
      "a:-tag",
      "a:.tag",
      "a:t@g",
      "a:" + std::string(129, 't'),
      "a@sha256:short",
      "a@sha256:" + std::string(64, 'G'),
      "a@md5:" + std::string(32, 'a'),
      "a@",
      "@" + kDigest,
      ":tag",
      "x/" + std::string(244, 'a'),  // normalized name of 256 characters
      "host:port:x/y",
      "host:50a0/x",
      "host:/x",
      "a b",
      "a/b c",
      "a/",
      "/a",
      "a/b/",
      "-host.com/x",
      "host-.com/x",
      "ho_st.com/x",
      "host..com/x",
      "[::1/x",
      "[::1]x/y",
      "[::g]/x",
      "[::1]:/x",
      "[]/x",
      "[]:5000/x",
      "a/b:c/d",
      "a\tb",
      "ubuntu:latest\n",
  };
  for (const std::string& input : invalid) {
    SCOPED_TRACE(input);
    std::string message = bad_input_message(input);
    if (message.empty()) continue;
    // The message quotes the input (truncated only past 300 characters).
    EXPECT_NE(message.find(input.substr(0, 40)), std::string::npos) << message;
  }
}

TEST(ReferenceTest, RejectsEmptyReference) {
  std::string message = bad_input_message("");
  EXPECT_NE(message.find("empty"), std::string::npos) << message;
}

TEST(ReferenceTest, ExplainsUppercaseRepositoryNames) {
  EXPECT_NE(bad_input_message("Ubuntu").find("lowercase"), std::string::npos);
  EXPECT_NE(bad_input_message("a/B").find("lowercase"), std::string::npos);
}

TEST(ReferenceTest, ExplainsOverlongTagAndName) {
  EXPECT_NE(bad_input_message("a:" + std::string(129, 't')).find("128"), std::string::npos);
  EXPECT_NE(bad_input_message("x/" + std::string(244, 'a')).find("255"), std::string::npos);
}

TEST(ReferenceTest, ManifestRefPrefersDigestThenTagThenLatest) {
  EXPECT_EQ(Reference::parse("ubuntu").manifest_ref(), "latest");
  EXPECT_EQ(Reference::parse("ubuntu:22.04").manifest_ref(), "22.04");
  EXPECT_EQ(Reference::parse("ubuntu@" + kDigest).manifest_ref(), kDigest);
  EXPECT_EQ(Reference::parse("ubuntu:22.04@" + kDigest).manifest_ref(), kDigest);
}

TEST(ReferenceTest, WithTagReplacesTagAndKeepsTheRest) {
  Reference base = Reference::parse("localhost:5000/team/env:v1");
  Reference r = base.with_tag("v2");
  EXPECT_EQ(r.str(), "localhost:5000/team/env:v2");
  EXPECT_EQ(r.domain(), "localhost:5000");
  EXPECT_EQ(r.path(), "team/env");
  EXPECT_EQ(base.tag(), "v1");  // the original is untouched

  Reference pinned = Reference::parse("team/env@" + kDigest).with_tag("v3");
  EXPECT_EQ(pinned.str(), "docker.io/team/env:v3@" + kDigest);
  EXPECT_EQ(pinned.manifest_ref(), kDigest);
}

TEST(ReferenceTest, WithTagRejectsInvalidTagNamingIt) {
  Reference base = Reference::parse("team/env");
  for (const std::string& tag : {std::string(), std::string("-x"), std::string("a/b"),
                                 std::string(129, 'x'), std::string("sp ace")}) {
    SCOPED_TRACE(tag);
    try {
      base.with_tag(tag);
      ADD_FAILURE() << "accepted tag '" << tag << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::BadInput);
      EXPECT_NE(std::string(e.what()).find(tag.substr(0, 40)), std::string::npos) << e.what();
    }
  }
}

TEST(ReferenceTest, WithDigestPinsAndKeepsTag) {
  Digest d = Digest::parse(kDigest);
  Reference r = Reference::parse("ghcr.io/org/img:v1").with_digest(d);
  EXPECT_EQ(r.tag(), "v1");
  ASSERT_TRUE(r.digest().has_value());
  EXPECT_EQ(*r.digest(), d);
  EXPECT_EQ(r.str(), "ghcr.io/org/img:v1@" + kDigest);
  EXPECT_EQ(r.manifest_ref(), kDigest);

  Reference untagged = Reference::parse("ubuntu").with_digest(d);
  EXPECT_EQ(untagged.str(), "docker.io/library/ubuntu@" + kDigest);
  EXPECT_EQ(untagged.familiar(), "ubuntu@" + kDigest);
}

}  // namespace
