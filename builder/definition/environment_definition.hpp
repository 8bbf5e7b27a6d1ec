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

// How conda packages are resolved: set by the command line, not the file,
// yet part of the identity, since each changes what gets installed.
struct CondaSettings {
  std::string subdir;               // empty: the target platform's (linux-64, ...)
  std::string channel_alias;        // empty: https://conda.anaconda.org
  std::string channel_priority;     // empty: strict
  std::string lock_sha256;          // --lock FILE: the file's content hash
  std::vector<std::string> pinned;  // --pin: canonical MatchSpecs, sorted
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
  CondaSettings conda;

  // --- description: not part of the identity ---
  std::string name;
  std::string version;
  std::string description;
  std::map<std::string, std::string> tags;
  std::string source;  // the file, or "curated:NAME:VERSION"
  std::string format;  // "conda", "azureml", "requirements", "curated"

  bool has_packages() const { return !conda_packages.empty() || !pip_packages.empty(); }
  bool installs_conda() const { return !conda_packages.empty() && !user_managed_dependencies; }
};

}  // namespace envbuild::builder
