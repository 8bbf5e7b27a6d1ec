#pragma once
// requirements.txt as a definition's pip list (pip's file format): one
// requirement per line, comments, backslash continuations, -r/--requirement
// includes (relative to the including file, cycles refused), and the
// options that change what gets installed (--index-url, --extra-index-url,
// --find-links, --pre, --only-binary, --no-binary, --prefer-binary,
// --trusted-host), which become part of the identity. Editable installs
// and constraint files are refused: an image holds installed packages, not
// source checkouts.
#include <string>

#include "builder/definition/environment_definition.hpp"

namespace envbuild::builder {

EnvironmentDefinition read_requirements_file(const std::string& path);

// Adds the requirements of `path` to def.pip_packages / def.pip_options.
void add_requirements(const std::string& path, EnvironmentDefinition& def);

}  // namespace envbuild::builder
