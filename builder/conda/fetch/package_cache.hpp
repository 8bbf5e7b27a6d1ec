#pragma once
// The conda package cache: a directory of verified package archives shared
// by every envbuild process of a user (default
// $ENVBUILD_CACHE_DIR/conda/pkgs, see registry/default_store.hpp), filled
// by parallel downloads.
//
// fetch() makes each record's archive present and verified:
// - A cached archive counts only when its verification marker vouches for
//   it (verification_marker.hpp: digest equal to the record's, inode, size
//   and mtime unchanged): a stat and a small read, no hashing. An archive
//   without a valid marker is hashed again; a corrupt one is removed and
//   fetched again.
// - http(s) URLs are downloaded by one thread driving up to `parallel`
//   transfers (download_pool.hpp), each straight into a temp file in the
//   cache directory while it is hashed (SHA-256; MD5 too for records
//   without sha256), then size and digest are checked and the temp renamed
//   into place. file:// URLs are hardlinked or copied (local_archive.hpp),
//   verified the same way.
// - Errors are one line naming the package and its URL without
//   credentials (display_url.hpp): a mismatch is Error(BadInput), 404 is
//   Error(NotFound), refused access Error(Auth), network failures and 5xx
//   after retries Error(Registry). The first error aborts the fetch; what
//   was completed before stays cached, nothing partial does.
//
// Concurrency protocol (processes and threads alike; every step is safe
// against SIGKILL at any point):
// 1. Readers take no lock. The archive name only ever appears by an atomic
//    rename(2) of a complete, verified file, and the marker is written
//    after it (itself atomically), so a reader sees a complete archive or
//    none, and trusts it only with a marker that describes exactly that
//    inode. A fully cached fetch writes nothing (a read-only cache works).
// 2. A writer first takes the package's flock(2) "<archive>.lock" without
//    blocking. Holding it, it checks the cache again (another process may
//    have just finished), then downloads to ".tmp-<random>" (flocked by its
//    writer, see registry/atomic_file.hpp), verifies, renames, writes the
//    marker, and releases the lock. So one package is downloaded by one
//    process at a time, and two fetches of one set share the work.
// 3. A package whose lock is taken is put aside and tried again while this
//    process downloads others. Only when it has nothing else to do does it
//    block on such a lock, holding no other lock then, so two processes can
//    never wait for each other. When the lock comes free, the check of
//    step 2 finds the other process's archive (a cache hit) or, if that
//    process failed or died, this one fetches it.
// 4. A killed writer leaves at most a ".tmp-*" file (its flock died with
//    it) or a "*.link" file (the hardlink step, only touched under the
//    package lock). The next fetch that has anything to fetch removes both
//    kinds, never one still in use.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "builder/conda/fetch/download_pool.hpp"
#include "builder/conda/package_record.hpp"

namespace envbuild::builder::conda {

struct FetchOptions {
  // Concurrent downloads, timeouts, retries, plain-http hosts, verbosity.
  DownloadSettings download;
  // Called on the fetching thread with the bytes fetched so far and the
  // total to fetch: the sizes of the records not already cached (a record
  // without a size counts once the server announces a Content-Length).
  // Called at the start, as bytes arrive (at most every 100 ms), and at
  // the end. May be empty.
  std::function<void(uint64_t done_bytes, uint64_t total_bytes)> progress;
  // The URL to request for a record's public URL: a private channel's
  // credentials are added back here (Channel::request_url) and never appear
  // in a record, a message or the cache. Empty: the record's URL as it is.
  std::function<std::string(const std::string& public_url)> request_url;
};

struct FetchResult {
  std::filesystem::path file;  // the verified archive; empty for a virtual package
  bool downloaded = false;  // false: it was in the cache already (or another process put it there)
};

class PackageCache {
 public:
  explicit PackageCache(std::filesystem::path dir);

  // One result per record, in order. Virtual packages (no URL) give an
  // empty result. Records that name the same archive are fetched once.
  // Thread-safe: calls share nothing but the directory.
  std::vector<FetchResult> fetch(const std::vector<PackageRecord>& records,
                                 const FetchOptions& options) const;

  // Where the record's archive is (or will be), and where an extractor
  // should put its contents (cache_layout.hpp). Throw Error(BadInput) for
  // records whose file name or digests are unusable.
  std::filesystem::path archive_path(const PackageRecord& record) const;
  std::filesystem::path extracted_dir(const PackageRecord& record) const;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

// $ENVBUILD_CACHE_DIR/conda/pkgs (registry::default_cache_dir's rules).
std::filesystem::path default_package_cache_dir();

}  // namespace envbuild::builder::conda
