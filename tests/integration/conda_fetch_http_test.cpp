// The conda package cache against real loopback HTTP servers: busybox
// httpd serving a channel directory (its -vv log has one "url:" line per
// request, which is how requests are counted), the fault proxy for cut
// transfers and 5xx answers, and a tiny redirecting server. Two separate
// processes (this binary, re-executed) fetch one set into one cache at once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "builder/conda/fetch/package_cache.hpp"
#include "registry/digest.hpp"
#include "registry/error.hpp"
#include "tests/support/error_kind.hpp"
#include "tests/support/fault_proxy.hpp"
#include "tests/support/files.hpp"
#include "tests/support/free_port.hpp"
#include "tests/support/http_head.hpp"
#include "tests/support/http_probe.hpp"
#include "tests/support/loopback_server.hpp"
#include "tests/support/loopback_socket.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::builder::conda;
using envbuild::testing::kind_of;
using envbuild::testing::slurp;
using envbuild::testing::TempDir;
using envbuild::testing::write_file;
namespace fs = std::filesystem;

namespace {

// busybox httpd serving `root` on a free loopback port.
class BusyboxServer {
 public:
  BusyboxServer(const fs::path& root, const fs::path& log) : log_(log) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      int port = envbuild::testing::pick_free_port();
      host_ = "127.0.0.1:" + std::to_string(port);
      child_ = envbuild::testing::spawn_process(
          {"busybox", "httpd", "-f", "-vv", "-p", host_, "-h", root.string()}, {}, log_);
      // Ready when it answers anything; gone when the port was taken meanwhile.
      while (child_.running()) {
        if (envbuild::testing::http_get_status(host_, "/", std::chrono::milliseconds(200)) != 0) {
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    throw std::runtime_error("busybox httpd did not start; see " + log_.string());
  }

  const std::string& host() const { return host_; }
  std::string url(const std::string& path) const { return "http://" + host_ + path; }
  // Requests for package archives so far.
  int archive_requests() const {
    std::istringstream in(slurp(log_));
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.find("url:") == std::string::npos) continue;
      if (line.ends_with(".conda") || line.ends_with(".tar.bz2")) ++n;
    }
    return n;
  }
  void stop() { child_.terminate(); }

 private:
  fs::path log_;
  std::string host_;
  envbuild::testing::ChildProcess child_;
};

std::string random_bytes(size_t size, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string out(size, '\0');
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t v = random();
    std::memcpy(out.data() + i, &v, 8);
  }
  for (; i < size; ++i) out[i] = static_cast<char>(random());
  return out;
}

struct Package {
  PackageRecord record;
  std::string content;
};

// Writes `content` to root/`path` and describes it as a record served at `base`.
Package publish(const fs::path& root, const std::string& base, const std::string& path,
                std::string content) {
  write_file(root / path.substr(1), content);
  Package p;
  p.content = std::move(content);
  std::string filename = path.substr(path.rfind('/') + 1);
  p.record.name = filename.substr(0, filename.find('-'));
  p.record.version = "1.0";
  p.record.build = "0";
  p.record.filename = filename;
  p.record.url = base + path;
  p.record.sha256 = registry::Digest::sha256_of(p.content).hex();
  p.record.size = p.content.size();
  return p;
}

std::vector<PackageRecord> records_of(const std::vector<Package>& packages) {
  std::vector<PackageRecord> out;
  for (const auto& p : packages) out.push_back(p.record);
  return out;
}

// Names in the cache directory that are archives, markers or temps (lock
// files are the protocol's and stay).
std::vector<std::string> cached_names(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (!name.ends_with(".lock")) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

FetchOptions quick_retries() {
  FetchOptions o;
  o.download.retry_base = std::chrono::milliseconds(10);
  return o;
}

class CondaFetchHttp : public ::testing::Test {
 protected:
  TempDir tmp_{"conda-fetch"};
  fs::path root_ = tmp_.path() / "www";
  fs::path cache_dir_ = tmp_.path() / "cache";
  std::unique_ptr<BusyboxServer> server_;

  void SetUp() override {
    fs::create_directories(root_);
    server_ = std::make_unique<BusyboxServer>(root_, tmp_.path() / "httpd.log");
  }
  std::string base() const { return "http://" + server_->host(); }
  Package add(const std::string& path, std::string content) {
    return publish(root_, base(), path, std::move(content));
  }
};

}  // namespace

TEST_F(CondaFetchHttp, ParallelDownloadOfManySmallAndSomeLargePackages) {
  std::vector<Package> packages;
  for (int i = 0; i < 50; ++i) {
    size_t size = 1 + static_cast<size_t>(i) * 4099;  // 1 byte to 200 KB
    packages.push_back(add("/chan/noarch/small" + std::to_string(i) + "-1.0-0.conda",
                           random_bytes(size, static_cast<uint64_t>(i))));
  }
  for (int i = 0; i < 3; ++i) {
    packages.push_back(add("/chan/linux-64/large" + std::to_string(i) + "-1.0-0.tar.bz2",
                           random_bytes((20u << 20) + static_cast<size_t>(i), 1000u + i)));
  }
  uint64_t expected_total = 0;
  for (const auto& p : packages) expected_total += p.content.size();

  std::vector<std::pair<uint64_t, uint64_t>> calls;
  FetchOptions options;
  options.download.parallel = 8;
  options.progress = [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
  PackageCache cache(cache_dir_);
  std::vector<FetchResult> results = cache.fetch(records_of(packages), options);

  ASSERT_EQ(results.size(), packages.size());
  for (size_t i = 0; i < packages.size(); ++i) {
    EXPECT_TRUE(results[i].downloaded) << i;
    EXPECT_EQ(results[i].file, cache.archive_path(packages[i].record));
    EXPECT_TRUE(slurp(results[i].file) == packages[i].content) << packages[i].record.filename;
  }
  EXPECT_EQ(server_->archive_requests(), static_cast<int>(packages.size()));
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls.front(), std::make_pair(uint64_t{0}, expected_total));
  EXPECT_EQ(calls.back(), std::make_pair(expected_total, expected_total));
  for (size_t i = 1; i < calls.size(); ++i) {
    EXPECT_LE(calls[i - 1].first, calls[i].first);
    EXPECT_EQ(calls[i].second, expected_total);
  }
  // Nothing but archives, markers and locks.
  for (const std::string& name : cached_names(cache_dir_)) {
    EXPECT_TRUE(name.ends_with(".conda") || name.ends_with(".tar.bz2") ||
                name.ends_with(".verified"))
        << name;
  }

  // The second fetch is a cache hit: no request, no progress to report.
  calls.clear();
  std::vector<FetchResult> again = cache.fetch(records_of(packages), options);
  for (size_t i = 0; i < packages.size(); ++i) {
    EXPECT_FALSE(again[i].downloaded) << i;
    EXPECT_EQ(again[i].file, results[i].file);
  }
  EXPECT_EQ(server_->archive_requests(), static_cast<int>(packages.size()));
  EXPECT_TRUE(calls.empty());
}

TEST_F(CondaFetchHttp, WrongSha256IsBadInputAndCachesNothing) {
  Package p = add("/chan/noarch/pkg-1.0-0.conda", random_bytes(70'000, 7));
  p.record.sha256[10] = p.record.sha256[10] == '0' ? '1' : '0';
  PackageCache cache(cache_dir_);
  std::string message;
  EXPECT_EQ(kind_of([&] { cache.fetch({p.record}, {}); }, &message), ErrorKind::BadInput);
  EXPECT_NE(message.find("pkg-1.0-0.conda"), std::string::npos) << message;
  EXPECT_NE(message.find(p.record.url), std::string::npos) << message;
  EXPECT_NE(message.find("sha256"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_TRUE(cached_names(cache_dir_).empty());
}

TEST_F(CondaFetchHttp, ShortOrLongFilesAreBadInputAndCacheNothing) {
  PackageCache cache(cache_dir_);
  // The server's file is shorter than the record says (Content-Length tells).
  Package shorter = add("/chan/noarch/short-1.0-0.conda", random_bytes(50'000, 8));
  shorter.record.size += 10;
  std::string message;
  EXPECT_EQ(kind_of([&] { cache.fetch({shorter.record}, {}); }, &message), ErrorKind::BadInput);
  EXPECT_NE(message.find("short-1.0-0.conda"), std::string::npos) << message;
  // A truncated file for a record without size: the digest tells.
  std::string full = random_bytes(80'000, 9);
  Package truncated = add("/chan/noarch/trunc-1.0-0.conda", full.substr(0, 40'000));
  truncated.record.sha256 = registry::Digest::sha256_of(full).hex();
  truncated.record.size = 0;
  EXPECT_EQ(kind_of([&] { cache.fetch({truncated.record}, {}); }, &message), ErrorKind::BadInput);
  EXPECT_NE(message.find("sha256 is"), std::string::npos) << message;
  // Longer than the record says.
  Package longer = add("/chan/noarch/long-1.0-0.conda", random_bytes(30'000, 10));
  longer.record.size -= 1;
  EXPECT_EQ(kind_of([&] { cache.fetch({longer.record}, {}); }), ErrorKind::BadInput);
  EXPECT_TRUE(cached_names(cache_dir_).empty());
}

TEST_F(CondaFetchHttp, Md5OnlyRecords) {
  Package p = add("/chan/noarch/old-1.0-0.tar.bz2", random_bytes(33'333, 11));
  p.record.sha256.clear();
  p.record.md5 = "0123456789abcdef0123456789abcdef";
  PackageCache cache(cache_dir_);
  EXPECT_EQ(kind_of([&] { cache.fetch({p.record}, {}); }), ErrorKind::BadInput);
  EXPECT_TRUE(cached_names(cache_dir_).empty());

  // The real md5 (computed by the system's md5sum, an independent oracle).
  auto md5 = envbuild::testing::run_process(
      {"md5sum", (root_ / "chan/noarch/old-1.0-0.tar.bz2").string()});
  ASSERT_EQ(md5.exit_code, 0);
  p.record.md5 = md5.out.substr(0, 32);
  auto results = cache.fetch({p.record}, {});
  EXPECT_TRUE(results[0].downloaded);
  EXPECT_NE(results[0].file.filename().string().find(".m" + p.record.md5.substr(0, 16) + "."),
            std::string::npos)
      << results[0].file;
  EXPECT_TRUE(slurp(results[0].file) == p.content);
  EXPECT_FALSE(cache.fetch({p.record}, {})[0].downloaded);
}

TEST_F(CondaFetchHttp, CorruptedCachedArchivesAreFetchedAgain) {
  Package p = add("/chan/noarch/pkg-2.0-0.conda", random_bytes(300'000, 12));
  PackageCache cache(cache_dir_);
  fs::path file = cache.fetch({p.record}, {})[0].file;
  EXPECT_EQ(server_->archive_requests(), 1);

  // Overwritten in place, same size.
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    f.write("corrupt", 7);
  }
  auto results = cache.fetch({p.record}, {});
  EXPECT_TRUE(results[0].downloaded);
  EXPECT_TRUE(slurp(file) == p.content);
  EXPECT_EQ(server_->archive_requests(), 2);

  // Truncated.
  fs::resize_file(file, 100);
  EXPECT_TRUE(cache.fetch({p.record}, {})[0].downloaded);
  EXPECT_TRUE(slurp(file) == p.content);
  EXPECT_EQ(server_->archive_requests(), 3);

  // Replaced by another file of the same size.
  write_file(file, random_bytes(p.content.size(), 13));
  EXPECT_TRUE(cache.fetch({p.record}, {})[0].downloaded);
  EXPECT_TRUE(slurp(file) == p.content);
  EXPECT_EQ(server_->archive_requests(), 4);

  // A lost marker (a crash between rename and marker): hashed, not fetched.
  fs::remove(fs::path(file.string() + ".verified"));
  EXPECT_FALSE(cache.fetch({p.record}, {})[0].downloaded);
  EXPECT_TRUE(fs::exists(file.string() + ".verified"));
  EXPECT_EQ(server_->archive_requests(), 4);
}

TEST_F(CondaFetchHttp, MissingPackageIsNotFound) {
  Package p = add("/chan/noarch/here-1.0-0.conda", "x");
  p.record.url = base() + "/chan/noarch/gone-1.0-0.conda";
  p.record.filename = "gone-1.0-0.conda";
  std::string message;
  PackageCache cache(cache_dir_);
  EXPECT_EQ(kind_of([&] { cache.fetch({p.record}, quick_retries()); }, &message),
            ErrorKind::NotFound);
  EXPECT_NE(message.find("gone-1.0-0.conda"), std::string::npos) << message;
  EXPECT_NE(message.find("404"), std::string::npos) << message;
  EXPECT_EQ(server_->archive_requests(), 1);  // a 404 is final
  EXPECT_TRUE(cached_names(cache_dir_).empty());
}

TEST_F(CondaFetchHttp, StoppedServerIsARegistryErrorAfterRetries) {
  Package p = add("/chan/noarch/pkg-1.0-0.conda", random_bytes(1000, 14));
  server_->stop();
  FetchOptions options = quick_retries();
  options.download.max_attempts = 3;
  std::string message;
  EXPECT_EQ(kind_of([&] { PackageCache(cache_dir_).fetch({p.record}, options); }, &message),
            ErrorKind::Registry);
  EXPECT_NE(message.find("pkg-1.0-0.conda"), std::string::npos) << message;
  EXPECT_NE(message.find("after 3 attempts"), std::string::npos) << message;
  EXPECT_TRUE(cached_names(cache_dir_).empty());
}

TEST_F(CondaFetchHttp, TransfersCutMidwayAreRetriedAndNeverLeavePartialFiles) {
  // The fault proxy cuts GET .../blobs/... responses over 64 KiB.
  Package p = add("/v2/c/blobs/cut-1.0-0.conda", random_bytes(1 << 20, 15));
  {
    envbuild::testing::FaultProxy proxy(server_->host(), {.reset_mid_blob = 5});
    PackageRecord r = p.record;
    r.url = "http://" + proxy.host() + "/v2/c/blobs/cut-1.0-0.conda";
    FetchOptions options = quick_retries();
    options.download.max_attempts = 2;
    std::string message;
    EXPECT_EQ(kind_of([&] { PackageCache(cache_dir_).fetch({r}, options); }, &message),
              ErrorKind::Registry);
    EXPECT_NE(message.find("cut-1.0-0.conda"), std::string::npos) << message;
    EXPECT_EQ(proxy.faults_injected(), 2);
    EXPECT_TRUE(cached_names(cache_dir_).empty());
  }
  {
    envbuild::testing::FaultProxy proxy(server_->host(), {.reset_mid_blob = 2});
    PackageRecord r = p.record;
    r.url = "http://" + proxy.host() + "/v2/c/blobs/cut-1.0-0.conda";
    auto results = PackageCache(cache_dir_).fetch({r}, quick_retries());
    EXPECT_TRUE(results[0].downloaded);
    EXPECT_TRUE(slurp(results[0].file) == p.content);
    EXPECT_EQ(proxy.faults_injected(), 2);
  }
}

TEST_F(CondaFetchHttp, ServerErrorsAndRateLimitsAreRetried) {
  std::vector<Package> packages;
  for (int i = 0; i < 4; ++i) {
    packages.push_back(
        add("/v2/c/blobs/retry" + std::to_string(i) + "-1.0-0.conda", random_bytes(5000, 20u + i)));
  }
  envbuild::testing::FaultProxy proxy(server_->host(), {.http_500 = 3, .http_429 = 1});
  for (auto& p : packages)
    p.record.url = "http://" + proxy.host() + p.record.url.substr(base().size());
  auto results = PackageCache(cache_dir_).fetch(records_of(packages), quick_retries());
  for (size_t i = 0; i < packages.size(); ++i) {
    EXPECT_TRUE(slurp(results[i].file) == packages[i].content);
  }
  EXPECT_EQ(proxy.faults_pending(), 0);
  EXPECT_EQ(proxy.requests_seen(), 4 + 4);
}

TEST_F(CondaFetchHttp, CredentialsInUrlsAreNeverPrinted) {
  // busybox ignores the Authorization header; the token is just a path here.
  Package ok = add("/t/tk-s3cret/chan/noarch/priv-1.0-0.conda", random_bytes(20'000, 30));
  ok.record.url =
      "http://user:pw-s3cret@" + server_->host() + "/t/tk-s3cret/chan/noarch/priv-1.0-0.conda";
  PackageRecord missing = ok.record;
  missing.filename = "nothere-1.0-0.conda";
  missing.url = "http://user:pw-s3cret@" + server_->host() +
                "/t/tk-s3cret/chan/noarch/nothere-1.0-0.conda?sig=q-s3cret";
  PackageRecord wrong = ok.record;
  wrong.sha256[0] = wrong.sha256[0] == 'a' ? 'b' : 'a';

  FetchOptions options = quick_retries();
  options.download.verbose = true;
  PackageCache cache(cache_dir_);
  ::testing::internal::CaptureStderr();
  auto results = cache.fetch({ok.record}, options);
  std::string m404;
  std::string mbad;
  ErrorKind k404 = kind_of([&] { cache.fetch({missing}, options); }, &m404);
  ErrorKind kbad =
      kind_of([&] { PackageCache(tmp_.path() / "other").fetch({wrong}, options); }, &mbad);
  std::string err = ::testing::internal::GetCapturedStderr();

  EXPECT_TRUE(slurp(results[0].file) == ok.content);
  EXPECT_EQ(k404, ErrorKind::NotFound);
  EXPECT_EQ(kbad, ErrorKind::BadInput);
  for (const std::string* text : {&err, &m404, &mbad}) {
    EXPECT_EQ(text->find("s3cret"), std::string::npos) << *text;
  }
  EXPECT_NE(
      err.find("GET http://" + server_->host() + "/t/<TOKEN>/chan/noarch/priv-1.0-0.conda -> 200"),
      std::string::npos)
      << err;
  EXPECT_NE(m404.find("/t/<TOKEN>/chan/noarch/nothere-1.0-0.conda?<redacted>"), std::string::npos)
      << m404;
}

TEST_F(CondaFetchHttp, PlainHttpElsewhereIsRefusedBeforeAnyRequest) {
  PackageRecord r;
  r.name = "a";
  r.filename = "a-1-0.conda";
  r.url = "http://conda.example.invalid/chan/noarch/a-1-0.conda";
  r.sha256 = std::string(64, 'a');
  EXPECT_EQ(kind_of([&] { PackageCache(cache_dir_).fetch({r}, {}); }), ErrorKind::BadInput);
  EXPECT_FALSE(fs::exists(cache_dir_));
}

namespace {

// Answers every request with a redirect chosen by the path's first segment:
// /to-busybox/X -> http://BUSYBOX/X, /to-remote/X -> a plain-http remote
// host, /loop/X -> itself.
class Redirector {
 public:
  explicit Redirector(std::string busybox)
      : busybox_(std::move(busybox)),
        server_([this](UniqueFd client, const std::atomic<bool>& stopping) {
          handle(std::move(client), stopping);
        }) {}
  std::string host() const { return "127.0.0.1:" + std::to_string(server_.port()); }

 private:
  void handle(UniqueFd client, const std::atomic<bool>& stopping) {
    std::string rest;
    auto head =
        envbuild::testing::read_http_head(client.get(), rest, std::chrono::seconds(10), &stopping);
    if (!head) return;
    std::string target = head->target();
    std::string location;
    auto after = [&](const std::string& prefix) { return target.substr(prefix.size()); };
    if (target.starts_with("/to-busybox/")) {
      location = "http://" + busybox_ + "/" + after("/to-busybox/");
    } else if (target.starts_with("/to-remote/")) {
      location = "http://conda.example.invalid/" + after("/to-remote/");
    } else {
      location = target;  // relative, to itself
    }
    envbuild::testing::send_all(client.get(),
                                "HTTP/1.1 302 Found\r\nLocation: " + location +
                                    "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  }

  std::string busybox_;
  envbuild::testing::LoopbackServer server_;  // last: stops first
};

}  // namespace

TEST_F(CondaFetchHttp, RedirectsAreFollowedWithinThePolicy) {
  Package p = add("/chan/noarch/moved-1.0-0.conda", random_bytes(10'000, 40));
  Redirector redirector(server_->host());
  PackageCache cache(cache_dir_);
  PackageRecord r = p.record;
  r.url = "http://" + redirector.host() + "/to-busybox/chan/noarch/moved-1.0-0.conda";
  auto results = cache.fetch({r}, {});
  EXPECT_TRUE(slurp(results[0].file) == p.content);

  PackageRecord remote = p.record;
  remote.sha256[0] = remote.sha256[0] == 'a' ? 'b' : 'a';  // another entry, so not a cache hit
  remote.url = "http://" + redirector.host() + "/to-remote/chan/noarch/moved-1.0-0.conda";
  std::string message;
  EXPECT_EQ(kind_of([&] { cache.fetch({remote}, {}); }, &message), ErrorKind::BadInput);
  EXPECT_NE(message.find("conda.example.invalid"), std::string::npos) << message;

  PackageRecord loop = remote;
  loop.url = "http://" + redirector.host() + "/loop/moved-1.0-0.conda";
  EXPECT_EQ(kind_of([&] { cache.fetch({loop}, {}); }, &message), ErrorKind::Registry);
  EXPECT_NE(message.find("redirects"), std::string::npos) << message;
}

namespace {

// One of the two processes of TwoProcessesFetchingOneSetAtOnce (a forked
// child): waits for the start file, fetches, writes how many packages it
// downloaded itself, and exits without returning into the test.
[[noreturn]] void fetch_in_child(const std::vector<PackageRecord>& records, const fs::path& cache,
                                 const fs::path& start, const fs::path& out) {
  int rc = 0;
  try {
    while (!fs::exists(start)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    FetchOptions options;
    options.download.parallel = 4;
    auto results = PackageCache(cache).fetch(records, options);
    int downloaded = 0;
    for (const auto& r : results) downloaded += r.downloaded ? 1 : 0;
    write_file(out, std::to_string(downloaded));
  } catch (const std::exception& e) {
    write_file(out.string() + ".error", e.what());
    rc = 1;
  }
  ::_exit(rc);
}

}  // namespace

TEST_F(CondaFetchHttp, TwoProcessesFetchingOneSetAtOnce) {
  std::vector<Package> packages;
  for (int i = 0; i < 40; ++i) {
    packages.push_back(add("/chan/noarch/shared" + std::to_string(i) + "-1.0-0.conda",
                           random_bytes(10'000 + static_cast<size_t>(i) * 3000, 50u + i)));
  }
  for (int i = 0; i < 2; ++i) {
    packages.push_back(add("/chan/noarch/big" + std::to_string(i) + "-1.0-0.conda",
                           random_bytes(12u << 20, 90u + i)));
  }
  std::vector<PackageRecord> records;
  for (const auto& p : packages) records.push_back(p.record);
  fs::path start = tmp_.path() / "start";
  std::vector<envbuild::testing::ChildProcess> children;
  for (int c = 0; c < 2; ++c) {
    const fs::path out = tmp_.path() / ("out" + std::to_string(c));
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << std::strerror(errno);
    if (pid == 0) fetch_in_child(records, cache_dir_, start, out);
    children.emplace_back(pid);
  }
  write_file(start, "go");
  int downloaded = 0;
  for (int c = 0; c < 2; ++c) {
    const fs::path out = tmp_.path() / ("out" + std::to_string(c));
    ASSERT_EQ(children[c].wait(), 0) << slurp(out.string() + ".error");
    downloaded += std::stoi(slurp(out));
  }
  // Each package was downloaded by exactly one of them, once.
  EXPECT_EQ(downloaded, static_cast<int>(packages.size()));
  EXPECT_EQ(server_->archive_requests(), static_cast<int>(packages.size()));
  PackageCache cache(cache_dir_);
  for (const auto& p : packages) {
    EXPECT_TRUE(slurp(cache.archive_path(p.record)) == p.content) << p.record.filename;
  }
  for (const std::string& name : cached_names(cache_dir_)) {
    EXPECT_FALSE(name.starts_with(".tmp-")) << name;
  }
}
