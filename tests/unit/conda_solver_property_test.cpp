// The conda solver on generated channels, checked without the solver's code:
// small instances against exhaustive search (satisfiable exactly when some
// installation is valid, the first requested name at its best possible
// record, the conflict core unsatisfiable on its own), and channels of
// thousands of packages (every solution valid, every reported core still
// unsatisfiable when everything else is dropped, the same solution for any
// source order).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "builder/conda/solver/solver.hpp"
#include "builder/conda/version.hpp"
#include "tests/support/conda_repodata_generator.hpp"

using namespace envbuild;
using namespace envbuild::builder::conda;
using namespace envbuild::testing;

namespace {

SolveRequest request_of(const std::vector<std::string>& specs,
                        const std::vector<PackageRecord>& virtuals, ChannelPriority priority) {
  SolveRequest request;
  for (const std::string& s : specs) request.specs.push_back(MatchSpec::parse(s));
  request.virtual_packages = virtuals;
  request.channel_priority = priority;
  return request;
}

// Only what the core names: the core's specs, and for each record only the
// depends and constrains entries the core lists. Records of names nothing
// left refers to cannot matter and are dropped.
struct Relaxed {
  std::vector<PackageRecord> records;
  std::vector<std::string> specs;
};
Relaxed relax(const std::vector<PackageRecord>& records, const std::vector<std::string>& specs,
              const ConflictCore& core) {
  Relaxed out;
  for (std::size_t i : core.specs) out.specs.push_back(specs.at(i));
  auto listed = [](const std::vector<ConflictCore::Edge>& edges, const std::string& record,
                   const std::string& spec) {
    return std::find(edges.begin(), edges.end(), ConflictCore::Edge{record, spec}) != edges.end();
  };
  std::set<std::string> referenced;
  for (const std::string& spec : out.specs) referenced.insert(MatchSpec::parse(spec).name);
  for (const auto* edges : {&core.depends, &core.constrains})
    for (const ConflictCore::Edge& e : *edges) referenced.insert(MatchSpec::parse(e.spec).name);
  for (const PackageRecord& original : records) {
    if (!referenced.count(original.name)) continue;
    PackageRecord r = original;
    std::vector<std::string> depends, constrains;
    for (const std::string& d : r.depends)
      if (listed(core.depends, r.dist_name(), d)) depends.push_back(d);
    for (const std::string& c : r.constrains)
      if (listed(core.constrains, r.dist_name(), c)) constrains.push_back(c);
    r.depends = depends;
    r.constrains = constrains;
    out.records.push_back(std::move(r));
  }
  return out;
}

// conda's preference, written again independently: fewer track_features,
// higher version, higher build number, arch before noarch, newer timestamp.
auto preference_key(const PackageRecord& r) {
  return std::make_tuple(-static_cast<int>(r.track_features.size()), CondaVersion::parse(r.version),
                         r.build_number, r.subdir != "noarch" ? 1 : 0, r.timestamp);
}

bool better(const PackageRecord& a, const PackageRecord& b) {
  auto ka = preference_key(a);
  auto kb = preference_key(b);
  return ka > kb;
}

std::string dist_names(const std::vector<PackageRecord>& records) {
  std::string out;
  for (const PackageRecord& r : records) out += r.dist_name() + " ";
  return out;
}

}  // namespace

TEST(CondaSolverProperty, SmallInstancesAgreeWithExhaustiveSearch) {
  int solved = 0, refused = 0;
  for (uint64_t seed = 1; seed <= 1500; ++seed) {
    SmallInstance inst = generate_small_instance(seed);
    SCOPED_TRACE("seed " + std::to_string(seed));
    // The best record of the first requested name over all valid installations.
    std::string first_name = MatchSpec::parse(inst.specs.front()).name;
    std::optional<PackageRecord> best_first;
    std::size_t valid = for_each_valid_installation(
        inst.records, inst.specs, inst.virtual_packages, [&](const std::vector<PackageRecord>& s) {
          for (const PackageRecord& r : s)
            if (r.name == first_name && (!best_first || better(r, *best_first))) best_first = r;
          return true;
        });
    VectorPackageSource source(inst.records);
    try {
      Solution s =
          solve(request_of(inst.specs, inst.virtual_packages, ChannelPriority::Strict), source);
      ++solved;
      ASSERT_GT(valid, 0U) << "solved an instance exhaustive search calls unsatisfiable";
      EXPECT_EQ(check_installation(inst.records, inst.specs, inst.virtual_packages, s.packages),
                "");
      const PackageRecord* chosen = nullptr;
      for (const PackageRecord& r : s.packages)
        if (r.name == first_name) chosen = &r;
      if (!MatchSpec::parse(inst.specs.front()).name.starts_with("__")) {
        ASSERT_NE(chosen, nullptr);
        ASSERT_TRUE(best_first.has_value());
        EXPECT_FALSE(better(*best_first, *chosen)) << "chose " << chosen->dist_name() << " but "
                                                   << best_first->dist_name() << " is possible";
      }
    } catch (const UnsatisfiableError& e) {
      ++refused;
      ASSERT_EQ(valid, 0U) << "refused a satisfiable instance: " << e.what();
      std::string message = e.what();
      EXPECT_EQ(message.rfind("cannot satisfy the request: ", 0), 0U) << message;
      // The core alone is unsatisfiable, and the message names its records.
      Relaxed relaxed = relax(inst.records, inst.specs, e.core());
      EXPECT_FALSE(relaxed.specs.empty());
      std::size_t relaxed_valid =
          for_each_valid_installation(relaxed.records, relaxed.specs, inst.virtual_packages,
                                      [](const std::vector<PackageRecord>&) { return false; });
      EXPECT_EQ(relaxed_valid, 0U) << message;
      for (const ConflictCore::Edge& edge : e.core().depends) {
        std::string name = edge.record.substr(0, edge.record.find('-'));
        EXPECT_NE(message.find(name + " "), std::string::npos) << name << " in " << message;
        EXPECT_NE(message.find(edge.spec), std::string::npos) << edge.spec << " in " << message;
      }
    }
  }
  EXPECT_GT(solved, 300);
  EXPECT_GT(refused, 300);
}

TEST(CondaSolverProperty, GeneratedChannelsGiveValidSolutionsOrRealConflicts) {
  RepodataShape shape;
  shape.names = 1500;
  shape.versions = 5;
  shape.missing_rate = 0.03;
  shape.tight_rate = 0.25;  // about half of the requests fail
  int solved = 0, refused = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    std::vector<PackageRecord> records = generate_repodata(shape, seed);
    VectorPackageSource source(records);
    std::vector<PackageRecord> virtuals = linux_virtual_packages("2.31");
    for (ChannelPriority priority :
         {ChannelPriority::Strict, ChannelPriority::Flexible, ChannelPriority::Disabled}) {
      std::vector<std::string> specs = generate_request(records, 5 + seed % 15, seed);
      SCOPED_TRACE("seed " + std::to_string(seed) + " priority " +
                   std::to_string(static_cast<int>(priority)));
      try {
        Solution s = solve(request_of(specs, virtuals, priority), source);
        ++solved;
        EXPECT_EQ(check_installation(records, specs, virtuals, s.packages,
                                     priority == ChannelPriority::Strict),
                  "");
        EXPECT_TRUE(std::is_sorted(
            s.packages.begin(), s.packages.end(),
            [](const PackageRecord& a, const PackageRecord& b) { return a.name < b.name; }));
      } catch (const UnsatisfiableError& e) {
        ++refused;
        // Dropping everything the core does not name keeps it unsatisfiable.
        Relaxed relaxed = relax(records, specs, e.core());
        VectorPackageSource relaxed_source(relaxed.records);
        EXPECT_THROW(solve(request_of(relaxed.specs, virtuals, priority), relaxed_source),
                     UnsatisfiableError)
            << e.what();
      }
    }
  }
  EXPECT_GT(solved, 6);
  EXPECT_GT(refused, 6);
}

TEST(CondaSolverProperty, SourceOrderDoesNotChangeTheSolution) {
  RepodataShape shape;
  shape.names = 800;
  std::mt19937 shuffle(11);
  for (uint64_t seed = 21; seed <= 26; ++seed) {
    std::vector<PackageRecord> records = generate_repodata(shape, seed);
    std::vector<std::string> specs = generate_request(records, 8, seed);
    std::vector<PackageRecord> virtuals = linux_virtual_packages();
    auto run = [&](const std::vector<PackageRecord>& recs) {
      VectorPackageSource source(recs);
      try {
        return dist_names(
            solve(request_of(specs, virtuals, ChannelPriority::Strict), source).packages);
      } catch (const UnsatisfiableError& e) {
        return std::string(e.what());
      }
    };
    std::string first = run(records);
    for (int i = 0; i < 3; ++i) {
      std::shuffle(records.begin(), records.end(), shuffle);
      EXPECT_EQ(run(records), first) << "seed " << seed;
    }
  }
}
