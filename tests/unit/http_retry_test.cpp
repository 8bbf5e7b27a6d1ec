// Pure pieces of the HTTP layer: retry policy, Retry-After, Link and
// Location handling, error bodies, token responses, the token cache.
#include "registry/http_retry.hpp"

#include <gtest/gtest.h>

#include <set>

#include "registry/error.hpp"
#include "registry/http_url.hpp"
#include "registry/registry_auth.hpp"
#include "registry/registry_error_body.hpp"
#include "registry/registry_store.hpp"
#include "registry/token_cache.hpp"

using namespace envbuild;
using namespace envbuild::registry;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

TEST(HttpRetry, RetryableStatuses) {
  for (long s : {408L, 429L, 500L, 502L, 503L, 504L}) EXPECT_TRUE(is_retryable_status(s)) << s;
  for (long s : {200L, 201L, 400L, 401L, 403L, 404L, 405L, 416L})
    EXPECT_FALSE(is_retryable_status(s)) << s;
}

TEST(HttpRetry, RetryAfterSeconds) {
  auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after("3", now), milliseconds(3000));
  EXPECT_EQ(parse_retry_after(" 0 ", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("3600", now), kMaxRetryAfter);
  EXPECT_EQ(parse_retry_after("99999999999999999999", now), kMaxRetryAfter);
}

TEST(HttpRetry, RetryAfterHttpDate) {
  auto base = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:42 GMT", base), milliseconds(5000));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:47 GMT", base), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:39 1994", base), milliseconds(2000));
  EXPECT_EQ(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", base), milliseconds(0));
  EXPECT_EQ(parse_retry_after("Mon, 07 Nov 1994 08:49:37 GMT", base), kMaxRetryAfter);
}

TEST(HttpRetry, RetryAfterMalformed) {
  auto now = std::chrono::system_clock::now();
  for (const char* bad : {"", "  ", "-1", "1.5", "soon", "12abc", "+5", "Sun, 99 Foo 1994"}) {
    EXPECT_EQ(parse_retry_after(bad, now), std::nullopt) << bad;
  }
}

TEST(HttpRetry, BackoffGrowsWithJitterAndCap) {
  std::mt19937_64 random(7);
  for (int attempt = 1; attempt <= 20; ++attempt) {
    int64_t full = std::min<int64_t>(200LL << std::min(attempt - 1, 20), kMaxBackoff.count());
    for (int i = 0; i < 20; ++i) {
      milliseconds d = backoff_delay(attempt, milliseconds(200), random);
      EXPECT_GE(d.count(), full / 2) << attempt;
      EXPECT_LE(d.count(), full) << attempt;
    }
  }
  // Jitter: not every draw is the same.
  std::set<int64_t> seen;
  for (int i = 0; i < 50; ++i) seen.insert(backoff_delay(3, milliseconds(200), random).count());
  EXPECT_GT(seen.size(), 5u);
}

TEST(HttpUrl, ResolveLocation) {
  const std::string base = "http://127.0.0.1:5000/v2/team/env/blobs/uploads/";
  EXPECT_EQ(resolve_url(base, "/v2/team/env/blobs/uploads/abc?_state=x%3D"),
            "http://127.0.0.1:5000/v2/team/env/blobs/uploads/abc?_state=x%3D");
  EXPECT_EQ(resolve_url(base, "abc?_state=y"),
            "http://127.0.0.1:5000/v2/team/env/blobs/uploads/abc?_state=y");
  EXPECT_EQ(resolve_url(base, "https://other.example/upload/1?sig=z"),
            "https://other.example/upload/1?sig=z");
  EXPECT_EQ(resolve_url("http://h/v2/r/tags/list?n=2", "/v2/r/tags/list?n=2&last=b"),
            "http://h/v2/r/tags/list?n=2&last=b");
  EXPECT_THROW(resolve_url(base, ""), Error);
  EXPECT_THROW(resolve_url("not a url", "/x"), Error);
}

TEST(HttpUrl, AppendQuery) {
  EXPECT_EQ(append_query("http://h/u", "digest", "sha256:ab"), "http://h/u?digest=sha256%3Aab");
  EXPECT_EQ(append_query("http://h/u?_state=q", "digest", "sha256:ab"),
            "http://h/u?_state=q&digest=sha256%3Aab");
  EXPECT_EQ(append_query("http://h/u?", "a", "b c"), "http://h/u?a=b%20c");
  EXPECT_EQ(append_query("http://h/u?x=1&", "from", "team/env"), "http://h/u?x=1&from=team%2Fenv");
}

TEST(HttpUrl, StripUserinfo) {
  EXPECT_EQ(strip_userinfo("https://user:pass@host/x?y=1"), "https://host/x?y=1");
  EXPECT_EQ(strip_userinfo("https://host/path@at"), "https://host/path@at");
  EXPECT_EQ(strip_userinfo("http://a@b@host:1/"), "http://host:1/");
  EXPECT_EQ(strip_userinfo("no-scheme"), "no-scheme");
  EXPECT_EQ(url_host("HTTP://User:P@Example.COM:8080/x"), "example.com:8080");
  EXPECT_EQ(url_host("garbage"), "");
}

TEST(HttpUrl, NextLink) {
  EXPECT_EQ(next_link(R"(</v2/r/tags/list?last=b&n=2>; rel="next")"), "/v2/r/tags/list?last=b&n=2");
  EXPECT_EQ(next_link(R"(<https://h/prev>; rel="prev", <https://h/next?a=1,2>; rel="next")"),
            "https://h/next?a=1,2");
  EXPECT_EQ(next_link(R"(<x>; title="a, b; rel=next"; rel="next")"), "x");
  EXPECT_EQ(next_link(R"(<x>;REL=next)"), "x");
  EXPECT_EQ(next_link(R"(<x>; rel="first next")"), "x");
  EXPECT_EQ(next_link(R"(<x>; rel="prev")"), std::nullopt);
  EXPECT_EQ(next_link(R"(<x; rel="next")"), std::nullopt);
  EXPECT_EQ(next_link(R"(x; rel="next")"), std::nullopt);
  EXPECT_EQ(next_link(R"(<>; rel="next")"), std::nullopt);
  EXPECT_EQ(next_link(""), std::nullopt);
}

TEST(RegistryErrorBody, DescribeAndKind) {
  std::string body =
      R"({"errors":[{"code":"DENIED","message":"requested access to the resource is denied","detail":null}]})";
  EXPECT_EQ(describe_registry_error(403, body),
            "DENIED: requested access to the resource is denied");
  EXPECT_EQ(registry_error_kind(403, registry_error_codes(body)), ErrorKind::Auth);
  std::string two =
      R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":"v1"},{"code":"X"}]})";
  EXPECT_EQ(describe_registry_error(404, two), "MANIFEST_UNKNOWN: manifest unknown (v1); X");
  EXPECT_EQ(registry_error_kind(400, {"BLOB_UNKNOWN"}), ErrorKind::NotFound);
  EXPECT_EQ(registry_error_kind(400, {"DIGEST_INVALID"}), ErrorKind::BadInput);
  EXPECT_EQ(registry_error_kind(400, {"MANIFEST_BLOB_UNKNOWN"}), ErrorKind::Registry);
  EXPECT_EQ(registry_error_kind(503, {}), ErrorKind::Registry);
  EXPECT_EQ(registry_error_kind(401, {}), ErrorKind::Auth);
  EXPECT_EQ(describe_registry_error(502, "Bad Gateway\r\n"), "HTTP 502: Bad Gateway");
  EXPECT_EQ(describe_registry_error(500, "<html>...</html>"), "HTTP 500");
  EXPECT_EQ(describe_registry_error(500, R"({"errors":"nope"})"), "HTTP 500");
  EXPECT_EQ(describe_registry_error(500, "{not json"), "HTTP 500");
  std::string control = R"({"errors":[{"code":"A\u001b[31m","message":"m"}]})";
  EXPECT_EQ(describe_registry_error(500, control), "A [31m: m");
}

TEST(TokenResponse, Parse) {
  auto t = parse_token_response(R"({"token":"abc.def-ghi","expires_in":300})", "https://a/t");
  EXPECT_EQ(t.token, "abc.def-ghi");
  EXPECT_EQ(t.expires_in, seconds(300));
  t = parse_token_response(R"({"access_token":"xyz"})", "https://a/t");
  EXPECT_EQ(t.token, "xyz");
  EXPECT_EQ(t.expires_in, seconds(60));
  t = parse_token_response(R"({"token":"","access_token":"q","expires_in":5})", "https://a/t");
  EXPECT_EQ(t.token, "q");
  EXPECT_EQ(t.expires_in, seconds(60));
  for (const char* bad : {"", "[]", "{}", R"({"token":5})", R"({"token":"a\r\nX-Evil: 1"})"}) {
    EXPECT_THROW(parse_token_response(bad, "https://a/t"), Error) << bad;
  }
  try {
    parse_token_response(R"({"token":"secret token"})", "https://u:p@a/t");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Auth);
    std::string m = e.what();
    EXPECT_EQ(m.find("secret"), std::string::npos);
    EXPECT_EQ(m.find("u:p"), std::string::npos);
  }
}

TEST(TokenCache, ExpiresBeforeStatedLifetime) {
  TokenCache cache;
  auto t0 = TokenCache::Clock::now();
  cache.put("repository:a:pull", "tok", seconds(60), t0);
  EXPECT_EQ(cache.get("repository:a:pull", t0 + seconds(49)), "tok");
  EXPECT_EQ(cache.get("repository:a:pull", t0 + seconds(50)), std::nullopt);
  EXPECT_EQ(cache.get("repository:b:pull", t0), std::nullopt);
  cache.put("short", "s", seconds(4), t0);
  EXPECT_EQ(cache.get("short", t0 + seconds(1)), "s");
  EXPECT_EQ(cache.get("short", t0 + seconds(2)), std::nullopt);
  cache.erase("repository:a:pull");
  EXPECT_EQ(cache.get("repository:a:pull", t0), std::nullopt);
}

TEST(RegistryNames, SchemeTagsAndRepositories) {
  EXPECT_TRUE(plain_http_allowed("localhost:5000", {}));
  EXPECT_TRUE(plain_http_allowed("127.0.0.1:5000", {}));
  EXPECT_TRUE(plain_http_allowed("127.1.2.3", {}));
  EXPECT_TRUE(plain_http_allowed("[::1]:5000", {}));
  EXPECT_FALSE(plain_http_allowed("127.0.0.1.evil.com", {}));
  EXPECT_FALSE(plain_http_allowed("ghcr.io", {}));
  EXPECT_TRUE(plain_http_allowed("reg.lan:5000", {"reg.lan"}));
  EXPECT_TRUE(plain_http_allowed("reg.lan:5000", {"REG.lan:5000"}));
  EXPECT_FALSE(plain_http_allowed("reg.lan:5001", {"reg.lan:5000"}));
  EXPECT_TRUE(is_valid_tag("v1.0_rc-2"));
  EXPECT_FALSE(is_valid_tag(".hidden"));
  EXPECT_FALSE(is_valid_tag("a/b"));
  EXPECT_FALSE(is_valid_tag(std::string(129, 'a')));
  EXPECT_TRUE(is_valid_repository("library/ubuntu"));
  EXPECT_TRUE(is_valid_repository("a__b/c--d.e"));
  EXPECT_FALSE(is_valid_repository("Upper/case"));
  EXPECT_FALSE(is_valid_repository("a//b"));
  EXPECT_FALSE(is_valid_repository("../x"));
  RegistryOptions small;
  small.chunk_size = 1024;
  EXPECT_THROW(RegistryStore({"127.0.0.1:1", "a/b"}, small), Error);
  EXPECT_EQ(RegistryStore({"docker.io", "library/ubuntu"}).base_url(),
            "https://registry-1.docker.io");
  EXPECT_EQ(RegistryStore({"localhost:9", "a"}).base_url(), "http://localhost:9");
  EXPECT_EQ(RegistryStore({"ghcr.io", "a/b"}).registry_repository(), "ghcr.io/a/b");
}

}  // namespace
