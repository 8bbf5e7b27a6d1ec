#pragma once
// The lock: what a definition resolved to. The base image by digest (a
// moved tag changes the lock), and the exact packages once the package
// installers resolve them. The image content follows from the canonical
// definition and the lock alone, so equal lock hashes mean equal images.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "registry/digest.hpp"

namespace envbuild::builder {

struct LockedPackage {
  std::string manager;  // "conda" or "pip"
  std::string name;
  std::string version;
  std::string build;    // conda build string
  std::string channel;  // canonical channel URL (credentials stripped)
  std::string subdir;   // "linux-64", "noarch"
  std::string url;      // credentials stripped
  std::string sha256;
  std::string md5;      // only when the channel gives no sha256
  uint64_t size = 0;
};

struct EnvironmentLock {
  static constexpr int kVersion = 1;
  std::string spec_hash;
  std::string platform;          // "linux/amd64"
  std::string base_reference;    // normalized; "scratch" for none
  registry::Digest base_digest;  // the platform's image manifest; empty for scratch
  std::vector<LockedPackage> packages;

  nlohmann::json to_json() const;
  static EnvironmentLock from_json(const nlohmann::json& j, const std::string& where);
  // sha256 hex of to_json().dump().
  std::string hash() const;
};

}  // namespace envbuild::builder
