#pragma once
// The curated environment definitions shipped inside the binary: the YAML
// files of the repository's curated/ folder, embedded at build time (CMake
// generates the definition of curated_files()), so the catalog is the same
// wherever envbuild runs.
#include <string_view>
#include <vector>

namespace envbuild::builder {

struct EmbeddedFile {
  std::string_view name;  // e.g. "sklearn-1.5.yml"
  std::string_view text;
};

const std::vector<EmbeddedFile>& curated_files();

}  // namespace envbuild::builder
