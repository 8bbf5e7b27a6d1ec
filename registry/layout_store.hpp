#pragma once
// A Store over an OCI image layout directory (image-spec "image-layout"):
//   DIR/oci-layout          {"imageLayoutVersion":"1.0.0"}
//   DIR/index.json          the roots; tags are their
//                           org.opencontainers.image.ref.name annotations
//   DIR/blobs/<alg>/<hex>   content-addressed blobs
//   DIR/.lock               flock serializing index.json writers and gc
// so `skopeo copy oci:DIR:TAG ...` reads what we write.
//
// Crash and concurrency rules: blobs and index.json are only ever replaced
// by rename of an fsynced temp file (atomic_file.hpp), so readers need no
// lock and a killed writer leaves at most an abandoned temp file. index.json
// is read-modify-written under an exclusive flock on DIR/.lock. Blob writes
// take no lock: identical concurrent writes rename identical bytes.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/file_lock.hpp"
#include "registry/store.hpp"

namespace envbuild::registry {

inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";

// The image-spec grammar for ref.name values:
//   ref ::= component ("/" component)*; component ::= alphanum (separator alphanum)*
//   alphanum ::= [A-Za-z0-9]+; separator ::= [-._:@+] | "--"
// e.g. "v1" or "team/env:v1". Bounded to 1024 characters.
bool is_valid_ref_name(std::string_view name);

class LayoutStore : public Store {
 public:
  // Opens the layout at `dir`, creating it if missing. Throws
  // Error(BadInput) naming the path if `dir` holds something else or a
  // malformed oci-layout or index.json.
  explicit LayoutStore(std::filesystem::path dir);

  std::string describe() const override;
  std::optional<int64_t> stat_blob(const Digest& digest) override;
  std::unique_ptr<BlobReader> open_blob(const Descriptor& descriptor) override;
  void put_blob(const Descriptor& descriptor, BlobReader& content) override;
  ManifestBytes get_manifest(std::string_view tag_or_digest) override;
  std::optional<ManifestBytes> find_manifest(std::string_view tag_or_digest) override;
  Digest put_manifest(const ManifestBytes& manifest, std::optional<std::string> tag) override;
  std::vector<std::string> list_tags() override;

  // For maintenance (verify, gc) and tests.
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path blobs_dir() const { return dir_ / "blobs"; }
  std::filesystem::path blob_path(const Digest& digest) const;
  std::filesystem::path index_path() const { return dir_ / "index.json"; }
  // The descriptors listed in index.json; throws Error(BadInput) naming the
  // file when it is malformed.
  std::vector<Descriptor> index_entries() const;
  // Reads and verifies a manifest blob; nullopt when the blob is absent.
  // `media_type` wins when non-empty, else it is detected from the bytes.
  std::optional<ManifestBytes> read_manifest_blob(const Digest& digest,
                                                  std::string_view media_type = {}) const;
  // The exclusive lock that index.json writers and gc hold.
  FileLock lock() const;

 private:
  void create_or_adopt();
  std::optional<ManifestBytes> lookup(std::string_view tag_or_digest);

  std::filesystem::path dir_;
};

}  // namespace envbuild::registry
