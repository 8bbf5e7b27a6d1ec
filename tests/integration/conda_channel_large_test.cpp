// A conda-forge-shaped channel of more than 200k records, loaded from
// file:// and over HTTP through the cache. Timing is printed, never
// asserted (that is bench/repodata_load.sh's job); memory and counts are
// checked loosely.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "builder/conda/channel/repodata_index.hpp"
#include "tests/support/conda_channel_archive.hpp"
#include "tests/support/conda_channel_synthetic.hpp"
#include "tests/support/files.hpp"
#include "tests/support/static_http_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::builder::conda;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Resident and peak resident memory of this process, in MB.
double status_mb(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(std::string(key).size())) / 1024.0;
  }
  return 0;
}
void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

TEST(CondaChannelLarge, TwoHundredThousandRecords) {
  envbuild::testing::TempDir tmp("envbuild-conda-large");
  fs::path chan = tmp.path() / "chan";
  auto t = Clock::now();
  envbuild::testing::SyntheticRepodataOptions o;
  o.records = 220'000;
  o.names = 15'000;
  auto stats = envbuild::testing::write_synthetic_repodata(chan / "linux-64/repodata.json", o);
  o.records = 30'000;
  o.names = 3'000;
  o.subdir = "noarch";
  o.seed = 2;
  auto noarch = envbuild::testing::write_synthetic_repodata(chan / "noarch/repodata.json", o);
  const double mb = static_cast<double>(stats.bytes + noarch.bytes) / 1e6;
  std::printf("[ large    ] generated %zu records, %.0f MB, in %.2f s\n",
              stats.records + noarch.records, mb, seconds_since(t));

  RepodataIndexOptions io;
  io.subdir = "linux-64";
  io.fetch.cache_dir = tmp.path() / "cache";
  {
    reset_peak();
    double rss0 = status_mb("VmRSS:");
    t = Clock::now();
    RepodataIndex index({resolve_channel(chan.string())}, io);
    double load = seconds_since(t);
    EXPECT_EQ(index.stats().records, stats.records + noarch.records);
    EXPECT_EQ(index.stats().malformed, 0u);
    std::printf(
        "[ large    ] file:// load %.2f s (scan %.2f s cpu summed), %zu names, RSS +%.0f MB,"
        " peak +%.0f MB\n",
        load, std::chrono::duration<double>(index.stats().scan_time).count(), index.stats().names,
        status_mb("VmRSS:") - rss0, status_mb("VmHWM:") - rss0);
    t = Clock::now();
    size_t parsed = 0;
    for (size_t i = 0; i < 50; ++i) parsed += index.candidates(stats.names[i * 7]).size();
    std::printf("[ large    ] candidates() of 50 names: %zu records in %.3f s\n", parsed,
                seconds_since(t));
    EXPECT_GT(parsed, 50u);
    EXPECT_EQ(index.candidates(stats.names[0]).size() > 0, true);
    // Loose: a buffer of the document plus an index, far from a DOM.
    EXPECT_LT(status_mb("VmHWM:") - rss0, 2.0 * mb + 200);
  }

  // Over HTTP, as .zst, through the cache: cold, then warm (304 + mapping).
  fs::path linux = chan / "linux-64/repodata.json";
  envbuild::testing::write_file(
      chan / "linux-64/repodata.json.zst",
      envbuild::testing::compress_bytes(envbuild::testing::slurp(linux),
                                        envbuild::testing::ArchiveCompression::Zstd, 3));
  envbuild::testing::StaticHttpServer server(tmp.path());
  Channel http = resolve_channel(server.url() + "/chan");
  for (const char* phase : {"cold", "warm"}) {
    reset_peak();
    double rss0 = status_mb("VmRSS:");
    t = Clock::now();
    RepodataIndex index({http}, io);
    double load = seconds_since(t);
    EXPECT_EQ(index.stats().records, stats.records + noarch.records);
    std::printf("[ large    ] http %s load %.2f s, RSS +%.0f MB after the pass, peak +%.0f MB\n",
                phase, load, status_mb("VmRSS:") - rss0, status_mb("VmHWM:") - rss0);
    EXPECT_FALSE(index.candidates(stats.names[1]).empty());
  }
  EXPECT_EQ(server.requests("/chan/linux-64/repodata.json.zst", 200), 1u);
  EXPECT_EQ(server.requests("/chan/linux-64/repodata.json.zst", 304), 1u);
}
