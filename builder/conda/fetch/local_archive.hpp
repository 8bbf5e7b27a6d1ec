#pragma once
// Packages from file:// channels: hardlinked into the cache when the
// channel is on the same filesystem (no copy of big archives), copied
// otherwise; hashed and verified either way, so a local channel gets the
// same guarantees as a remote one.
#include <filesystem>
#include <string>

#include "builder/conda/fetch/cache_layout.hpp"
#include "builder/conda/fetch/verification_marker.hpp"
#include "builder/conda/package_record.hpp"

namespace envbuild::builder::conda {

struct LocalPlacement {
  VerificationMarker marker;
  bool hardlinked = false;
};

// Puts `source` at paths.archive. The caller holds the package's lock (the
// hardlink goes through paths.link_temp, which only the lock holder
// touches). Throws Error(NotFound) when the source is missing and
// Error(BadInput) "<what> from <shown>: ..." when it does not match the
// record; nothing is left in the cache then.
LocalPlacement place_local_archive(const std::filesystem::path& source, const CachePaths& paths,
                                   const PackageRecord& record, const std::string& what,
                                   const std::string& shown);

}  // namespace envbuild::builder::conda
