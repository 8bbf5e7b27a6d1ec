#pragma once
// An OCI content descriptor: what a manifest says about a blob.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "registry/digest.hpp"

namespace envbuild::registry {

struct Platform {
  std::string architecture;
  std::string os;
  std::string variant;
  std::string os_version;
  std::vector<std::string> os_features;
  friend bool operator==(const Platform&, const Platform&) = default;
};

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
  std::string artifact_type;
};

}  // namespace envbuild::registry
