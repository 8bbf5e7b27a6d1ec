// The conda package cache with file:// channels: the real packages of the
// shared test channel, hardlinks on one filesystem and copies across two,
// verification, cleanup after killed processes, and threads sharing a cache.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "builder/conda/fetch/package_cache.hpp"
#include "registry/atomic_file.hpp"
#include "registry/digest.hpp"
#include "registry/error.hpp"
#include "registry/file_lock.hpp"
#include "tests/support/conda_channel.hpp"
#include "tests/support/error_kind.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::builder::conda;
using envbuild::testing::kind_of;
using envbuild::testing::slurp;
using envbuild::testing::TempDir;
using envbuild::testing::write_file;
namespace fs = std::filesystem;

namespace {

const fs::path kFormatRepo = envbuild::testing::conda_testdata_dir() / "conda-format-repo";

struct Stat {
  dev_t dev = 0;
  ino_t ino = 0;
};
Stat stat_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) throw std::runtime_error("stat " + p.string());
  return {st.st_dev, st.st_ino};
}

// The records of linux-64/repodata.json whose files the test channel has.
std::vector<PackageRecord> format_repo_records() {
  fs::path subdir = kFormatRepo / "linux-64";
  nlohmann::json repodata = nlohmann::json::parse(slurp(subdir / "repodata.json"));
  std::vector<PackageRecord> out;
  for (const char* key : {"packages", "packages.conda"}) {
    for (const auto& [filename, j] : repodata[key].items()) {
      if (!fs::exists(subdir / filename)) continue;
      PackageRecord r;
      r.name = j["name"];
      r.version = j["version"];
      r.build = j["build"];
      r.filename = filename;
      r.url = "file://" + (subdir / filename).lexically_normal().string();
      r.sha256 = j["sha256"];
      r.md5 = j["md5"];
      r.size = j["size"];
      out.push_back(r);
    }
  }
  return out;
}

PackageRecord local_record(const fs::path& file, const std::string& content,
                           const std::string& url_path) {
  write_file(file, content);
  // Channels are written well before they are used; a file written this
  // very moment would make the first verification racy (see
  // verification_marker.hpp) and be hashed again once.
  fs::last_write_time(file, fs::file_time_type::clock::now() - std::chrono::hours(1));
  PackageRecord r;
  r.name = "pkg";
  r.filename = file.filename().string();
  r.url = "file://" + url_path;
  r.sha256 = registry::Digest::sha256_of(content).hex();
  r.size = content.size();
  return r;
}

PackageRecord local_record(const fs::path& file, const std::string& content) {
  return local_record(file, content, file.string());
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(CondaFetchLocal, RealPackagesFromTheTestChannel) {
  std::vector<PackageRecord> records = format_repo_records();
  ASSERT_GE(records.size(), 2u) << "expected zlib as .conda and .tar.bz2 in " << kFormatRepo;
  TempDir tmp;
  PackageCache cache(tmp.path() / "pkgs");
  std::vector<FetchResult> results = cache.fetch(records, {});
  for (size_t i = 0; i < records.size(); ++i) {
    fs::path source = records[i].url.substr(7);
    EXPECT_TRUE(results[i].downloaded);
    EXPECT_TRUE(slurp(results[i].file) == slurp(source));
    // Same filesystem: a hardlink, no copy.
    if (stat_of(source).dev == stat_of(tmp.path()).dev) {
      EXPECT_EQ(stat_of(results[i].file).ino, stat_of(source).ino) << records[i].filename;
    }
  }
  for (const FetchResult& r : cache.fetch(records, {})) EXPECT_FALSE(r.downloaded);

  // The same packages by md5 alone are other cache entries, verified by md5.
  std::vector<PackageRecord> by_md5 = records;
  for (auto& r : by_md5) r.sha256.clear();
  std::vector<FetchResult> md5_results = cache.fetch(by_md5, {});
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_TRUE(md5_results[i].downloaded);
    EXPECT_NE(md5_results[i].file, results[i].file);
  }
}

TEST(CondaFetchLocal, CopiesAcrossFilesystems) {
  TempDir tmp;
  // A channel on another filesystem than the cache, so the hardlink fails
  // with EXDEV and the archive is copied: /dev/shm (tmpfs) where there is
  // one, else any of the usual roots that is not the temp dir's.
  fs::path channel;
  for (const char* root : {"/dev/shm", "/run", "/var/tmp", "/tmp", ENVBUILD_BINARY_DIR}) {
    std::string pattern = std::string(root) + "/conda-fetch-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) continue;
    if (stat_of(pattern).dev != stat_of(tmp.path()).dev) {
      channel = pattern;
      break;
    }
    fs::remove_all(pattern);
  }
  ASSERT_FALSE(channel.empty()) << "no writable directory on another filesystem than " << tmp.path()
                                << " (tried /dev/shm, /run, /var/tmp, /tmp and the "
                                << "build dir)";
  std::string content(3 << 20, 'x');
  content += "end";
  PackageRecord r = local_record(channel / "noarch/far-1.0-0.conda", content);
  auto results = PackageCache(tmp.path() / "pkgs").fetch({r}, {});
  EXPECT_TRUE(results[0].downloaded);
  EXPECT_TRUE(slurp(results[0].file) == content);
  EXPECT_NE(stat_of(results[0].file).ino, stat_of(channel / "noarch/far-1.0-0.conda").ino);
  fs::remove_all(channel);
}

TEST(CondaFetchLocal, MismatchesAndMissingFilesLeaveNothing) {
  TempDir tmp;
  fs::path pkgs = tmp.path() / "pkgs";
  PackageRecord r = local_record(tmp.path() / "chan/noarch/bad-1.0-0.conda", "real content");
  r.sha256 = registry::Digest::sha256_of("other content").hex();
  std::string message;
  EXPECT_EQ(kind_of([&] { PackageCache(pkgs).fetch({r}, {}); }, &message), ErrorKind::BadInput);
  EXPECT_NE(message.find("bad-1.0-0.conda"), std::string::npos) << message;
  EXPECT_NE(message.find(r.url), std::string::npos) << message;
  for (const std::string& name : names_in(pkgs)) EXPECT_TRUE(name.ends_with(".lock")) << name;

  PackageRecord sized = local_record(tmp.path() / "chan/noarch/size-1.0-0.conda", "abc");
  sized.size = 4;
  EXPECT_EQ(kind_of([&] { PackageCache(pkgs).fetch({sized}, {}); }), ErrorKind::BadInput);

  PackageRecord missing = r;
  missing.filename = "none-1.0-0.conda";
  missing.url = "file://" + (tmp.path() / "chan/noarch/none-1.0-0.conda").string();
  EXPECT_EQ(kind_of([&] { PackageCache(pkgs).fetch({missing}, {}); }, &message),
            ErrorKind::NotFound);
  EXPECT_NE(message.find("none-1.0-0.conda"), std::string::npos) << message;
  for (const std::string& name : names_in(pkgs)) EXPECT_TRUE(name.ends_with(".lock")) << name;
}

TEST(CondaFetchLocal, PercentEncodedPaths) {
  TempDir tmp;
  fs::path file = tmp.path() / "my chan/noarch/a-1.0+cpu-0.conda";
  std::string encoded = (tmp.path() / "my%20chan/noarch/a-1.0%2Bcpu-0.conda").string();
  PackageRecord r = local_record(file, "payload", encoded);
  r.filename.clear();  // taken from the URL, decoded
  auto results = PackageCache(tmp.path() / "pkgs").fetch({r}, {});
  EXPECT_TRUE(slurp(results[0].file) == "payload");
  EXPECT_TRUE(results[0].file.filename().string().starts_with("a-1.0+cpu-0.s")) << results[0].file;
}

TEST(CondaFetchLocal, DuplicatesVirtualPackagesAndRecordsWithoutUrl) {
  TempDir tmp;
  PackageRecord a = local_record(tmp.path() / "chan/noarch/a-1.0-0.conda", "aaa");
  PackageRecord glibc;
  glibc.name = "__glibc";
  glibc.version = "2.36";
  PackageCache cache(tmp.path() / "pkgs");
  auto results = cache.fetch({a, glibc, a}, {});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].file, results[2].file);
  EXPECT_TRUE(results[1].file.empty());
  EXPECT_FALSE(results[1].downloaded);

  PackageRecord no_url = a;
  no_url.url.clear();
  EXPECT_EQ(kind_of([&] { cache.fetch({no_url}, {}); }), ErrorKind::BadInput);
}

TEST(CondaFetchLocal, LeftoversOfKilledProcessesAreRemoved) {
  TempDir tmp;
  fs::path pkgs = tmp.path() / "pkgs";
  fs::create_directories(pkgs);
  // A dead download (no flock), a dead hardlink step, and a live temp.
  write_file(pkgs / ".tmp-00112233aabbccdd", "partial");
  write_file(pkgs / "x-1-0.s0123456789abcdef.conda.link", "linked");
  registry::AtomicFile live(pkgs / "live.conda");
  // A hardlink step still in progress elsewhere: its package lock is held.
  write_file(pkgs / "y-1-0.s0123456789abcdef.conda.link", "linked");
  auto held = registry::FileLock::acquire(pkgs / "y-1-0.s0123456789abcdef.conda.lock");

  PackageRecord r = local_record(tmp.path() / "chan/noarch/a-1.0-0.conda", "aaa");
  PackageCache(pkgs).fetch({r}, {});
  EXPECT_FALSE(fs::exists(pkgs / ".tmp-00112233aabbccdd"));
  EXPECT_FALSE(fs::exists(pkgs / "x-1-0.s0123456789abcdef.conda.link"));
  EXPECT_TRUE(fs::exists(live.temp_path()));
  EXPECT_TRUE(fs::exists(pkgs / "y-1-0.s0123456789abcdef.conda.link"));
}

TEST(CondaFetchLocal, ACachedFetchWritesNothing) {
  TempDir tmp;
  fs::path pkgs = tmp.path() / "pkgs";
  PackageRecord r = local_record(tmp.path() / "chan/noarch/a-1.0-0.conda", "aaa");
  PackageCache cache(pkgs);
  cache.fetch({r}, {});
  std::vector<std::string> before = names_in(pkgs);
  auto marker_time =
      fs::last_write_time(pkgs / (cache.archive_path(r).filename().string() + ".verified"));
  // Even a stale temp stays: a fetch that needs nothing changes nothing.
  write_file(pkgs / ".tmp-00112233aabbccdd", "partial");
  EXPECT_FALSE(cache.fetch({r}, {})[0].downloaded);
  std::vector<std::string> after = names_in(pkgs);
  before.push_back(".tmp-00112233aabbccdd");
  std::sort(before.begin(), before.end());
  EXPECT_EQ(after, before);
  EXPECT_EQ(fs::last_write_time(pkgs / (cache.archive_path(r).filename().string() + ".verified")),
            marker_time);
}

TEST(CondaFetchLocal, ThreadsSharingOneCache) {
  TempDir tmp;
  std::vector<PackageRecord> records;
  std::vector<std::string> contents;
  for (int i = 0; i < 20; ++i) {
    contents.push_back(std::string(1000 + i * 500, static_cast<char>('a' + i)));
    records.push_back(local_record(
        tmp.path() / ("chan/noarch/t" + std::to_string(i) + "-1.0-0.conda"), contents.back()));
  }
  PackageCache cache(tmp.path() / "pkgs");
  std::vector<std::thread> threads;
  std::vector<int> placed(6, 0);
  std::vector<std::string> errors(6);
  for (size_t t = 0; t < placed.size(); ++t) {
    threads.emplace_back([&, t] {
      try {
        for (const auto& r : cache.fetch(records, {})) placed[t] += r.downloaded ? 1 : 0;
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  int total = 0;
  for (size_t t = 0; t < placed.size(); ++t) {
    EXPECT_EQ(errors[t], "");
    total += placed[t];
  }
  EXPECT_EQ(total, static_cast<int>(records.size()));  // each placed once
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_TRUE(slurp(cache.archive_path(records[i])) == contents[i]);
  }
}
