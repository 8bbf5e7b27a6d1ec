#pragma once
// The package source of an environment's channels: every channel's
// repodata for the target subdir and noarch, indexed by package name in one
// fast pass, parsed into PackageRecords only for the names asked for.
//
// Loading (constructor): the documents of all (channel, subdir) pairs are
// fetched (repodata_fetch.hpp) and scanned (repodata_scan.hpp) in parallel.
// A channel missing one of the two subdirs simply has no packages there; a
// channel missing both is Error(NotFound) naming it. Malformed JSON is
// Error(BadInput) naming the URL (and drops its cache entry, so the next
// run downloads again); repodata_version above 2 is refused.
//
// candidates(name): the records of `name` in channel priority order (then
// target subdir before noarch, then document order), parsed on first
// request and kept. Within one document: a filename listed in `removed` is
// skipped; of a package present as both .tar.bz2 and .conda (same
// name-version-build) only the .conda is kept; a filename given twice keeps
// its last record (JSON's rule). Records with malformed fields are skipped
// and counted (stats(), warnings()), never fatal.
//
// URLs: <channel base_url>/<subdir>/<filename>, or, when the repodata has
// `info.base_url` (CEP 15, repodata_version 2), that URL (absolute, or
// relative to the repodata.json) followed by the filename. A base_url may
// point at https, or at the channel's own scheme; anything else (a remote
// channel naming file:// paths, say) is refused.
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "builder/conda/channel/channel.hpp"
#include "builder/conda/channel/repodata_bytes.hpp"
#include "builder/conda/channel/repodata_fetch.hpp"
#include "builder/conda/channel/repodata_scan.hpp"
#include "builder/conda/package_source.hpp"

namespace envbuild::builder::conda {

struct RepodataIndexOptions {
  std::string subdir;  // the target platform's subdir, e.g. "linux-64"
  bool include_noarch = true;
  RepodataFetchOptions fetch;  // its log is called from one thread at a time
  size_t parallel = 4;         // documents fetched and scanned at once
};

// One loaded document, for building an index without fetching.
struct RepodataDocument {
  Channel channel;
  int priority = 0;
  std::string subdir;
  std::string url;  // public URL of the repodata.json
  std::shared_ptr<const RepodataBytes> body;
};

struct RepodataIndexStats {
  size_t documents = 0;
  uint64_t bytes = 0;                      // JSON bytes scanned
  size_t records = 0;                      // indexed by the first pass
  size_t names = 0;                        // distinct names over all documents
  size_t parsed = 0;                       // records parsed by candidates() so far
  size_t malformed = 0;                    // records skipped: the first pass's and candidates()'s
  size_t removed = 0;                      // skipped as listed in `removed`
  size_t superseded = 0;                   // .tar.bz2 skipped for its .conda twin
  std::chrono::nanoseconds fetch_time{0};  // wall time of fetch and scan
  std::chrono::nanoseconds scan_time{0};   // the first pass, summed over documents
};

class RepodataIndex : public PackageSource {
 public:
  // `channels` in priority order (0 first).
  RepodataIndex(const std::vector<Channel>& channels, const RepodataIndexOptions& options);
  // From documents already in memory (priority and subdir as given).
  explicit RepodataIndex(std::vector<RepodataDocument> documents);
  ~RepodataIndex() override;

  const std::vector<PackageRecord>& candidates(const std::string& name) override;

  const RepodataIndexStats& stats() const { return stats_; }
  // Human-readable notes: stale caches used, malformed records skipped per
  // document (with the first reason).
  std::vector<std::string> warnings() const;
  // Every indexed name, sorted (for "did you mean" messages).
  std::vector<std::string> names() const;
  // What each document was loaded from (fetch results, body dropped).
  const std::vector<FetchedRepodata>& fetched() const { return fetched_; }

 private:
  struct Loaded;
  void add(RepodataDocument document, ScannedRepodata scanned);
  void count_names();
  void parse_document(Loaded& doc, const std::string& name, std::vector<PackageRecord>& out);

  std::vector<std::unique_ptr<Loaded>> docs_;
  std::unordered_map<std::string, std::vector<PackageRecord>> parsed_;
  std::vector<FetchedRepodata> fetched_;
  std::vector<std::string> notes_;
  RepodataIndexStats stats_;
};

// Resolves a CEP 15 base_url against the repodata.json URL it came from
// (RFC 3986 reference resolution for the forms repodata uses); the result
// ends with '/'. Error(BadInput) for a scheme other than https or the
// channel's own.
std::string resolve_repodata_base_url(const std::string& repodata_url, const std::string& base_url);

}  // namespace envbuild::builder::conda
