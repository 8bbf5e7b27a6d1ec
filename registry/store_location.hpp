#pragma once
// Turns what a user types for an image location into a Store and the tag or
// digest inside it:
//   oci:DIR[:TAG|@DIGEST]   an OCI image layout directory
//   docker://REF            a registry reference, always
//   local:NAME[:TAG]        a name in the default local store, always
//   REF                     a registry reference when its first component
//                           looks like a host (has '.' or ':' or is
//                           localhost), else a name in the default store.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/store.hpp"

namespace envbuild::registry {

struct LocationOptions {
  std::filesystem::path default_store_dir;  // the embedded default store
  std::vector<std::string> insecure_registries;
  // Registry host -> "MIRROR_HOST[/PATH_PREFIX]": references to the host are
  // served from the mirror (air-gapped sites, pull-through caches, tests);
  // messages keep naming the original reference.
  std::map<std::string, std::string> registry_mirrors;
  std::optional<std::filesystem::path> docker_config_dir;
  bool verbose = false;
};

struct StoreLocation {
  std::unique_ptr<Store> store;
  // Tag or "sha256:..." to read; empty when the text named no tag or digest
  // (the caller decides: "latest" when reading, none when writing).
  std::string ref;
  std::optional<std::string> tag;  // the tag named, if any
  std::string display;             // for messages and --json
  bool is_registry = false;
};

StoreLocation open_location(std::string_view text, const LocationOptions& options);

// Parses "REGISTRY=MIRROR[,REGISTRY=MIRROR...]" (the --registry-mirror flag
// and ENVBUILD_REGISTRY_MIRRORS) into `mirrors`; Error(BadInput) naming the
// entry when malformed.
void add_registry_mirrors(std::string_view text, std::map<std::string, std::string>& mirrors);

}  // namespace envbuild::registry
