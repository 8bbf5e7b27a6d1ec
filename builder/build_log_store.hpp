#pragma once
// Build logs in the store: an OCI artifact manifest (artifactType
// application/vnd.envbuild.build-log.v1) whose one layer is the log text
// and whose subject is the image, tagged "env-<spec hash>.log" so it sits
// next to the image's own cache tag and registry GC keeps it.
#include <optional>
#include <string>
#include <string_view>

#include "registry/descriptor.hpp"
#include "registry/store.hpp"

namespace envbuild::builder {

inline constexpr std::string_view kBuildLogArtifactType = "application/vnd.envbuild.build-log.v1";

std::string build_log_tag(const std::string& spec_hash);

// Writes the log; returns its tag.
std::string store_build_log(registry::Store& store, const registry::Descriptor& image,
                            const std::string& spec_hash, const std::string& text);

// The last stored log of a spec hash, verified; nullopt when there is none.
std::optional<std::string> read_build_log(registry::Store& store, const std::string& spec_hash);

}  // namespace envbuild::builder
