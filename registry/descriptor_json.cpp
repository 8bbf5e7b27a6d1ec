#include "registry/descriptor_json.hpp"

#include "registry/error.hpp"
#include "registry/media_types.hpp"

namespace envbuild::registry {

namespace {

[[noreturn]] void bad(std::string_view where, const std::string& what) {
  throw Error(ErrorKind::BadInput, std::string(where) + ": " + what);
}

std::string string_field(const nlohmann::json& j, const char* key, std::string_view where,
                         bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) bad(where, std::string("missing field '") + key + "'");
    return {};
  }
  if (!it->is_string()) bad(where, std::string("field '") + key + "' must be a string");
  return it->get<std::string>();
}

Platform platform_from_json(const nlohmann::json& j, std::string_view where) {
  if (!j.is_object()) bad(where, "platform must be an object");
  Platform p;
  p.architecture = string_field(j, "architecture", where, true);
  p.os = string_field(j, "os", where, true);
  p.variant = string_field(j, "variant", where, false);
  p.os_version = string_field(j, "os.version", where, false);
  if (auto it = j.find("os.features"); it != j.end()) {
    if (!it->is_array()) bad(where, "os.features must be an array");
    for (const auto& f : *it) {
      if (!f.is_string()) bad(where, "os.features entries must be strings");
      p.os_features.push_back(f.get<std::string>());
    }
  }
  return p;
}

}  // namespace

Descriptor descriptor_from_json(const nlohmann::json& j, std::string_view where) {
  if (!j.is_object()) bad(where, "descriptor must be an object");
  Descriptor d;
  d.media_type = string_field(j, "mediaType", where, true);
  std::string digest = string_field(j, "digest", where, true);
  if (!Digest::try_parse(digest, d.digest))
    bad(where, "invalid digest '" + digest.substr(0, 200) + "'");
  auto size = j.find("size");
  if (size == j.end()) bad(where, "missing field 'size'");
  if (!size->is_number_integer() || size->get<int64_t>() < 0)
    bad(where, "field 'size' must be a non-negative integer");
  d.size = size->get<int64_t>();
  if (auto it = j.find("urls"); it != j.end()) {
    if (!it->is_array()) bad(where, "urls must be an array");
    for (const auto& u : *it) {
      if (!u.is_string()) bad(where, "urls entries must be strings");
      d.urls.push_back(u.get<std::string>());
    }
  }
  if (auto it = j.find("annotations"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) bad(where, "annotations must be an object");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) bad(where, "annotation '" + k + "' must be a string");
      d.annotations[k] = v.get<std::string>();
    }
  }
  if (auto it = j.find("platform"); it != j.end()) d.platform = platform_from_json(*it, where);
  d.artifact_type = string_field(j, "artifactType", where, false);
  return d;
}

nlohmann::ordered_json descriptor_to_json(const Descriptor& d) {
  nlohmann::ordered_json j;
  j["mediaType"] = d.media_type;
  if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (!d.annotations.empty()) {
    nlohmann::ordered_json a = nlohmann::ordered_json::object();
    for (const auto& [k, v] : d.annotations) a[k] = v;
    j["annotations"] = a;
  }
  if (d.platform) {
    nlohmann::ordered_json p;
    p["architecture"] = d.platform->architecture;
    p["os"] = d.platform->os;
    if (!d.platform->os_version.empty()) p["os.version"] = d.platform->os_version;
    if (!d.platform->os_features.empty()) p["os.features"] = d.platform->os_features;
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    j["platform"] = p;
  }
  return j;
}

nlohmann::json parse_manifest_json(std::string_view bytes, std::string_view where) {
  if (bytes.size() > kMaxManifestBytes) {
    bad(where, "manifest of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                   std::to_string(kMaxManifestBytes));
  }
  nlohmann::json j = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) bad(where, "not valid JSON");
  if (!j.is_object()) bad(where, "manifest must be a JSON object");
  return j;
}

std::string detect_manifest_media_type(const nlohmann::json& j, std::string_view fallback) {
  if (auto it = j.find("mediaType"); it != j.end() && it->is_string())
    return it->get<std::string>();
  if (!fallback.empty()) return std::string(fallback);
  if (j.contains("manifests")) return std::string(media::kOciIndex);
  if (j.contains("config") || j.contains("layers")) return std::string(media::kOciManifest);
  return {};
}

ManifestChildren manifest_children(const ManifestBytes& manifest) {
  std::string where = "manifest " + manifest.digest.str();
  nlohmann::json j = parse_manifest_json(manifest.bytes, where);
  std::string mt =
      manifest.media_type.empty() ? detect_manifest_media_type(j) : manifest.media_type;
  ManifestChildren out;
  if (media::is_index(mt)) {
    auto it = j.find("manifests");
    if (it == j.end() || !it->is_array()) bad(where, "index has no 'manifests' array");
    size_t i = 0;
    for (const auto& m : *it) {
      out.manifests.push_back(
          descriptor_from_json(m, where + " manifests[" + std::to_string(i++) + "]"));
    }
  } else if (media::is_image_manifest(mt)) {
    auto config = j.find("config");
    if (config == j.end()) bad(where, "image manifest has no 'config'");
    out.blobs.push_back(descriptor_from_json(*config, where + " config"));
    if (auto it = j.find("layers"); it != j.end()) {
      if (!it->is_array()) bad(where, "'layers' must be an array");
      size_t i = 0;
      for (const auto& l : *it) {
        out.blobs.push_back(
            descriptor_from_json(l, where + " layers[" + std::to_string(i++) + "]"));
      }
    }
  } else {
    bad(where, "unsupported manifest media type '" + mt + "'");
  }
  if (auto it = j.find("subject"); it != j.end() && !it->is_null()) {
    out.subject = descriptor_from_json(*it, where + " subject");
  }
  return out;
}

}  // namespace envbuild::registry
