#pragma once
// Deciding whether an archive already in the cache can be used, and
// cleaning up after processes that died mid-fetch.
#include <filesystem>

#include "builder/conda/fetch/cache_layout.hpp"
#include "builder/conda/package_record.hpp"

namespace envbuild::builder::conda {

// The cheap check: one lstat and one small read; no lock, no writes (works
// on a read-only cache). True when the marker vouches for the archive
// (verification_marker.hpp).
bool is_vouched(const CachePaths& paths, const PackageRecord& record);

enum class InPlace { Missing, Verified, Corrupt };

// The full check, for an archive without a valid marker (a crash between
// rename and marker, a racy marker, a corrupt file). Hashes it: when it
// matches, writes a fresh marker (Verified); when not, removes the archive
// and its marker (Corrupt). The caller holds the package's lock.
InPlace verify_in_place(const CachePaths& paths, const PackageRecord& record);

// Removes what killed processes left in `dir`: unlocked ".tmp-*" files
// (registry::remove_abandoned_temp) and "*.link" files whose package lock
// is free. Never touches anything a live process is using.
void remove_abandoned(const std::filesystem::path& dir);

}  // namespace envbuild::builder::conda
