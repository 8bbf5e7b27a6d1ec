#pragma once
// conda environment.yml files (CEP 24): name, channels, dependencies (with
// a `pip:` subsection and sel() entries), variables, and the optional
// prefix, platforms and category. Stricter than conda: unknown keys and
// unknown dependency subsections are errors, since a silently dropped key
// would build a different environment than the user wrote.
#include <string>

#include "builder/definition/environment_definition.hpp"
#include "builder/definition/target_platform.hpp"
#include "builder/definition/yaml_fields.hpp"

namespace envbuild::builder {

// Reads a whole environment.yml (comment selectors applied first).
EnvironmentDefinition read_conda_environment_file(const std::string& path,
                                                  const TargetPlatform& platform);

// Adds the contents of an environment.yml document at `node` (a whole file,
// or an Azure ML inline conda_file) to `def`. `name_is_identity`: false
// when an enclosing definition has its own name.
void add_conda_environment(const YamlFile& file, const YAML::Node& node,
                           const TargetPlatform& platform, EnvironmentDefinition& def,
                           bool take_name);

}  // namespace envbuild::builder
