#pragma once
// Archive writing for the conda channel fixtures, through libarchive: tar
// (pax, uncompressed, zstd or bzip2), stored zip, and single-stream zstd or
// bzip2. Entries are written in the order given with uid/gid 0, no owner
// names and one fixed mtime, so the same input gives the same bytes.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace envbuild::testing {

enum class ArchiveCompression { None, Zstd, Bzip2 };

struct ArchiveMember {
  enum class Type { File, Symlink, Directory };
  std::string path;
  std::string content;  // File only
  mode_t mode = 0644;
  Type type = Type::File;
  std::string link_target;  // Symlink only
};

std::string write_tar(const std::vector<ArchiveMember>& members, ArchiveCompression compression,
                      int64_t mtime = 0, int zstd_level = 3);

// A zip whose members are stored (not compressed), as .conda requires, with
// no data descriptors (as conda-package-handling writes them).
std::string write_stored_zip(const std::vector<std::pair<std::string, std::string>>& members,
                             int64_t mtime = 0);

// One compressed stream (repodata.json.zst, .bz2).
std::string compress_bytes(const std::string& data, ArchiveCompression compression,
                           int zstd_level = 3);

// Lowercase hex digests.
std::string sha256_hex(const std::string& data);
std::string md5_hex(const std::string& data);

}  // namespace envbuild::testing
