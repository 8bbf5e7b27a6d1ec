#pragma once
// Copies an image, or an index with all its children, from one Store to
// another: blobs first (in parallel, skipping what the destination has,
// mounting across repositories of the same registry), then manifests, exact
// bytes, so every digest is kept.
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/descriptor.hpp"
#include "registry/store.hpp"

namespace envbuild::registry {

enum class BlobAction { Copied, Skipped, Mounted };

// Receives progress from the copy's worker threads; implementations must be
// thread-safe. Every method has a no-op default.
class TransferObserver {
 public:
  virtual ~TransferObserver() = default;
  virtual void planned(size_t /*blob_count*/, uint64_t /*total_bytes*/) {}
  virtual void transferred(uint64_t /*bytes*/) {}
  virtual void blob_done(const Descriptor& /*blob*/, BlobAction /*action*/) {}
};

struct CopyOptions {
  size_t parallel = 4;
  TransferObserver* observer = nullptr;
};

struct CopyResult {
  Digest digest;           // of the top-level manifest
  std::string media_type;  // of the top-level manifest
  uint64_t size = 0;       // of the top-level manifest
  size_t manifests = 0;    // manifests written (top level and children)
  size_t blobs_copied = 0;
  size_t blobs_skipped = 0;
  size_t blobs_mounted = 0;
  uint64_t bytes_copied = 0;
};

// `src_ref` is a tag or "sha256:..." digest in `src`; `dst_tag` is the tag to
// write (nullopt: stored by digest only).
CopyResult copy_image(Store& src, std::string_view src_ref, Store& dst,
                      const std::optional<std::string>& dst_tag, const CopyOptions& options = {});

// The blob part of a copy: each of `blobs` (unique by digest) that `dst`
// lacks is mounted from `src`'s repository when both are repositories of
// one registry, else copied; counts go to `result`. Manifests are the
// caller's.
void copy_blobs(Store& src, Store& dst, const std::vector<Descriptor>& blobs,
                const CopyOptions& options, CopyResult& result);

}  // namespace envbuild::registry
