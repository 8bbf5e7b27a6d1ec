#pragma once
// Descriptor <-> JSON, and the generic walk from a manifest to the content it
// references, which copy, verify and gc all need regardless of manifest type.
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "registry/descriptor.hpp"
#include "registry/store.hpp"

namespace envbuild::registry {

// Parses a descriptor object; `where` names it in errors ("layers[2]").
// Throws Error(BadInput) on missing/mistyped fields or a bad digest.
Descriptor descriptor_from_json(const nlohmann::json& j, std::string_view where);
// Serializes with the OCI field order (mediaType, artifactType, digest, size,
// urls, annotations, platform); empty optional fields are omitted.
nlohmann::ordered_json descriptor_to_json(const Descriptor& d);

// Parses manifest bytes as JSON, bounded and with a clear error naming `where`.
nlohmann::json parse_manifest_json(std::string_view bytes, std::string_view where);

// Determines the media type of manifest bytes: the "mediaType" field when
// present, else inferred from shape (manifests -> OCI index, config -> OCI
// manifest). `fallback` (e.g. a Content-Type header) wins when non-empty and
// the field is absent.
std::string detect_manifest_media_type(const nlohmann::json& j, std::string_view fallback = {});

// What a manifest references. Index: its child manifests. Image manifest:
// config then layers. Both: the subject, if any (not followed by copy).
struct ManifestChildren {
  std::vector<Descriptor> manifests;  // children of an index
  std::vector<Descriptor> blobs;      // config + layers of an image manifest
  std::optional<Descriptor> subject;
};
ManifestChildren manifest_children(const ManifestBytes& manifest);

}  // namespace envbuild::registry
