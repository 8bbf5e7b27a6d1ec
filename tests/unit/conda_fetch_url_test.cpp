// Pure URL handling of the package fetcher: what may be printed, and which
// URLs may be fetched.
#include <gtest/gtest.h>

#include "builder/conda/fetch/display_url.hpp"
#include "builder/conda/fetch/url_policy.hpp"
#include "registry/error.hpp"
#include "tests/support/error_kind.hpp"

using namespace envbuild;
using namespace envbuild::builder::conda;
using envbuild::testing::kind_of;

TEST(CondaFetchDisplayUrl, StripsUserinfoTokensAndQueries) {
  EXPECT_EQ(display_url("https://conda.anaconda.org/conda-forge/noarch/a-1-0.conda"),
            "https://conda.anaconda.org/conda-forge/noarch/a-1-0.conda");
  EXPECT_EQ(display_url("https://user:pa55@host.example/chan/linux-64/a-1-0.conda"),
            "https://host.example/chan/linux-64/a-1-0.conda");
  EXPECT_EQ(display_url("https://conda.anaconda.org/t/ab-12345/private/noarch/a-1-0.conda"),
            "https://conda.anaconda.org/t/<TOKEN>/private/noarch/a-1-0.conda");
  EXPECT_EQ(display_url("https://u:p@h/t/tok/c/noarch/a.conda?sig=secret&se=1#frag"),
            "https://h/t/<TOKEN>/c/noarch/a.conda?<redacted>");
  EXPECT_EQ(display_url("https://h/c/a.conda#frag-secret"), "https://h/c/a.conda");
  // A token as the last segment, and two of them.
  EXPECT_EQ(display_url("https://h/t/tok"), "https://h/t/<TOKEN>");
  EXPECT_EQ(display_url("https://h/t/one/x/t/two/a.conda"),
            "https://h/t/<TOKEN>/x/t/<TOKEN>/a.conda");
  // '@' in the path is not userinfo.
  EXPECT_EQ(display_url("https://h/c/a@b.conda"), "https://h/c/a@b.conda");
  EXPECT_EQ(display_url("file:///srv/chan/noarch/a-1-0.conda"),
            "file:///srv/chan/noarch/a-1-0.conda");
}

TEST(CondaFetchUrlPolicy, ParsesSchemeHostAndPort) {
  UrlParts p = parse_package_url("https://User:pw@Conda.Example.ORG:8443/c/a.conda");
  EXPECT_EQ(p.kind, UrlKind::Https);
  EXPECT_EQ(p.host, "conda.example.org");
  EXPECT_EQ(p.port, "8443");
  p = parse_package_url("HTTP://[::1]:9000/a.conda");
  EXPECT_EQ(p.kind, UrlKind::Http);
  EXPECT_EQ(p.host, "::1");
  EXPECT_EQ(p.port, "9000");
  p = parse_package_url("http://127.0.0.1/a.conda");
  EXPECT_EQ(p.host, "127.0.0.1");
  EXPECT_EQ(p.port, "");
  EXPECT_EQ(parse_package_url("file:///x/a.conda").kind, UrlKind::File);

  std::string message;
  EXPECT_EQ(kind_of([] { parse_package_url("ftp://u:secret@h/a.conda"); }, &message),
            ErrorKind::BadInput);
  EXPECT_EQ(message.find("secret"), std::string::npos) << message;
  EXPECT_EQ(kind_of([] { parse_package_url("https:///a.conda"); }), ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { parse_package_url("a.conda"); }), ErrorKind::BadInput);
}

TEST(CondaFetchUrlPolicy, LoopbackHosts) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("LOCALHOST"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("127.example.com"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("localhost.example.com"));
}

TEST(CondaFetchUrlPolicy, PlainHttpOnlyToLoopbackOrListedHosts) {
  EXPECT_NO_THROW(check_url_allowed("https://conda.anaconda.org/c/a.conda", {}, "package a"));
  EXPECT_NO_THROW(check_url_allowed("http://127.0.0.1:8080/c/a.conda", {}, "package a"));
  EXPECT_NO_THROW(check_url_allowed("http://localhost/c/a.conda", {}, "package a"));
  EXPECT_NO_THROW(check_url_allowed("file:///c/a.conda", {}, "package a"));
  std::string message;
  EXPECT_EQ(
      kind_of([] { check_url_allowed("http://u:pw-secret@mirror.lan/c/a.conda", {}, "package a"); },
              &message),
      ErrorKind::BadInput);
  EXPECT_NE(message.find("package a"), std::string::npos) << message;
  EXPECT_NE(message.find("mirror.lan"), std::string::npos) << message;
  EXPECT_EQ(message.find("pw-secret"), std::string::npos) << message;
  EXPECT_NO_THROW(check_url_allowed("http://Mirror.LAN/c/a.conda", {"mirror.lan"}, "package a"));
  EXPECT_NO_THROW(check_url_allowed("http://mirror.lan:81/c/a.conda", {"mirror.lan:81"}, "p"));
  EXPECT_EQ(
      kind_of([] { check_url_allowed("http://mirror.lan:82/c/a.conda", {"mirror.lan:81"}, "p"); }),
      ErrorKind::BadInput);
}

TEST(CondaFetchUrlPolicy, FileUrlPaths) {
  EXPECT_EQ(file_url_path("file:///srv/chan/a.conda"), std::filesystem::path("/srv/chan/a.conda"));
  EXPECT_EQ(file_url_path("file://localhost/srv/chan/a.conda"),
            std::filesystem::path("/srv/chan/a.conda"));
  EXPECT_EQ(file_url_path("file:///srv/my%20chan/a%2B1.conda"),
            std::filesystem::path("/srv/my chan/a+1.conda"));
  EXPECT_EQ(file_url_path("FILE:///x/a.conda"), std::filesystem::path("/x/a.conda"));
  EXPECT_FALSE(file_url_path("https://h/a.conda").has_value());
  EXPECT_EQ(kind_of([] { file_url_path("file://server/share/a.conda"); }), ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { file_url_path("file:///x/a%00.conda"); }), ErrorKind::BadInput);
}
