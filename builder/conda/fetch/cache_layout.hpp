#pragma once
// Names inside the package cache directory. Every package gets names of its
// own derived from its content digest, so two channels serving different
// files under one file name (a rebuilt package, a fork, a mirror gone
// stale) never overwrite each other, and a process never extracts bytes
// another one put there for a different record:
//
//   <stem>.<key><ext>            the archive ("numpy-1.26.4-py311h_0.s3f1a...c2.conda")
//   <stem>.<key><ext>.verified   the verification marker (verification_marker.hpp)
//   <stem>.<key><ext>.lock       the per-package flock (package_cache.hpp)
//   <stem>.<key><ext>.link       a hardlink being placed (file:// channels)
//   <stem>.<key>/                where an extractor puts the contents
//   .tmp-<hex>                   downloads in flight (registry/atomic_file.hpp)
//
// <ext> is ".conda" or ".tar.bz2"; <key> is "s" and the first 16 hex digits
// of the record's sha256, else "m" and 16 of its md5, else (no digest at
// all) "u" and 16 of the SHA-256 of its URL shown without credentials.
#include <filesystem>
#include <string>
#include <string_view>

#include "builder/conda/package_record.hpp"

namespace envbuild::builder::conda {

struct CachePaths {
  std::filesystem::path archive;
  std::filesystem::path marker;
  std::filesystem::path lock;
  std::filesystem::path link_temp;
  std::filesystem::path extracted;
};

// The record's file name, or the last segment of its URL (percent-decoded)
// when the record has none. Throws Error(BadInput) naming the package when
// the name could escape the cache directory (a '/', "..", a leading '.'),
// is over 200 bytes, or is not a .conda or .tar.bz2 archive.
std::string archive_file_name(const PackageRecord& record);

// Throws Error(BadInput) naming the package when its sha256 or md5 is
// present but not hex of the right length.
void check_record_digests(const PackageRecord& record);

// "s…", "m…" or "u…" as described above.
std::string cache_key(const PackageRecord& record);

// All names of `record` under `dir`; validates as the functions above do.
CachePaths cache_paths(const std::filesystem::path& dir, const PackageRecord& record);

// A link_temp name: "*.conda.link" or "*.tar.bz2.link".
bool is_link_temp_name(std::string_view file_name);

}  // namespace envbuild::builder::conda
