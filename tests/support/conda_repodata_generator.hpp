#pragma once
// Synthetic conda repodata for solver tests and the solver benchmark: single
// records, seeded channels with a realistic shape (a few core libraries most
// packages depend on, version ranges, ABI-style pins, track_features,
// run_constrained, noarch, __glibc requirements, a second channel), small
// instances for exhaustive search, and a checker that decides whether a set
// of records is a valid installation without using the solver's code.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "builder/conda/package_record.hpp"

namespace envbuild::testing {

using builder::conda::PackageRecord;

inline constexpr const char* kMainChannel = "https://conda.example.org/main";
inline constexpr const char* kSecondChannel = "https://conda.example.org/extra";

// A linux-64 record in the main channel with filename, url and build string
// ("h0_<build number>" unless given) filled in.
PackageRecord make_record(const std::string& name, const std::string& version,
                          std::vector<std::string> depends = {}, int64_t build_number = 0,
                          const std::string& build = "");

// __glibc, __linux, __unix and __archspec records of a linux-64 target.
std::vector<PackageRecord> linux_virtual_packages(const std::string& glibc = "2.31");

struct RepodataShape {
  std::size_t names = 2000;
  std::size_t versions = 5;    // per name, on average
  std::size_t max_builds = 3;  // per version
  std::size_t min_fanout = 3;  // dependencies per record
  std::size_t max_fanout = 8;
  double core_fraction = 0.01;  // the low-index names many others depend on
  // Dependencies of name i go to i * u^skew (u uniform in [0, 1)): the higher,
  // the more they concentrate on the core names and the smaller a request's
  // closure.
  double skew = 2.5;
  double pin_rate = 0.3;       // versions with one build per series of a core dependency
  double feature_rate = 0.03;  // versions with an extra track_features build
  double constrains_rate = 0.05;
  double noarch_rate = 0.1;
  double glibc_rate = 0.05;  // records needing __glibc (a fifth newer than 2.31)
  double second_channel_rate = 0.1;
  double missing_rate = 0.0;  // records needing something no channel has
  // Dependencies with a range or series that leaves the newest versions out
  // (the rest are open, lower-bounded or capped at the next major).
  double tight_rate = 0.07;
};

// Records named "p00000" ... in the main channel (priority 0) and, for some
// names, in the second channel (priority 1). Dependencies point mostly to
// lower-numbered names, skewed towards the core ones, so a request's closure
// is hundreds of names, not the whole channel. Deterministic for a seed.
std::vector<PackageRecord> generate_repodata(const RepodataShape& shape, uint64_t seed);

// `count` distinct specs on names of `records` (mostly plain names, some with
// version ranges), from the upper half of the names ("applications").
std::vector<std::string> generate_request(const std::vector<PackageRecord>& records,
                                          std::size_t count, uint64_t seed);

struct SmallInstance {
  std::vector<PackageRecord> records;  // at most `max_records`
  std::vector<std::string> specs;
  std::vector<PackageRecord> virtual_packages;
};
// 2-5 names with 1-3 versions and builds, random depends (some on missing
// names or versions, some on __glibc), run_constrained and track_features.
SmallInstance generate_small_instance(uint64_t seed, std::size_t max_records = 12);

// Why `installed` is not a valid installation for `specs` over `all_records`
// (empty when it is): one record per name, no virtual package installed,
// every spec, every installed record's depends met by installed or virtual
// records, every run_constrained entry of an installed record met by the
// installed and virtual records of that name, and with `strict`, each record
// from the highest-priority channel that has its name (unless a spec names a
// channel for it).
std::string check_installation(const std::vector<PackageRecord>& all_records,
                               const std::vector<std::string>& specs,
                               const std::vector<PackageRecord>& virtual_packages,
                               const std::vector<PackageRecord>& installed, bool strict = true);

// Every valid installation among the subsets of `records` (exhaustive, for a
// dozen records or so), each given to `on_valid` (which returns false to
// stop); returns how many it saw.
std::size_t for_each_valid_installation(
    const std::vector<PackageRecord>& records, const std::vector<std::string>& specs,
    const std::vector<PackageRecord>& virtual_packages,
    const std::function<bool(const std::vector<PackageRecord>&)>& on_valid, bool strict = true);

}  // namespace envbuild::testing
