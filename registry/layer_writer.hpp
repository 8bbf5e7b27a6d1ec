#pragma once
// Reproducible OCI layers. The same input gives the same bytes on any machine:
// entries sorted component-wise by path, PAX restricted tar (ustar headers,
// PAX records only for long names or big sizes, never for times), uid/gid 0
// with empty names, mtime pinned to the source date epoch, no atime/ctime,
// gzip/zstd driven directly with fixed settings. One pass over the data
// computes both the blob digest and the DiffID.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/descriptor.hpp"
#include "registry/digest.hpp"

namespace envbuild::registry {

struct LayerOptions {
  enum class Compression { Gzip, Zstd, None };
  Compression compression = Compression::Gzip;
  int level = -1;  // < 0: the compressor's default (gzip 6, zstd 3)
  int64_t source_date_epoch = 0;
  // false: every mtime is source_date_epoch; true: min(entry mtime, epoch).
  bool clamp_mtime = false;
};

struct LayerInfo {
  Descriptor blob;  // media type, digest and size of the compressed blob
  Digest diff_id;   // sha256 of the uncompressed tar
  uint64_t uncompressed_size = 0;
  uint64_t entry_count = 0;
};

// Parses a SOURCE_DATE_EPOCH value (decimal seconds >= 0). nullptr or empty
// gives 0; anything else throws Error(BadInput) naming SOURCE_DATE_EPOCH.
// Callers pass std::getenv("SOURCE_DATE_EPOCH").
int64_t source_date_epoch_from_env(const char* value);

// The OCI media type for a compression.
std::string_view layer_media_type(LayerOptions::Compression compression);

struct LayerEntry {
  enum class Type { File, Directory, Symlink, Hardlink, Whiteout, OpaqueWhiteout };
  Type type = Type::File;
  // Relative layer path ("usr/bin/x"); normalized on write ("./" and "//"
  // dropped), "..", absolute paths and names starting with ".wh." refused.
  // For Whiteout: the path being deleted (stored as "dir/.wh.NAME"). For
  // OpaqueWhiteout: the directory being emptied ("" for the layer root).
  std::string path;
  uint32_t mode = 0644;  // permission bits (07777); ignored for links and whiteouts
  // File content: from `source` on disk when set, else the bytes in `content`.
  std::filesystem::path source;
  std::string content;
  // Symlink: the target, stored verbatim. Hardlink: the layer path of another
  // File entry of this layer (whichever sorts first carries the data).
  std::string link_target;
  // Used only with clamp_mtime; absent means the epoch.
  std::optional<int64_t> mtime;

  static LayerEntry file(std::string path, std::filesystem::path source, uint32_t mode = 0644);
  static LayerEntry bytes(std::string path, std::string content, uint32_t mode = 0644);
  static LayerEntry directory(std::string path, uint32_t mode = 0755);
  static LayerEntry symlink(std::string path, std::string target);
  static LayerEntry hardlink(std::string path, std::string target);
  static LayerEntry whiteout(std::string deleted_path);
  static LayerEntry opaque_whiteout(std::string directory);
};

// Writes the entries as a layer blob at `output` (temp file + rename).
// Duplicate paths and dangling hardlinks throw Error(BadInput).
LayerInfo write_layer(std::vector<LayerEntry> entries, const std::filesystem::path& output,
                      const LayerOptions& options);

// Walks `root` (not following symlinks) and writes everything under it. Modes
// are normalized so umask does not leak in: files 0644, or 0755 when the
// owner-exec bit is set; directories 0755; symlinks 0777. Files sharing an
// inode become tar hardlinks. Sockets, fifos and devices, and names starting
// with ".wh.", throw Error(BadInput) naming the path.
LayerInfo write_layer_from_directory(const std::filesystem::path& root,
                                     const std::filesystem::path& output,
                                     const LayerOptions& options);

// Component-wise path order (a directory sorts right before its children);
// exposed for callers that build entry lists and for tests.
bool layer_path_less(std::string_view a, std::string_view b);

}  // namespace envbuild::registry
