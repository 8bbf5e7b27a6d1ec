#pragma once
// Whether a record satisfies a MatchSpec, channel and subdir included
// (MatchSpec::matches leaves those to the caller).
#include <string_view>

#include "builder/conda/match_spec.hpp"
#include "builder/conda/package_record.hpp"
#include "builder/conda/version.hpp"

namespace envbuild::builder::conda::solver {

// A spec's channel is a name (`conda-forge`, `pkgs/main`) or a URL; a
// record's channel is the canonical URL. They match when equal or when the URL
// ends with `/` and the name, trailing slashes ignored.
bool channel_matches(std::string_view spec_channel, std::string_view record_channel);

bool record_matches(const MatchSpec& spec, const PackageRecord& record,
                    const CondaVersion& version);

}  // namespace envbuild::builder::conda::solver
