#pragma once
// One spelling per package requirement, so that equivalent definitions hash
// alike: conda MatchSpecs (CEP 29) and pip requirements (PEP 508). Errors
// are Error(BadInput) saying what is wrong with the spec; callers prefix
// the position in the file.
#include <string>

namespace envbuild::builder {

std::string canonical_conda_spec(const std::string& spec);
std::string canonical_pip_requirement(const std::string& requirement);

}  // namespace envbuild::builder
