#pragma once
// The verification marker: a small file beside a cached archive that says
// "this archive, as identified by its inode, size and mtime, was hashed
// and had these digests". It makes a cache hit cost one stat and one small
// read instead of hashing the archive again.
//
// A marker vouches for an archive only when all of these hold:
// - its sha256 equals the record's (or, for a record without sha256, its
//   md5 equals the record's md5), and its size the record's when known;
// - the archive's device, inode, size and mtime (ns) are the ones recorded;
// - the archive's mtime is older than the marker file's own mtime. This is
//   git's racy-entry rule: a write to the archive within the filesystem's
//   timestamp granularity of the verification would leave its mtime
//   unchanged. Downloaded archives get an mtime in the past for this reason
//   (package_cache.cpp), so they pass it at once.
// Anything else (no marker, unparsable, stale) means "hash it again", never
// "corrupt".
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "builder/conda/fetch/archive_digest.hpp"
#include "builder/conda/package_record.hpp"

namespace envbuild::builder::conda {

// What identifies one version of a file without reading it.
struct FileStamp {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

struct VerificationMarker {
  ArchiveDigests digests;
  FileStamp archive;
};

std::string format_marker(const VerificationMarker& marker);
// nullopt for anything format_marker would not have written.
std::optional<VerificationMarker> parse_marker(std::string_view text);

// The rules above. `marker_mtime_ns` is the marker file's own mtime.
bool marker_vouches(const VerificationMarker& marker, int64_t marker_mtime_ns,
                    const FileStamp& archive, const PackageRecord& record);

// lstat of `path` as a stamp; nullopt when it is missing or not a regular file.
std::optional<FileStamp> stamp_of(const std::filesystem::path& path);

// Reads the marker at `path` with its file's mtime; nullopt when it is
// missing or unreadable.
std::optional<std::pair<VerificationMarker, int64_t>> read_marker(
    const std::filesystem::path& path);

// Replaces the marker at `path` atomically.
void write_marker(const std::filesystem::path& path, const VerificationMarker& marker);

}  // namespace envbuild::builder::conda
