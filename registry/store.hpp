#pragma once
// The one interface that builder, snapshot and the CLI talk to. Two
// implementations: LayoutStore (an OCI image layout directory, the embedded
// default) and RegistryStore (one repository on a registry, over the
// distribution API). A Store is bound to one repository; a LayoutStore's
// "tags" are the org.opencontainers.image.ref.name values in its index.json.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/blob_io.hpp"
#include "registry/descriptor.hpp"
#include "registry/digest.hpp"

namespace envbuild::registry {

// Manifests travel as exact bytes: their digest is the hash of those bytes,
// so nothing between registry and caller may re-serialize them.
struct ManifestBytes {
  std::string media_type;
  std::string bytes;
  Digest digest;  // sha256 of bytes
};

// Upper bound on a manifest we accept (registries cap near 4 MiB).
inline constexpr uint64_t kMaxManifestBytes = 4 * 1024 * 1024;

class Store {
 public:
  virtual ~Store() = default;

  // Human-readable location, e.g. "oci:/path:tag" or "host/repo"; never
  // contains credentials.
  virtual std::string describe() const = 0;

  // Size of the blob if present.
  virtual std::optional<int64_t> stat_blob(const Digest& digest) = 0;
  bool has_blob(const Digest& digest) { return stat_blob(digest).has_value(); }

  // Opens a blob for reading. The returned reader verifies digest and size
  // when read to the end. Throws Error(NotFound) if absent.
  virtual std::unique_ptr<BlobReader> open_blob(const Descriptor& descriptor) = 0;

  // Stores a blob read from `content`; the store checks the digest and size
  // against `descriptor` and refuses (leaving nothing behind) on mismatch.
  virtual void put_blob(const Descriptor& descriptor, BlobReader& content) = 0;

  // Makes a blob from another repository of the same registry available
  // without transferring it. Returns false when unsupported or refused (the
  // caller then copies the bytes).
  virtual bool mount_blob(const Descriptor& /*descriptor*/, std::string_view /*from_repository*/) {
    return false;
  }

  // Fetches a manifest by tag or by digest ("sha256:..."); verifies the
  // digest of the bytes. Throws Error(NotFound) if absent.
  virtual ManifestBytes get_manifest(std::string_view tag_or_digest) = 0;

  // Like get_manifest but returns nullopt when absent.
  virtual std::optional<ManifestBytes> find_manifest(std::string_view tag_or_digest) = 0;

  // Stores manifest bytes, under `tag` when given (by digest otherwise).
  // Returns the manifest digest.
  virtual Digest put_manifest(const ManifestBytes& manifest, std::optional<std::string> tag) = 0;

  virtual std::vector<std::string> list_tags() = 0;

  // For a registry store, "host/repository" (used to decide cross-repository
  // mounts); empty for other stores.
  virtual std::string registry_repository() const { return {}; }
};

}  // namespace envbuild::registry
