// Fetching repodata over HTTP (the static test server) and file://: the
// cache and its validators, variant choice, missing subdirs, retries and
// stale fallback, offline use, credentials that never leak, bounds.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "builder/conda/channel/repodata_cache.hpp"
#include "builder/conda/channel/repodata_fetch.hpp"
#include "builder/conda/channel/repodata_index.hpp"
#include "registry/error.hpp"
#include "registry/http_client.hpp"
#include "tests/support/conda_channel.hpp"
#include "tests/support/conda_channel_archive.hpp"
#include "tests/support/files.hpp"
#include "tests/support/static_http_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::builder::conda;
using envbuild::testing::CondaChannel;
using envbuild::testing::RepodataWriteOptions;
using envbuild::testing::StaticHttpServer;
using envbuild::testing::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json record(const std::string& name, const std::string& version) {
  return json{{"name", name},
              {"version", version},
              {"build", "0"},
              {"build_number", 0},
              {"depends", json::array()},
              {"size", 10},
              {"sha256", std::string(64, 'c')}};
}

// A channel under <tmp>/srv/chan served at <server>/chan, and a cache dir.
struct Fixture {
  TempDir tmp{"envbuild-conda-fetch"};
  fs::path root = tmp.path() / "srv";
  CondaChannel channel{root / "chan"};
  StaticHttpServer server{root};
  fs::path cache = tmp.path() / "cache";
  std::vector<std::string> log;

  Fixture() {
    channel.add_record("linux-64", "a-1-0.conda", record("a", "1"));
    channel.add_record("noarch", "n-1-0.conda", record("n", "1"));
  }
  Channel http_channel() const { return resolve_channel(server.url() + "/chan"); }
  RepodataFetchOptions options() {
    RepodataFetchOptions o;
    o.cache_dir = cache;
    o.retry_base = std::chrono::milliseconds(1);
    o.log = [this](const std::string& line) { log.push_back(line); };
    return o;
  }
  FetchedRepodata fetch(const std::string& subdir = "linux-64") {
    RepodataFetcher fetcher(options());
    return fetcher.fetch(http_channel(), subdir);
  }
  std::string plain(const std::string& subdir = "linux-64") const {
    return envbuild::testing::slurp(channel.root() / subdir / "repodata.json");
  }
  // Rewrites the repodata with a new mtime (validators change).
  void change(const RepodataWriteOptions& w) {
    channel.add_record("linux-64", "a-2-0.conda", record("a", "2"));
    channel.write_repodata(w);
    for (const char* name : {"repodata.json", "repodata.json.zst", "repodata.json.bz2"}) {
      fs::path p = channel.root() / "linux-64" / name;
      if (fs::exists(p)) fs::last_write_time(p, fs::last_write_time(p) + std::chrono::seconds(5));
    }
  }
};

const std::string kZst = "/chan/linux-64/repodata.json.zst";
const std::string kPlain = "/chan/linux-64/repodata.json";
const std::string kBz2 = "/chan/linux-64/repodata.json.bz2";

}  // namespace

TEST(CondaChannelFetch, ZstFirstThen304ReusesTheCache) {
  Fixture f;
  RepodataWriteOptions w;
  w.zst = true;
  f.channel.write_repodata(w);

  FetchedRepodata first = f.fetch();
  EXPECT_EQ(first.source, FetchSource::Downloaded);
  EXPECT_EQ(first.variant_url, f.server.url() + kZst);
  EXPECT_EQ(first.url, f.server.url() + kPlain);
  EXPECT_EQ(first.body->view(), f.plain());  // decompressed into the cache
  EXPECT_TRUE(first.body->mapped());
  EXPECT_EQ(f.server.requests(kZst, 200), 1u);
  EXPECT_EQ(f.server.requests(kPlain), 0u);

  FetchedRepodata second = f.fetch();
  EXPECT_EQ(second.source, FetchSource::NotModified);
  EXPECT_EQ(second.body->view(), f.plain());
  EXPECT_EQ(f.server.requests(kZst, 304), 1u);
  EXPECT_EQ(f.server.total_requests(), 2u);

  // A changed document is downloaded again; the old mapping stays intact.
  f.change(w);
  FetchedRepodata third = f.fetch();
  EXPECT_EQ(third.source, FetchSource::Downloaded);
  EXPECT_EQ(third.body->view(), f.plain());
  EXPECT_NE(third.body->view(), second.body->view());
  EXPECT_EQ(f.server.requests(kZst, 200), 2u);

  // The cache holds plain JSON, one entry per URL, and no temp files.
  size_t bodies = 0;
  for (const auto& e : fs::directory_iterator(f.cache)) {
    std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
    if (name.ends_with(".json") && !name.ends_with(".state.json")) ++bodies;
  }
  EXPECT_EQ(bodies, 1u);
}

TEST(CondaChannelFetch, PlainAfter404AndTheVariantIsRemembered) {
  Fixture f;
  f.channel.write_repodata();  // plain only
  FetchedRepodata first = f.fetch();
  EXPECT_EQ(first.source, FetchSource::Downloaded);
  EXPECT_EQ(first.variant_url, f.server.url() + kPlain);
  EXPECT_EQ(f.server.requests(kZst, 404), 1u);
  EXPECT_EQ(f.server.requests(kPlain, 200), 1u);
  FetchedRepodata second = f.fetch();
  EXPECT_EQ(second.source, FetchSource::NotModified);
  // No second probe for the .zst: the plain one is asked first.
  EXPECT_EQ(f.server.requests(kZst), 1u);
  EXPECT_EQ(f.server.requests(kPlain, 304), 1u);
  EXPECT_EQ(second.body->view(), f.plain());
}

TEST(CondaChannelFetch, Bz2WhenThatIsAllThereIs) {
  Fixture f;
  RepodataWriteOptions w;
  w.plain = false;
  w.bz2 = true;
  f.channel.write_repodata(w);
  // The reference: the same document, uncompressed.
  std::string expected = f.channel.repodata("linux-64", w).dump(2) + "\n";
  FetchedRepodata first = f.fetch();
  EXPECT_EQ(first.variant_url, f.server.url() + kBz2);
  EXPECT_EQ(first.body->view(), expected);
  EXPECT_EQ(f.server.requests(kZst, 404) + f.server.requests(kPlain, 404), 2u);
  EXPECT_EQ(f.fetch().source, FetchSource::NotModified);
  EXPECT_EQ(f.server.requests(kBz2, 304), 1u);
}

TEST(CondaChannelFetch, LastModifiedAlone) {
  Fixture f;
  f.channel.write_repodata();
  f.server.set_validators(false, true);
  f.fetch();
  EXPECT_EQ(f.fetch().source, FetchSource::NotModified);
  EXPECT_EQ(f.server.requests(kPlain, 304), 1u);
  // Without any validator every fetch is a download.
  f.server.set_validators(false, false);
  fs::remove_all(f.cache);
  f.fetch();
  EXPECT_EQ(f.fetch().source, FetchSource::Downloaded);
}

TEST(CondaChannelFetch, MissingSubdirs) {
  Fixture f;
  RepodataWriteOptions w;
  w.omit = {"linux-64"};
  f.channel.write_repodata(w);
  FetchedRepodata missing = f.fetch();
  EXPECT_TRUE(missing.missing);
  EXPECT_EQ(missing.body, nullptr);
  EXPECT_EQ(
      f.server.requests(kZst, 404) + f.server.requests(kPlain, 404) + f.server.requests(kBz2, 404),
      3u);
  // The index takes the noarch packages and nothing else.
  RepodataIndexOptions o;
  o.subdir = "linux-64";
  o.fetch = f.options();
  RepodataIndex index({f.http_channel()}, o);
  EXPECT_EQ(index.candidates("n").size(), 1u);
  EXPECT_TRUE(index.candidates("a").empty());

  // Offline afterwards, the missing subdir is known to be missing.
  o.fetch.offline = true;
  size_t before = f.server.total_requests();
  RepodataIndex offline({f.http_channel()}, o);
  EXPECT_EQ(offline.candidates("n").size(), 1u);
  EXPECT_EQ(f.server.total_requests(), before);

  // No subdir at all: an error naming the channel.
  Channel nowhere = resolve_channel(f.server.url() + "/nothing-here");
  o.fetch.offline = false;
  try {
    RepodataIndex none({nowhere}, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_NE(std::string(e.what()).find(f.server.url() + "/nothing-here"), std::string::npos)
        << e.what();
  }
}

TEST(CondaChannelFetch, RetriesTransientFailures) {
  Fixture f;
  RepodataWriteOptions w;
  w.zst = true;
  f.channel.write_repodata(w);
  f.server.fail_path(kZst, 503, 2);
  FetchedRepodata r = f.fetch();
  EXPECT_EQ(r.source, FetchSource::Downloaded);
  EXPECT_EQ(f.server.requests(kZst, 503), 2u);
  EXPECT_EQ(f.server.requests(kZst, 200), 1u);
  // A body cut off midway is a transport failure: tried again.
  f.change(w);
  f.server.truncate_path(kZst, 20, 1);
  r = f.fetch();
  EXPECT_EQ(r.source, FetchSource::Downloaded);
  EXPECT_EQ(r.body->view(), f.plain());
  EXPECT_EQ(f.server.requests(kZst, 200), 3u);
}

TEST(CondaChannelFetch, StaleCacheWhenTheServerIsDown) {
  Fixture f;
  f.channel.write_repodata();
  f.fetch();
  f.server.fail_path(kPlain, 500);
  FetchedRepodata r = f.fetch();
  EXPECT_EQ(r.source, FetchSource::Stale);
  EXPECT_EQ(r.body->view(), f.plain());
  EXPECT_NE(r.warning.find("HTTP 500"), std::string::npos) << r.warning;

  RepodataFetchOptions o = f.options();
  o.stale_on_failure = false;
  o.max_attempts = 2;
  RepodataFetcher strict(o);
  try {
    strict.fetch(f.http_channel(), "linux-64");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Registry);
    EXPECT_NE(std::string(e.what()).find(f.server.url() + kPlain), std::string::npos);
  }
  // Unreachable host and nothing cached: a Registry error.
  o.cache_dir = f.tmp.path() / "empty-cache";
  o.http.connect_timeout = std::chrono::milliseconds(500);
  RepodataFetcher nobody(o);
  EXPECT_THROW(nobody.fetch(resolve_channel("http://127.0.0.1:1/chan"), "noarch"), Error);
}

TEST(CondaChannelFetch, OfflineAndMaxAge) {
  Fixture f;
  f.channel.write_repodata();
  RepodataFetchOptions o = f.options();
  o.offline = true;
  try {
    RepodataFetcher(o).fetch(f.http_channel(), "linux-64");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  }
  EXPECT_EQ(f.server.total_requests(), 0u);
  f.fetch();
  size_t before = f.server.total_requests();
  FetchedRepodata offline = RepodataFetcher(o).fetch(f.http_channel(), "linux-64");
  EXPECT_EQ(offline.source, FetchSource::Offline);
  EXPECT_EQ(offline.body->view(), f.plain());
  EXPECT_EQ(f.server.total_requests(), before);

  o.offline = false;
  o.max_age = std::chrono::seconds(3600);
  FetchedRepodata fresh = RepodataFetcher(o).fetch(f.http_channel(), "linux-64");
  EXPECT_EQ(fresh.source, FetchSource::Fresh);
  EXPECT_EQ(f.server.total_requests(), before);
}

TEST(CondaChannelFetch, FileChannelsAreReadInPlace) {
  Fixture f;
  RepodataWriteOptions w;
  w.zst = true;
  f.channel.write_repodata(w);
  RepodataFetcher fetcher(f.options());
  FetchedRepodata r = fetcher.fetch(resolve_channel(f.channel.url()), "linux-64");
  EXPECT_EQ(r.source, FetchSource::Local);
  EXPECT_EQ(r.variant_url, f.channel.url() + "/linux-64/repodata.json");  // plain first locally
  EXPECT_FALSE(r.body->mapped());
  EXPECT_EQ(r.body->view(), f.plain());
  EXPECT_FALSE(fs::exists(f.cache));  // no cache copy
  EXPECT_TRUE(fetcher.fetch(resolve_channel(f.channel.url()), "osx-arm64").missing);
  EXPECT_THROW(fetcher.fetch(resolve_channel(f.channel.url()), "Linux_64"), Error);
}

TEST(CondaChannelFetch, Bounds) {
  Fixture f;
  RepodataWriteOptions w;
  w.zst = true;
  f.channel.write_repodata(w);
  RepodataFetchOptions o = f.options();
  o.max_json_bytes = 100;
  try {
    RepodataFetcher(o).fetch(f.http_channel(), "linux-64");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    EXPECT_NE(std::string(e.what()).find(kZst), std::string::npos) << e.what();
  }
  o.max_json_bytes = kMaxRepodataJson;
  o.max_transfer_bytes = 10;
  EXPECT_THROW(RepodataFetcher(o).fetch(f.http_channel(), "linux-64"), Error);
  // Nothing half-written was left behind.
  for (const auto& e : fs::directory_iterator(f.cache)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos);
  }
}

TEST(CondaChannelFetch, MalformedJsonIsAnErrorAndDropsTheCacheEntry) {
  Fixture f;
  f.channel.write_repodata();
  envbuild::testing::write_file(f.channel.root() / "linux-64" / "repodata.json",
                                "{\"packages\": {\"a-1-0.tar.bz2\": {\"name\": ");
  RepodataIndexOptions o;
  o.subdir = "linux-64";
  o.fetch = f.options();
  try {
    RepodataIndex index({f.http_channel()}, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    EXPECT_NE(std::string(e.what()).find(f.server.url() + kPlain), std::string::npos) << e.what();
  }
  // The next run downloads again instead of trusting a 304.
  EXPECT_THROW(RepodataIndex({f.http_channel()}, o), Error);
  EXPECT_EQ(f.server.requests(kPlain, 200), 2u);
  EXPECT_EQ(f.server.requests(kPlain, 304), 0u);
}

TEST(CondaChannelFetch, CredentialsNeverLeak) {
  const std::string secret = "tok-S3CRET-42";
  Fixture f;
  f.channel.write_repodata();
  f.server.require_token(secret);
  Channel ch = resolve_channel(f.server.url() + "/t/" + secret + "/chan");
  EXPECT_EQ(ch.base_url, f.server.url() + "/chan");
  RepodataIndexOptions o;
  o.subdir = "linux-64";
  o.fetch = f.options();
  RepodataIndex index({ch}, o);
  ASSERT_EQ(index.candidates("a").size(), 1u);
  const PackageRecord& a = index.candidates("a")[0];
  EXPECT_EQ(a.url, f.server.url() + "/chan/linux-64/a-1-0.conda");
  EXPECT_EQ(a.channel, f.server.url() + "/chan");
  EXPECT_EQ(ch.request_url(a.url), f.server.url() + "/t/" + secret + "/chan/linux-64/a-1-0.conda");
  for (const std::string& line : f.log) EXPECT_EQ(line.find(secret), std::string::npos) << line;
  EXPECT_FALSE(f.log.empty());
  for (const auto& e : fs::directory_iterator(f.cache)) {
    if (e.is_regular_file()) {
      EXPECT_EQ(envbuild::testing::slurp(e.path()).find(secret), std::string::npos) << e.path();
    }
    EXPECT_EQ(e.path().string().find(secret), std::string::npos);
  }
  // Refused and failing requests do not quote it either.
  Channel wrong = resolve_channel(f.server.url() + "/t/wrong-" + secret + "/chan");
  try {
    RepodataFetcher(f.options()).fetch(wrong, "noarch");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Auth);
    EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos) << e.what();
  }
  Channel dead = resolve_channel("http://u:" + secret + "@127.0.0.1:1/t/" + secret + "/c");
  RepodataFetchOptions quick = f.options();
  quick.max_attempts = 1;
  try {
    RepodataFetcher(quick).fetch(dead, "noarch");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos) << e.what();
  }
  for (const std::string& line : f.log) EXPECT_EQ(line.find(secret), std::string::npos) << line;

  // Basic credentials in the URL.
  Fixture g;
  g.channel.write_repodata();
  g.server.require_basic_auth("user", secret);
  Channel basic = resolve_channel("http://user:" + secret +
                                  "@127.0.0.1:" + std::to_string(g.server.port()) + "/chan");
  RepodataFetcher fetcher(g.options());
  EXPECT_FALSE(fetcher.fetch(basic, "noarch").missing);
  Channel anonymous = resolve_channel(g.server.url() + "/chan");
  EXPECT_THROW(fetcher.fetch(anonymous, "noarch"), Error);
  for (const std::string& line : g.log) EXPECT_EQ(line.find(secret), std::string::npos) << line;
}

TEST(CondaChannelFetch, RealPackagesOverHttp) {
  TempDir tmp;
  CondaChannel channel(tmp.path() / "chan");
  envbuild::testing::PackageSpec spec;
  spec.name = "tool";
  spec.subdir = "linux-64";
  spec.files = {envbuild::testing::PackageFile::text("bin/tool", "#!/bin/sh\n", 0755)};
  spec.formats = envbuild::testing::kBothFormats;
  channel.add(spec);
  RepodataWriteOptions w;
  w.zst = true;
  channel.write_repodata(w);
  StaticHttpServer server(tmp.path());
  RepodataIndexOptions o;
  o.subdir = "linux-64";
  o.fetch.cache_dir = tmp.path() / "cache";
  RepodataIndex index({resolve_channel(server.url() + "/chan")}, o);
  ASSERT_EQ(index.candidates("tool").size(), 1u);
  const PackageRecord& r = index.candidates("tool")[0];
  EXPECT_TRUE(r.filename.ends_with(".conda"));
  // The record's URL serves exactly the bytes it describes.
  registry::HttpClient client;
  registry::HttpRequest request;
  request.url = r.url;
  request.max_body = 1 << 20;
  registry::HttpResponse response = client.perform(request);
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.body.size(), r.size);
  EXPECT_EQ(envbuild::testing::sha256_hex(response.body), r.sha256);
  EXPECT_EQ(envbuild::testing::md5_hex(response.body), r.md5);
  // HEAD, keep-alive, 404 and path escapes on the server itself.
  request.method = "HEAD";
  response = client.perform(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("content-length"), std::to_string(r.size));
  request.method = "GET";
  request.url = server.url() + "/chan/linux-64/none.conda";
  EXPECT_EQ(client.perform(request).status, 404);
  request.url = server.url() + "/chan/%2e%2e/%2e%2e/etc/passwd";
  EXPECT_EQ(client.perform(request).status, 400);
}
