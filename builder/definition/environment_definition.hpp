#pragma once
// An environment definition as the builder sees it, whatever file it came
// from (conda environment.yml, an Azure ML environment YAML, requirements.txt
// or a curated environment). Parsers fill it; canonical_definition.hpp turns
// the identity fields into the spec hash.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace envbuild::builder {

// An Azure ML `build:` section: a Docker build context. Parsed and hashed
// now; built by the Dockerfile path of the builder.
struct BuildContext {
  std::string path;             // absolute, as resolved against the definition's folder
  std::string dockerfile_path;  // relative to `path`; default "Dockerfile"
  std::string content_hash;     // sha256 hex over the context's names, modes and bytes
};

struct EnvironmentDefinition {
  // --- identity: everything here feeds the spec hash ---
  std::optional<std::string> base_image;    // as written; none: the builder's default
  std::vector<std::string> channels;        // priority order, as written
  std::vector<std::string> conda_packages;  // MatchSpec, canonical spelling
  std::vector<std::string> pip_packages;    // PEP 508, canonical spelling
  std::vector<std::string> pip_options;     // requirements.txt options (--index-url ...)
  // conda `variables:` (set on activation) and the image's own variables.
  std::map<std::string, std::string> variables;
  std::map<std::string, std::string> environment_variables;
  bool user_managed_dependencies = false;  // the base image brings its own packages
  std::optional<BuildContext> build;
  std::string platform = "linux/amd64";

  // --- description: not part of the identity ---
  std::string name;
  std::string version;
  std::string description;
  std::map<std::string, std::string> tags;
  std::string source;  // the file, or "curated:NAME:VERSION"
  std::string format;  // "conda", "azureml", "requirements", "curated"

  bool has_packages() const { return !conda_packages.empty() || !pip_packages.empty(); }
};

}  // namespace envbuild::builder
