#pragma once
// The image manifest (OCI, or Docker schema 2) as a type. Parsing keeps the
// original bytes: a manifest's digest is the hash of its bytes, so an
// unmodified manifest is always written back exactly as it was read.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "registry/descriptor.hpp"
#include "registry/store.hpp"

namespace envbuild::registry {

struct ImageManifest {
  std::string media_type;  // kOciManifest or kDockerManifest
  std::string artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;

  // Validates schemaVersion 2 and every descriptor; errors name the manifest
  // digest and the field.
  static ImageManifest parse(const ManifestBytes& manifest);
  // Canonical compact bytes (OCI field order), stable across runs. For a
  // parsed, unmodified manifest, returns the original bytes.
  ManifestBytes to_bytes() const;

 private:
  std::optional<ManifestBytes> original_;
  nlohmann::ordered_json unknown_;  // fields we don't model, kept on rewrite
  bool unchanged_since_parse() const;
};

}  // namespace envbuild::registry
