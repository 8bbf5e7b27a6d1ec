#pragma once
// Fetching <channel>/<subdir>/repodata.json (CEP 36).
//
// HTTP(S) channels go through the on-disk cache (repodata_cache.hpp): the
// request carries If-None-Match / If-Modified-Since from the last answer,
// and a 304 reuses the cached body. Variants are tried in the order
// repodata.json.zst (the smallest), repodata.json, repodata.json.bz2, each
// next one only after a 404/410 (or a 403 for the compressed ones: S3-style
// hosts answer that for absent keys); the variant that answered is
// remembered and asked first next time. Bodies are decompressed as they
// arrive (bzip2: after it arrived) into the cache, so a later load maps
// plain JSON. 408/429/5xx and transport failures are retried with backoff
// (Retry-After honoured); when they persist and a cached body exists, it is
// used and the result says so (`stale`). 401 and 403 are Error(Auth).
//
// file:// channels are read in place (no cache copy): repodata.json, else
// .zst, else .bz2.
//
// A subdir none of whose variants exists is `missing` (not an error here:
// channels often lack a platform's subdir; RepodataIndex decides).
//
// Bounds: at most 2 GiB transferred and 4 GiB of JSON per document
// (conda-forge's linux-64 is ~0.3 GB of JSON), both configurable; past them
// Error(BadInput) names the URL.
//
// Concurrency: processes sharing a cache directory serialize per entry on
// its lock file, so the second of two concurrent fetches waits and then
// revalidates (a 304) instead of downloading again; bodies are replaced by
// atomic rename, so an open (mapped) body never changes.
//
// Messages and the optional log name public URLs only (no userinfo, no
// /t/<token>): the shared HttpClient's own verbose log would print the
// token path segment, so it is never turned on here.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "builder/conda/channel/channel.hpp"
#include "builder/conda/channel/repodata_bytes.hpp"
#include "registry/http_client.hpp"

namespace envbuild::builder::conda {

inline constexpr uint64_t kMaxRepodataTransfer = 2ULL << 30;
inline constexpr uint64_t kMaxRepodataJson = 4ULL << 30;

struct RepodataFetchOptions {
  // Where HTTP(S) repodata is cached (files go directly in it; created when
  // needed). Empty: default_repodata_cache_dir().
  std::filesystem::path cache_dir;
  registry::HttpClientOptions http;  // `verbose` is ignored: see above
  // Use the cache only; a URL never fetched is Error(NotFound).
  bool offline = false;
  // Reuse a cached answer without asking when it was checked this recently.
  std::chrono::seconds max_age{0};
  // Use the cached body when the server cannot be reached after retries.
  bool stale_on_failure = true;
  int max_attempts = 4;
  std::chrono::milliseconds retry_base{250};
  uint64_t max_transfer_bytes = kMaxRepodataTransfer;
  uint64_t max_json_bytes = kMaxRepodataJson;
  // One line per request or decision, public URLs only ("GET <url>: 304").
  std::function<void(const std::string&)> log;
};

enum class FetchSource {
  Local,        // read from a file:// channel
  Downloaded,   // 200: a new body in the cache
  NotModified,  // 304: the cached body
  Fresh,        // within max_age: the cached body, no request
  Offline,      // offline: the cached body
  Stale,        // the server failed; the cached body
};

struct FetchedRepodata {
  std::string url;  // public <channel>/<subdir>/repodata.json (names the document)
  std::string subdir;
  bool missing = false;
  FetchSource source = FetchSource::Local;
  std::string variant_url;                    // public URL of the file that was read
  std::string warning;                        // set for Stale: why the cache was used
  std::shared_ptr<const RepodataBytes> body;  // null when missing
};

class RepodataFetcher {
 public:
  explicit RepodataFetcher(RepodataFetchOptions options = {});
  ~RepodataFetcher();
  RepodataFetcher(const RepodataFetcher&) = delete;
  RepodataFetcher& operator=(const RepodataFetcher&) = delete;

  // `subdir`: "noarch" or "<os>-<arch>" (CEP 26); Error(BadInput) otherwise.
  FetchedRepodata fetch(const Channel& channel, const std::string& subdir);

  // Drops the cached entry (e.g. its body turned out not to be JSON), so the
  // next fetch downloads again.
  void forget(const Channel& channel, const std::string& subdir);

  const RepodataFetchOptions& options() const { return options_; }

 private:
  struct Attempt;
  FetchedRepodata fetch_local(const Channel& channel, const std::string& subdir);
  FetchedRepodata fetch_http(const Channel& channel, const std::string& subdir);
  const registry::HttpClient& client();
  void log(const std::string& line) const;

  RepodataFetchOptions options_;
  std::unique_ptr<registry::HttpClient> client_;  // loads libcurl on first HTTP use
  std::mt19937_64 random_;
};

// CEP 26 subdir names: "noarch" or [a-z0-9]+-[a-z0-9]+, at most 32 bytes.
bool is_valid_subdir(std::string_view subdir);

}  // namespace envbuild::builder::conda
