#pragma once
// The on-disk repodata cache: one entry per repodata URL, three files in
// the cache directory, named by the first 32 hex digits of the SHA-256 of
// the request URL (with credentials, so two tokens never share an entry,
// while the name reveals neither):
//
//   <key>.json        the decompressed repodata.json, replaced by rename
//   <key>.state.json  {"url", "variant_url", "etag", "last_modified",
//                      "fetched_at", "checked_at", "size", "missing"}
//                     (public URLs only; times in Unix seconds)
//   <key>.lock        flock: exclusive while fetching, shared while reading
//
// A writer removes the state, renames the new body in, then writes the new
// state, all under the exclusive lock; an entry counts only when its state
// names the body's exact size. So a crash at any point leaves a consistent
// entry or none, and deleting the directory is always safe.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace envbuild::builder::conda {

struct RepodataCacheState {
  std::string url;          // public URL of <subdir>/repodata.json
  std::string variant_url;  // public URL that answered (.zst, plain or .bz2)
  std::string etag;
  std::string last_modified;
  int64_t fetched_at = 0;  // last 200
  int64_t checked_at = 0;  // last 200 or 304
  uint64_t size = 0;       // bytes of <key>.json
  bool missing = false;    // every variant answered 404 at checked_at
};

struct RepodataCacheEntry {
  std::filesystem::path body;
  std::filesystem::path state;
  std::filesystem::path lock;
};

// Paths of the entry for `request_url` under `cache_dir`.
RepodataCacheEntry repodata_cache_entry(const std::filesystem::path& cache_dir,
                                        const std::string& request_url);

// nullopt when absent or unreadable (a corrupt state is a missing state).
std::optional<RepodataCacheState> read_repodata_state(const std::filesystem::path& path);
void write_repodata_state(const std::filesystem::path& path, const RepodataCacheState& state);

// Where repodata caches go by default: <default_cache_dir()>/conda/repodata.
std::filesystem::path default_repodata_cache_dir();

}  // namespace envbuild::builder::conda
