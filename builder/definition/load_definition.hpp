#pragma once
// Turns what a user names on the command line into a definition:
//   curated:NAME[:VERSION]      a curated environment
//   *.txt                       a requirements.txt (the pip list)
//   Dockerfile, *.Dockerfile    a Docker build (its folder is the context)
//   *.yml / *.yaml              an Azure ML environment definition when it
//                               has a key only Azure ML uses, else a conda
//                               environment.yml
// User definitions may not take a reserved curated name.
#include <string>

#include "builder/curated/curated_catalog.hpp"
#include "builder/definition/environment_definition.hpp"
#include "builder/definition/target_platform.hpp"

namespace envbuild::builder {

struct LoadOptions {
  TargetPlatform platform = TargetPlatform::parse("linux/amd64");
  const CuratedCatalog* catalog = &CuratedCatalog::builtin();
};

EnvironmentDefinition load_definition(const std::string& what, const LoadOptions& options = {});

// A curated environment's definition (also used by `curated publish`).
EnvironmentDefinition load_curated(const CuratedEnvironment& env, const TargetPlatform& platform);

}  // namespace envbuild::builder
