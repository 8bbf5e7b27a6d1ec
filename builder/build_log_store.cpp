#include "builder/build_log_store.hpp"

#include "registry/blob_io.hpp"
#include "registry/error.hpp"
#include "registry/manifest.hpp"
#include "registry/media_types.hpp"

namespace envbuild::builder {

namespace {

constexpr uint64_t kMaxLogBytes = 64u << 20;
constexpr std::string_view kLogMediaType = "text/plain; charset=utf-8";
constexpr std::string_view kEmptyJson = "{}";

registry::Descriptor blob_of(std::string_view media_type, const std::string& bytes) {
  registry::Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = registry::Digest::sha256_of(bytes);
  d.size = static_cast<int64_t>(bytes.size());
  return d;
}

}  // namespace

std::string build_log_tag(const std::string& spec_hash) { return "env-" + spec_hash + ".log"; }

std::string store_build_log(registry::Store& store, const registry::Descriptor& image,
                            const std::string& spec_hash, const std::string& text) {
  const registry::Descriptor empty = blob_of(registry::media::kOciEmpty, std::string(kEmptyJson));
  const registry::Descriptor log = blob_of(kLogMediaType, text);
  for (const auto& [d, bytes] : {std::pair{empty, std::string(kEmptyJson)}, std::pair{log, text}}) {
    registry::MemoryBlobReader reader(bytes);
    store.put_blob(d, reader);
  }
  registry::ImageManifest manifest;
  manifest.media_type = std::string(registry::media::kOciManifest);
  manifest.artifact_type = std::string(kBuildLogArtifactType);
  manifest.config = empty;
  manifest.layers = {log};
  manifest.subject = image;
  const std::string tag = build_log_tag(spec_hash);
  store.put_manifest(manifest.to_bytes(), tag);
  return tag;
}

std::optional<std::string> read_build_log(registry::Store& store, const std::string& spec_hash) {
  const auto bytes = store.find_manifest(build_log_tag(spec_hash));
  if (!bytes) return std::nullopt;
  const registry::ImageManifest manifest = registry::ImageManifest::parse(*bytes);
  if (manifest.artifact_type != kBuildLogArtifactType || manifest.layers.size() != 1)
    throw Error(ErrorKind::BadInput, build_log_tag(spec_hash) + " is not an envbuild build log");
  auto reader = store.open_blob(manifest.layers.front());
  return registry::read_all(*reader, kMaxLogBytes);
}

}  // namespace envbuild::builder
