#pragma once
// Applies an OCI layer blob onto a root directory, as the image spec's
// changeset rules say: regular entries are created or replace what lower
// layers left, ".wh.NAME" deletes NAME from lower layers, ".wh..wh..opq"
// empties a directory of lower-layer content.
//
// The blob is hostile until proven otherwise:
// - entry paths that are absolute or contain ".." are refused;
// - nothing is ever written through a symlink: every path is walked from a
//   root directory fd with O_NOFOLLOW, and a symlink (or non-directory) in a
//   parent position is refused, whether this layer or a lower one made it;
// - hardlink targets follow the same rules (inside root, no "..", no symlink
//   parents); symlinks themselves are stored verbatim and never followed;
// - total uncompressed bytes and entry count are bounded.
// Sockets, fifos and devices are skipped and counted (we do not run as a
// privileged unpacker by design) unless create_special_files is set.
// Ownership is not applied (no chown); permission bits and mtimes are.
// All refusals throw Error(BadInput) naming the entry.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "registry/blob_io.hpp"
#include "registry/digest.hpp"

namespace envbuild::registry {

struct ApplyOptions {
  uint64_t max_uncompressed_bytes = uint64_t{64} << 30;  // 64 GiB of tar stream
  uint64_t max_entries = 4'000'000;
  // Create fifos and device nodes (mknod needs privileges for devices).
  bool create_special_files = false;
  // Keep setuid/setgid bits; off by default so an extracted tree never
  // carries set-id programs owned by the extracting user.
  bool keep_setid_bits = false;
  // Names the layer in error messages (e.g. its digest).
  std::string name = "layer";
};

struct ApplyStats {
  uint64_t entries = 0;            // tar entries read
  uint64_t bytes = 0;              // regular file content bytes written
  uint64_t uncompressed_size = 0;  // length of the tar stream
  uint64_t whiteouts = 0;          // whiteout entries applied (both kinds)
  uint64_t skipped_special = 0;    // fifos/devices/sockets not created
  Digest diff_id;                  // sha256 of the uncompressed tar
};

// `media_type` is an OCI or Docker layer type, or empty. The compression is
// taken from the blob's magic bytes (gzip, zstd, else plain tar), because
// mislabeled blobs exist in the wild; an unknown non-layer media type throws
// Error(BadInput). `root` must exist.
ApplyStats apply_layer(BlobReader& blob, std::string_view media_type,
                       const std::filesystem::path& root, const ApplyOptions& options = {});

// True for the layer media types apply_layer accepts.
bool is_layer_media_type(std::string_view media_type);

}  // namespace envbuild::registry
