#pragma once
// Reads an OCI layer as a list of entries without writing anything: for
// callers that need a few facts from an image (which glibc a base has)
// rather than its tree. Paths are normalized as apply_layer normalizes them
// ("./" and leading '/' dropped, ".." refused); whiteouts are reported as
// such; the stream is bounded like apply_layer's.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "registry/blob_io.hpp"

namespace envbuild::registry {

struct ScannedEntry {
  enum class Type { File, Directory, Symlink, Hardlink, Whiteout, OpaqueWhiteout, Other };
  Type type = Type::Other;
  std::string path;         // for whiteouts: the path deleted (or the directory emptied)
  std::string link_target;  // symlinks (verbatim) and hardlinks (a layer path)
  uint64_t size = 0;        // files
  uint32_t mode = 0;        // permission bits
};

// Calls `visit` for every entry in order. For File entries `read(max)`
// returns up to `max` bytes of the content (once per entry; unread content
// is skipped). Throws Error(BadInput) naming `name` for malformed layers.
using ReadContent = std::function<std::string(uint64_t max_bytes)>;
void scan_layer(BlobReader& blob, std::string_view name,
                const std::function<void(const ScannedEntry&, const ReadContent&)>& visit,
                uint64_t max_uncompressed_bytes = uint64_t{64} << 30);

}  // namespace envbuild::registry
