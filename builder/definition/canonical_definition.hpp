#pragma once
// The identity of an environment: the canonical form of a definition and
// its SHA-256, the spec hash. Keys are sorted; package lists are sorted and
// deduplicated (their order does not change a solve); channel order is
// kept (it is priority); name, version, description, tags and the source
// file are left out; the base reference, variables, platform and the
// builder format version are in. A cache hit on `env-<spec hash>` means
// "this definition was built before".
#include <nlohmann/json.hpp>
#include <string>

#include "builder/definition/environment_definition.hpp"

namespace envbuild::builder {

// Bumped whenever the same definition would build a different image (layer
// format, compressor settings, metadata layout): old cache tags then miss.
inline constexpr int kBuilderFormatVersion = 1;

// The base image when a definition names none: a small Debian 12 with
// glibc 2.36, which conda-forge's linux-64 packages need.
inline constexpr const char* kDefaultBaseImage = "docker.io/library/debian:12-slim";

// `image:` text as a location: "scratch" (the empty image), "local:..." and
// "oci:..." stay as they are;
// anything else is a registry reference in docker's normalized form
// ("ubuntu:22.04" -> "docker.io/library/ubuntu:22.04"). Error(BadInput) for
// a malformed reference.
std::string normalize_base_reference(const std::string& text);

// The base a build of `def` starts from (normalized); `default_base` when
// the definition names none.
std::string effective_base(const EnvironmentDefinition& def, const std::string& default_base);

nlohmann::json canonical_definition(const EnvironmentDefinition& def, const std::string& base);
// sha256 hex of canonical_definition(def, base).dump().
std::string spec_hash(const EnvironmentDefinition& def, const std::string& base);

}  // namespace envbuild::builder
