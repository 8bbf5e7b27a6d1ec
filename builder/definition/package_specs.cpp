#include "builder/definition/package_specs.hpp"

#include "builder/conda/match_spec.hpp"
#include "builder/pip/requirement.hpp"

namespace envbuild::builder {

std::string canonical_conda_spec(const std::string& spec) {
  return conda::MatchSpec::parse(spec).canonical();
}

std::string canonical_pip_requirement(const std::string& requirement) {
  return pip::PipRequirement::parse(requirement).canonical();
}

}  // namespace envbuild::builder
