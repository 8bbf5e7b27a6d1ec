#include "registry/manifest.hpp"

#include "registry/descriptor_json.hpp"
#include "registry/error.hpp"
#include "registry/media_types.hpp"

namespace envbuild::registry {

namespace {

bool same_descriptor(const Descriptor& a, const Descriptor& b) {
  return a.media_type == b.media_type && a.digest == b.digest && a.size == b.size &&
         a.urls == b.urls && a.annotations == b.annotations && a.platform == b.platform &&
         a.artifact_type == b.artifact_type;
}

}  // namespace

ImageManifest ImageManifest::parse(const ManifestBytes& manifest) {
  std::string where = "manifest " + manifest.digest.str();
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(manifest.bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error(ErrorKind::BadInput, where + ": not a JSON object");
  auto sv = j.find("schemaVersion");
  if (sv == j.end() || !sv->is_number_integer() || sv->get<int>() != 2) {
    throw Error(ErrorKind::BadInput, where + ": schemaVersion must be 2");
  }
  ImageManifest m;
  nlohmann::json plain = nlohmann::json::parse(manifest.bytes);
  m.media_type = detect_manifest_media_type(plain, manifest.media_type);
  if (!media::is_image_manifest(m.media_type)) {
    throw Error(ErrorKind::BadInput, where + ": not an image manifest (" + m.media_type + ")");
  }
  auto children = manifest_children(ManifestBytes{m.media_type, manifest.bytes, manifest.digest});
  m.config = children.blobs.front();
  m.layers.assign(children.blobs.begin() + 1, children.blobs.end());
  m.subject = children.subject;
  if (auto it = plain.find("artifactType"); it != plain.end() && it->is_string())
    m.artifact_type = *it;
  if (auto it = plain.find("annotations"); it != plain.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string())
        throw Error(ErrorKind::BadInput, where + ": annotation '" + k + "' must be a string");
      m.annotations[k] = v.get<std::string>();
    }
  }
  for (const auto& [k, v] : j.items()) {
    if (k != "schemaVersion" && k != "mediaType" && k != "artifactType" && k != "config" &&
        k != "layers" && k != "subject" && k != "annotations") {
      m.unknown_[k] = v;
    }
  }
  m.original_ = manifest;
  return m;
}

bool ImageManifest::unchanged_since_parse() const {
  if (!original_) return false;
  ImageManifest again = parse(*original_);
  if (again.media_type != media_type || again.artifact_type != artifact_type ||
      !same_descriptor(again.config, config) || again.layers.size() != layers.size() ||
      again.annotations != annotations || again.subject.has_value() != subject.has_value()) {
    return false;
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!same_descriptor(again.layers[i], layers[i])) return false;
  }
  return !subject || same_descriptor(*again.subject, *subject);
}

ManifestBytes ImageManifest::to_bytes() const {
  if (unchanged_since_parse()) return *original_;
  nlohmann::ordered_json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = media_type;
  if (!artifact_type.empty()) j["artifactType"] = artifact_type;
  j["config"] = descriptor_to_json(config);
  nlohmann::ordered_json l = nlohmann::ordered_json::array();
  for (const auto& d : layers) l.push_back(descriptor_to_json(d));
  j["layers"] = l;
  if (subject) j["subject"] = descriptor_to_json(*subject);
  if (!annotations.empty()) {
    nlohmann::ordered_json a = nlohmann::ordered_json::object();
    for (const auto& [k, v] : annotations) a[k] = v;
    j["annotations"] = a;
  }
  for (const auto& [k, v] : unknown_.items()) j[k] = v;
  ManifestBytes out;
  out.media_type = media_type;
  out.bytes = j.dump();
  out.digest = Digest::sha256_of(out.bytes);
  return out;
}

}  // namespace envbuild::registry
