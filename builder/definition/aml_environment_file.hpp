#pragma once
// Azure Machine Learning environment definitions (the CLI v2 YAML schema:
// name, version, description, tags, image, conda_file as a path or inline,
// build {path, dockerfile_path}, os_type, inference_config), plus the v1
// notions environment_variables, python.user_managed_dependencies and
// docker.base_image. Contradictions (image and build, conda_file with user
// managed dependencies, ...) are errors at the offending key.
#include <string>

#include "builder/definition/environment_definition.hpp"
#include "builder/definition/target_platform.hpp"
#include "builder/definition/yaml_fields.hpp"

namespace envbuild::builder {

// `base_dir`: where relative conda_file and build paths start (the
// definition's folder).
EnvironmentDefinition read_aml_environment(const YamlFile& file, const std::string& base_dir,
                                           const TargetPlatform& platform);

// Whether a parsed YAML mapping looks like an Azure ML definition rather
// than an environment.yml (it has a key only Azure ML uses).
bool looks_like_aml_environment(const YAML::Node& root);

}  // namespace envbuild::builder
