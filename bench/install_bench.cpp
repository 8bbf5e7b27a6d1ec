// Conda install benchmark (bench/install_vs_raw.sh runs it).
//
//   install_bench generate DIR [--packages N] [--kib-each N]
//     writes a channel of N packages (default 200 of 2560 KiB: 500 MiB) into
//     DIR/channel, and each package's pkg-*.tar.zst member into DIR/raw, so
//     the raw side can decompress exactly the bytes we decompress.
//   install_bench install DIR WORK [--parallel N]
//     serves DIR/channel over loopback HTTP and runs what envbuild create
//     runs for those packages, into an empty package cache under WORK:
//     download + verify (PackageCache::fetch), extract (extract_package),
//     link (link_package). Prints one line per phase and "total <seconds>".
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "builder/conda/channel/channel.hpp"
#include "builder/conda/channel/repodata_index.hpp"
#include "builder/conda/fetch/package_cache.hpp"
#include "builder/conda/package/link_package.hpp"
#include "builder/conda/package/package_archive.hpp"
#include "builder/conda/package/zip_reader.hpp"
#include "registry/compress_stream.hpp"
#include "registry/parallel.hpp"
#include "tests/support/conda_channel.hpp"
#include "tests/support/static_http_server.hpp"

namespace fs = std::filesystem;
using namespace envbuild;
using namespace envbuild::builder::conda;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

size_t flag(int argc, char** argv, const char* name, size_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::stoul(argv[i + 1]);
  }
  return fallback;
}

void copy_member(const ZipReader& zip, const ZipMember& member, const fs::path& out) {
  std::unique_ptr<registry::ByteSource> in = zip.open(member);
  std::ofstream file(out, std::ios::binary);
  char buf[1 << 16];
  for (;;) {
    size_t n = in->read(buf, sizeof buf);
    if (n == 0) break;
    file.write(buf, static_cast<std::streamsize>(n));
  }
}

int generate(const fs::path& dir, size_t packages, size_t kib_each) {
  fs::remove_all(dir);
  fs::create_directories(dir / "raw");
  testing::CondaChannel channel(dir / "channel");
  const auto names = channel.add_payload(packages, uint64_t{kib_each} << 10);
  channel.write_repodata();
  uint64_t archive_bytes = 0;
  for (const auto& entry : fs::directory_iterator(dir / "channel" / "linux-64")) {
    if (entry.path().extension() != ".conda") continue;
    archive_bytes += entry.file_size();
    ZipReader zip(entry.path());
    for (const ZipMember& m : zip.members()) {
      if (m.name.rfind("pkg-", 0) == 0) copy_member(zip, m, dir / "raw" / m.name);
    }
  }
  std::printf("generated %zu packages, %.1f MiB of archives\n", names.size(),
              static_cast<double>(archive_bytes) / (1 << 20));
  return 0;
}

int install(const fs::path& dir, const fs::path& work, size_t parallel) {
  fs::remove_all(work);
  fs::create_directories(work);
  testing::StaticHttpServer server(dir);
  const Clock::time_point start = Clock::now();

  RepodataIndexOptions index_options;
  index_options.subdir = "linux-64";
  index_options.fetch.cache_dir = work / "repodata";
  RepodataIndex index({resolve_channel(server.url() + "/channel")}, index_options);
  std::vector<PackageRecord> records;
  for (size_t i = 0;; ++i) {
    const auto& found = index.candidates("payload-" + std::to_string(i));
    if (found.empty()) break;
    records.push_back(found.front());
  }
  const double index_s = seconds_since(start);

  Clock::time_point phase = Clock::now();
  const PackageCache cache(work / "pkgs");
  FetchOptions fetch;
  fetch.download.parallel = parallel;
  const std::vector<FetchResult> fetched = cache.fetch(records, fetch);
  const double fetch_s = seconds_since(phase);

  phase = Clock::now();
  const size_t workers = std::max<size_t>(1, std::min<size_t>(parallel, 4));
  registry::run_parallel(records.size(), workers, [&](size_t i) {
    extract_package(fetched[i].file, cache.extracted_dir(records[i]));
  });
  const double extract_s = seconds_since(phase);

  phase = Clock::now();
  LinkContext context;
  context.prefix = "/opt/conda";
  context.target_subdir = "linux-64";
  context.staging_dir = work / "staging";
  context.recorded_cache_dir = "/opt/conda/pkgs";
  std::vector<size_t> entries(records.size());
  registry::run_parallel(records.size(), workers, [&](size_t i) {
    entries[i] = link_package(cache.extracted_dir(records[i]), records[i], context,
                              cache.archive_path(records[i]))
                     .entries.size();
  });
  const double link_s = seconds_since(phase);

  size_t total_entries = 0;
  for (size_t n : entries) total_entries += n;
  std::printf("packages %zu, layer entries %zu\n", records.size(), total_entries);
  std::printf("repodata %.3f s\nfetch+verify %.3f s\nextract %.3f s\nlink %.3f s\n", index_s,
              fetch_s, extract_s, link_s);
  std::printf("total %.3f\n", seconds_since(start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 3 && std::strcmp(argv[1], "generate") == 0) {
      return generate(argv[2], flag(argc, argv, "--packages", 200),
                      flag(argc, argv, "--kib-each", 2560));
    }
    if (argc >= 4 && std::strcmp(argv[1], "install") == 0) {
      return install(argv[2], argv[3], flag(argc, argv, "--parallel", 8));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "install_bench: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: install_bench generate DIR [--packages N] [--kib-each N]\n"
               "       install_bench install DIR WORK [--parallel N]\n");
  return 2;
}
