#include "builder/conda/solver/record_match.hpp"

#include <string>

#include "builder/spec_text.hpp"

namespace envbuild::builder::conda::solver {

namespace {

std::string_view without_trailing_slashes(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

}  // namespace

bool channel_matches(std::string_view spec_channel, std::string_view record_channel) {
  std::string_view want = without_trailing_slashes(spec_channel);
  std::string_view have = without_trailing_slashes(record_channel);
  if (want.empty()) return false;
  if (want == have) return true;
  return have.size() > want.size() && have.ends_with(want) &&
         have[have.size() - want.size() - 1] == '/';
}

bool record_matches(const MatchSpec& spec, const PackageRecord& record,
                    const CondaVersion& version) {
  // MatchSpec::matches, without its per-call lowercase copy of the name: the
  // pool asks for one name and channels write names in lowercase (CEP 26);
  // a record that does not is compared case-insensitively.
  if (record.name.size() != spec.name.size()) return false;
  for (std::size_t i = 0; i < record.name.size(); ++i)
    if (lower(record.name[i]) != spec.name[i]) return false;
  if (spec.channel && !channel_matches(*spec.channel, record.channel)) return false;
  if (spec.subdir && *spec.subdir != record.subdir) return false;
  if (spec.version && !spec.version->matches(version)) return false;
  if (spec.build) {
    std::string build = record.build;
    for (char& ch : build) ch = lower(ch);
    if (!glob_match(*spec.build, build)) return false;
  }
  if (spec.build_number && *spec.build_number != record.build_number) return false;
  return true;
}

}  // namespace envbuild::builder::conda::solver
