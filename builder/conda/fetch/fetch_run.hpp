#pragma once
// One PackageCache::fetch call: the plan (which records map to which cache
// entries, which are already there) and the loop that fetches the rest
// under the locking protocol described in package_cache.hpp.
#include <chrono>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builder/conda/fetch/archive_sink.hpp"
#include "builder/conda/fetch/cache_layout.hpp"
#include "builder/conda/fetch/download_pool.hpp"
#include "builder/conda/fetch/package_cache.hpp"
#include "registry/file_lock.hpp"

namespace envbuild::builder::conda {

class FetchRun {
 public:
  // Validates every record (Error(BadInput) for bad names, digests, URLs)
  // and runs the cheap cache check; touches nothing.
  FetchRun(const std::filesystem::path& dir, const std::vector<PackageRecord>& records,
           const FetchOptions& options);
  FetchRun(const FetchRun&) = delete;
  FetchRun& operator=(const FetchRun&) = delete;

  // Fetches what is missing; throws the first error.
  void run();
  std::vector<FetchResult> results() const;

 private:
  struct Entry {
    PackageRecord record;
    CachePaths paths;
    std::string what;                            // "package <file name>"
    std::string shown;                           // the URL for messages
    std::optional<std::filesystem::path> local;  // file:// source
    bool missing = false;                        // not vouched for at the start
    bool downloaded = false;                     // placed by this run
    uint64_t planned = 0;                        // its bytes in the progress total
    uint64_t credited = 0;                       // its bytes in the progress count
    std::optional<registry::FileLock> lock;      // held while this run fetches it
    std::unique_ptr<ArchiveSink> sink;           // while it downloads
  };
  using Clock = std::chrono::steady_clock;

  bool has_room() const;
  // Holding the entry's lock: settles it from the cache, places a local
  // file, or starts its download.
  void begin(Entry& e, registry::FileLock lock);
  void complete(const DownloadDone& done);
  void settled(Entry& e, bool downloaded);
  // Progress: learns an entry's size from its download, counts its bytes.
  void account(Entry& e);
  void credit(Entry& e, uint64_t bytes);
  void report(bool force);
  DownloadPool& pool();

  std::filesystem::path dir_;
  const FetchOptions& options_;
  std::vector<Entry> entries_;
  std::vector<size_t> entry_of_;     // per record; SIZE_MAX for a virtual package
  std::vector<size_t> downloading_;  // entries with a transfer in the pool
  uint64_t total_ = 0;
  uint64_t done_ = 0;
  uint64_t last_done_ = UINT64_MAX;
  uint64_t last_total_ = UINT64_MAX;
  Clock::time_point last_report_{};
  // Last member: destroyed first, so no transfer outlives the sinks.
  std::unique_ptr<DownloadPool> pool_;
};

}  // namespace envbuild::builder::conda
