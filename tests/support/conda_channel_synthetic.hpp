#pragma once
// Big synthetic repodata for load tests and benchmarks: a repodata.json
// shaped like conda-forge's linux-64 one (pretty-printed, sorted keys, both
// `packages` and `packages.conda`, ~750 bytes a record, a few names with
// thousands of builds and a long tail with a handful), written in one
// streaming pass (about a second for 300 MB). The records point at no real
// files; use CondaChannel (conda_channel.hpp) for installable packages.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace envbuild::testing {

struct SyntheticRepodataOptions {
  size_t records = 400'000;
  size_t names = 25'000;
  std::string subdir = "linux-64";
  uint64_t seed = 1;
  // Share of records in `packages.conda`; the rest are .tar.bz2, and about
  // a third of those also exist as .conda (as on conda-forge).
  double conda_share = 0.6;
  bool pretty = true;  // indent 2, as conda-index writes
};

struct SyntheticRepodataStats {
  uint64_t bytes = 0;
  size_t records = 0;                    // records written, both sections
  size_t duplicated = 0;                 // .tar.bz2 records that also exist as .conda
  std::vector<std::string> names;        // every name, most builds first
  std::vector<size_t> records_per_name;  // same order, counting both formats
};

// The name of synthetic package number `i` (0 is the most common).
std::string synthetic_package_name(size_t i);

SyntheticRepodataStats write_synthetic_repodata(const std::filesystem::path& path,
                                                const SyntheticRepodataOptions& options = {});

}  // namespace envbuild::testing
