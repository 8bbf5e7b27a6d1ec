#include "builder/conda/fetch/package_cache.hpp"

#include <cstdlib>

#include "builder/conda/fetch/cache_layout.hpp"
#include "builder/conda/fetch/fetch_run.hpp"
#include "registry/default_store.hpp"

namespace envbuild::builder::conda {

PackageCache::PackageCache(std::filesystem::path dir) : dir_(std::move(dir)) {}

std::vector<FetchResult> PackageCache::fetch(const std::vector<PackageRecord>& records,
                                             const FetchOptions& options) const {
  FetchRun run(dir_, records, options);
  run.run();
  return run.results();
}

std::filesystem::path PackageCache::archive_path(const PackageRecord& record) const {
  return cache_paths(dir_, record).archive;
}

std::filesystem::path PackageCache::extracted_dir(const PackageRecord& record) const {
  return cache_paths(dir_, record).extracted;
}

std::filesystem::path default_package_cache_dir() {
  return registry::default_cache_dir(std::getenv("ENVBUILD_CACHE_DIR"),
                                     std::getenv("XDG_CACHE_HOME"), std::getenv("HOME")) /
         "conda" / "pkgs";
}

}  // namespace envbuild::builder::conda
