#pragma once
// The catalog of curated environments: versioned definitions shipped with
// envbuild (curated/*.yml, Azure ML environment YAML), addressed as
// curated:NAME[:VERSION] (the highest version when none is given). Images
// built from them are published under tags of their own, so names starting
// with "curated" are reserved: a user definition may not take one.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/curated/curated_files.hpp"

namespace envbuild::builder {

struct CuratedEnvironment {
  std::string name;
  std::string version;  // decimal
  std::string description;
  std::string file_name;  // in curated/
  std::string_view text;  // the YAML

  std::string reference() const { return "curated:" + name + ":" + version; }
  // Tags a published image carries: "curated-NAME-vVERSION" and "curated-NAME".
  std::string versioned_tag() const { return "curated-" + name + "-v" + version; }
  std::string latest_tag() const { return "curated-" + name; }
};

class CuratedCatalog {
 public:
  // Reads name, version and description of each file; a malformed shipped
  // file is Error(Internal) naming it (tests keep that from happening).
  explicit CuratedCatalog(const std::vector<EmbeddedFile>& files);
  static const CuratedCatalog& builtin();

  // Every environment, by name, each version ascending.
  const std::vector<CuratedEnvironment>& all() const { return entries_; }
  // The highest version of each name.
  std::vector<const CuratedEnvironment*> latest() const;
  // "curated:NAME[:VERSION]" or "NAME[:VERSION]"; Error(NotFound) naming the
  // known environments when absent.
  const CuratedEnvironment& find(std::string_view reference) const;

 private:
  std::vector<CuratedEnvironment> entries_;
};

// True for names the catalog reserves ("curated", "curated-x", "Curated_x",
// "curated:x", ...).
bool is_reserved_curated_name(std::string_view name);

}  // namespace envbuild::builder
