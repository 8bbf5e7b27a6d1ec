// The conda solver on small hand-written channels: what it installs and why
// (preferences, channel priority, constraints, virtual packages, pins, a
// choice that has to be revised, determinism, lazy loading).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "builder/conda/solver/solver.hpp"
#include "tests/support/conda_repodata_generator.hpp"

using namespace envbuild;
using namespace envbuild::builder::conda;
using envbuild::testing::kMainChannel;
using envbuild::testing::kSecondChannel;
using envbuild::testing::linux_virtual_packages;
using envbuild::testing::make_record;

namespace {

PackageRecord in_channel(PackageRecord r, const std::string& channel, int priority) {
  r.channel = channel;
  r.channel_priority = priority;
  r.url = channel + "/" + r.subdir + "/" + r.filename;
  return r;
}

// A source that counts which names the solver asks for.
class CountingSource : public PackageSource {
 public:
  explicit CountingSource(std::vector<PackageRecord> records) : inner_(std::move(records)) {}
  const std::vector<PackageRecord>& candidates(const std::string& name) override {
    ++asked[name];
    return inner_.candidates(name);
  }
  std::map<std::string, int> asked;

 private:
  VectorPackageSource inner_;
};

SolveRequest request_of(const std::vector<std::string>& specs,
                        ChannelPriority priority = ChannelPriority::Strict,
                        std::vector<PackageRecord> virtuals = linux_virtual_packages()) {
  SolveRequest request;
  for (const std::string& s : specs) request.specs.push_back(MatchSpec::parse(s));
  request.virtual_packages = std::move(virtuals);
  request.channel_priority = priority;
  return request;
}

// "name-version-build" of each installed record, in solution order.
std::string installed(const std::vector<PackageRecord>& records,
                      const std::vector<std::string>& specs,
                      ChannelPriority priority = ChannelPriority::Strict,
                      std::vector<PackageRecord> virtuals = linux_virtual_packages()) {
  VectorPackageSource source(records);
  Solution s = solve(request_of(specs, priority, std::move(virtuals)), source);
  std::string out;
  for (const PackageRecord& r : s.packages) out += (out.empty() ? "" : " ") + r.dist_name();
  return out;
}

std::string unsat_message(const std::vector<PackageRecord>& records,
                          const std::vector<std::string>& specs,
                          ChannelPriority priority = ChannelPriority::Strict) {
  VectorPackageSource source(records);
  try {
    solve(request_of(specs, priority), source);
  } catch (const UnsatisfiableError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    return e.what();
  }
  return "(solved)";
}

}  // namespace

TEST(CondaSolver, EmptyRequestInstallsNothing) {
  EXPECT_EQ(installed({make_record("a", "1.0")}, {}), "");
}

TEST(CondaSolver, SimpleChain) {
  std::vector<PackageRecord> records = {
      make_record("a", "1.0", {"b"}), make_record("b", "1.0", {"c >=1"}), make_record("c", "1.0"),
      make_record("c", "0.9"),        make_record("unrelated", "1.0"),
  };
  EXPECT_EQ(installed(records, {"a"}), "a-1.0-h0_0 b-1.0-h0_0 c-1.0-h0_0");
}

TEST(CondaSolver, DiamondMeetsBothRanges) {
  std::vector<PackageRecord> records = {
      make_record("a", "1.0", {"b", "c"}),
      make_record("b", "1.0", {"d >=2"}),
      make_record("c", "1.0", {"d <3"}),
      make_record("d", "1.0"),
      make_record("d", "2.0"),
      make_record("d", "3.0"),
  };
  EXPECT_EQ(installed(records, {"a"}), "a-1.0-h0_0 b-1.0-h0_0 c-1.0-h0_0 d-2.0-h0_0");
}

TEST(CondaSolver, HighestVersionInCondaOrder) {
  std::vector<PackageRecord> records = {
      make_record("a", "1.9"),
      make_record("a", "1.10"),
      make_record("a", "1.10rc1"),
      make_record("a", "1.2"),
  };
  EXPECT_EQ(installed(records, {"a"}), "a-1.10-h0_0");
  EXPECT_EQ(installed(records, {"a <1.10"}), "a-1.10rc1-h0_0");
}

TEST(CondaSolver, BuildNumberAfterVersion) {
  std::vector<PackageRecord> records = {
      make_record("a", "1.0", {}, 0),
      make_record("a", "1.0", {}, 2),
      make_record("a", "1.0", {}, 1),
      make_record("a", "0.9", {}, 7),
  };
  EXPECT_EQ(installed(records, {"a"}), "a-1.0-h0_2");
  EXPECT_EQ(installed(records, {"a <1"}), "a-0.9-h0_7");
}

TEST(CondaSolver, TrackFeaturesRankBelowEveryRecordWithout) {
  PackageRecord featured = make_record("blas", "2.0", {}, 5, "mkl_5");
  featured.track_features = {"mkl"};
  std::vector<PackageRecord> records = {featured, make_record("blas", "1.0", {}, 0, "openblas_0")};
  // A newer version with a feature loses to an older one without.
  EXPECT_EQ(installed(records, {"blas"}), "blas-1.0-openblas_0");
  // It is taken when it is the only way.
  EXPECT_EQ(installed(records, {"blas >=2"}), "blas-2.0-mkl_5");
  // Fewer features beat more.
  PackageRecord two = make_record("blas", "3.0", {}, 0, "two_0");
  two.track_features = {"mkl", "debug"};
  EXPECT_EQ(installed({featured, two}, {"blas"}), "blas-2.0-mkl_5");
}

TEST(CondaSolver, ArchBeforeNoarchWhenOtherwiseEqual) {
  PackageRecord noarch = make_record("tool", "1.0", {}, 0, "pyhd_0");
  noarch.subdir = "noarch";
  noarch.noarch = "python";
  PackageRecord arch = make_record("tool", "1.0", {}, 0, "h1_0");
  EXPECT_EQ(installed({noarch, arch}, {"tool"}), "tool-1.0-h1_0");
  // Version and build number still come first.
  PackageRecord newer = noarch;
  newer.version = "1.1";
  EXPECT_EQ(installed({newer, arch}, {"tool"}), "tool-1.1-pyhd_0");
  PackageRecord rebuilt = noarch;
  rebuilt.build_number = 1;
  EXPECT_EQ(installed({rebuilt, arch}, {"tool"}), "tool-1.0-pyhd_0");
}

TEST(CondaSolver, NewerTimestampBreaksTies) {
  PackageRecord old_build = make_record("a", "1.0", {}, 0, "hold_0");
  old_build.timestamp = 1000;
  PackageRecord new_build = make_record("a", "1.0", {}, 0, "hnew_0");
  new_build.timestamp = 2000;
  EXPECT_EQ(installed({new_build, old_build}, {"a"}), "a-1.0-hnew_0");
  EXPECT_EQ(installed({old_build, new_build}, {"a"}), "a-1.0-hnew_0");
}

TEST(CondaSolver, StrictPriorityExcludesLowerChannelsFlexiblePrefersDisabledIgnores) {
  std::vector<PackageRecord> records = {
      make_record("foo", "1.0"), in_channel(make_record("foo", "2.0"), kSecondChannel, 1),
      in_channel(make_record("bar", "5.0"), kSecondChannel, 1),  // only in the second channel
  };
  EXPECT_EQ(installed(records, {"foo", "bar"}, ChannelPriority::Strict),
            "bar-5.0-h0_0 foo-1.0-h0_0");
  EXPECT_EQ(installed(records, {"foo"}, ChannelPriority::Flexible), "foo-1.0-h0_0");
  EXPECT_EQ(installed(records, {"foo"}, ChannelPriority::Disabled), "foo-2.0-h0_0");
  // Flexible falls back to the lower channel when it must; strict cannot.
  EXPECT_EQ(installed(records, {"foo >=2"}, ChannelPriority::Flexible), "foo-2.0-h0_0");
  EXPECT_NE(unsat_message(records, {"foo >=2"}, ChannelPriority::Strict), "(solved)");
}

TEST(CondaSolver, FlexiblePriorityFallsBackWhenTheHigherChannelIsBroken) {
  std::vector<PackageRecord> records = {
      make_record("foo", "1.0", {"nonexistent"}),
      in_channel(make_record("foo", "0.9"), kSecondChannel, 1),
  };
  EXPECT_EQ(installed(records, {"foo"}, ChannelPriority::Flexible), "foo-0.9-h0_0");
  EXPECT_NE(unsat_message(records, {"foo"}, ChannelPriority::Strict), "(solved)");
}

TEST(CondaSolver, ChannelQualifiedSpecPicksThatChannel) {
  std::vector<PackageRecord> records = {
      make_record("foo", "2.0"),
      in_channel(make_record("foo", "1.0"), kSecondChannel, 1),
  };
  EXPECT_EQ(installed(records, {"extra::foo"}), "foo-1.0-h0_0");
  EXPECT_EQ(installed(records, {"main::foo"}), "foo-2.0-h0_0");
  EXPECT_EQ(installed(records, {std::string(kSecondChannel) + "::foo"}), "foo-1.0-h0_0");
  EXPECT_NE(unsat_message(records, {"other::foo"}), "(solved)");
  // A dependency on foo is met by the requested channel's record.
  records.push_back(make_record("app", "1.0", {"foo"}));
  EXPECT_EQ(installed(records, {"app", "extra::foo"}), "app-1.0-h0_0 foo-1.0-h0_0");
}

TEST(CondaSolver, ConstrainsLimitButDoNotInstall) {
  PackageRecord a = make_record("a", "1.0");
  a.constrains = {"c <2"};
  std::vector<PackageRecord> records = {a, make_record("b", "1.0", {"c"}), make_record("c", "1.0"),
                                        make_record("c", "2.0")};
  EXPECT_EQ(installed(records, {"a"}), "a-1.0-h0_0");
  EXPECT_EQ(installed(records, {"a", "b"}), "a-1.0-h0_0 b-1.0-h0_0 c-1.0-h0_0");
  EXPECT_EQ(installed(records, {"b"}), "b-1.0-h0_0 c-2.0-h0_0");
}

TEST(CondaSolver, ConstrainsOnAVirtualPackage) {
  PackageRecord sysroot_new = make_record("sysroot", "2.0");
  sysroot_new.constrains = {"__glibc >=2.34"};
  PackageRecord sysroot_old = make_record("sysroot", "1.0");
  sysroot_old.constrains = {"__glibc >=2.17"};
  EXPECT_EQ(installed({sysroot_new, sysroot_old}, {"sysroot"}), "sysroot-1.0-h0_0");
}

TEST(CondaSolver, VirtualPackagesSatisfyAndAreNotInstalled) {
  std::vector<PackageRecord> records = {
      make_record("a", "2.0", {"__glibc >=2.34"}),
      make_record("a", "1.0", {"__glibc >=2.17", "__unix"}),
  };
  EXPECT_EQ(installed(records, {"a"}), "a-1.0-h0_0");
  EXPECT_EQ(installed(records, {"a"}, ChannelPriority::Strict, linux_virtual_packages("2.35")),
            "a-2.0-h0_0");
  EXPECT_EQ(installed(records, {"__glibc >=2.17"}), "");
  EXPECT_NE(unsat_message(records, {"__cuda"}), "(solved)");
  // Channel records named like a virtual package do not count.
  records.push_back(make_record("__cuda", "12.0"));
  EXPECT_NE(unsat_message(records, {"__cuda"}), "(solved)");
}

TEST(CondaSolver, PinnedPythonLimitsADependencysBuild) {
  PackageRecord py311 = make_record("python", "3.11.5");
  PackageRecord py312 = make_record("python", "3.12.1");
  PackageRecord np311 = make_record("numpy", "1.26.4", {"python 3.11.*"}, 0, "py311h1_0");
  np311.timestamp = 1000;
  PackageRecord np312 = make_record("numpy", "1.26.4", {"python 3.12.*"}, 0, "py312h1_0");
  np312.timestamp = 2000;
  PackageRecord np_old = make_record("numpy", "1.25.0", {"python 3.12.*"}, 0, "py312h0_0");
  std::vector<PackageRecord> records = {py311, py312, np311, np312, np_old};
  EXPECT_EQ(installed(records, {"numpy"}), "numpy-1.26.4-py312h1_0 python-3.12.1-h0_0");
  EXPECT_EQ(installed(records, {"numpy", "python=3.11"}),
            "numpy-1.26.4-py311h1_0 python-3.11.5-h0_0");
  EXPECT_EQ(installed(records, {"python=3.11", "numpy"}),
            "numpy-1.26.4-py311h1_0 python-3.11.5-h0_0");
}

TEST(CondaSolver, PinsLimitANameButNeverAskForIt) {
  PackageRecord np311 = make_record("numpy", "1.26.4", {"python 3.11.*"}, 0, "py311h1_0");
  np311.timestamp = 1000;
  PackageRecord np312 = make_record("numpy", "1.26.4", {"python 3.12.*"}, 0, "py312h1_0");
  np312.timestamp = 2000;
  std::vector<PackageRecord> records = {make_record("python", "3.11.5"),
                                        make_record("python", "3.12.1"), np311, np312,
                                        make_record("scipy", "1.13.0")};
  auto solve_pinned = [&](const std::vector<std::string>& specs,
                          const std::vector<std::string>& pins) {
    SolveRequest request = request_of(specs);
    for (const std::string& p : pins) request.pinned.push_back(MatchSpec::parse(p));
    VectorPackageSource source(records);
    std::string out;
    for (const PackageRecord& r : solve(request, source).packages)
      out += (out.empty() ? "" : " ") + r.dist_name();
    return out;
  };
  EXPECT_EQ(solve_pinned({"numpy"}, {}), "numpy-1.26.4-py312h1_0 python-3.12.1-h0_0");
  EXPECT_EQ(solve_pinned({"numpy"}, {"python 3.11.*"}),
            "numpy-1.26.4-py311h1_0 python-3.11.5-h0_0");
  // A pin on a name nothing needs installs nothing.
  EXPECT_EQ(solve_pinned({"numpy"}, {"python 3.11.*", "scipy 1.*"}),
            "numpy-1.26.4-py311h1_0 python-3.11.5-h0_0");
  // A request the pin excludes fails and names the pin.
  try {
    solve_pinned({"python 3.12.*"}, {"python 3.11.*"});
    ADD_FAILURE() << "solved against the pin";
  } catch (const UnsatisfiableError& e) {
    EXPECT_NE(std::string(e.what()).find("python"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("\n  pinned: python=3.11"), std::string::npos) << e.what();
  }
}

TEST(CondaSolver, RevisesAGreedyChoiceAfterAConflict) {
  // The best b needs k 2.*, but e (requested) needs k <2: b must go back to
  // 1.0 while the unrelated m1..m4 keep their best versions.
  std::vector<PackageRecord> records = {
      make_record("a", "1.0", {"m1", "m2", "b"}),
      make_record("b", "2.0", {"m3", "k 2.*"}),
      make_record("b", "1.0", {"k 1.*"}),
      make_record("e", "1.0", {"m4", "x"}),
      make_record("x", "1.0", {"y"}),
      make_record("y", "1.0", {"k <2"}),
      make_record("k", "1.0"),
      make_record("k", "1.5"),
      make_record("k", "2.0"),
  };
  for (const char* m : {"m1", "m2", "m3", "m4"}) {
    records.push_back(make_record(m, "1.0"));
    records.push_back(make_record(m, "2.0"));
  }
  EXPECT_EQ(installed(records, {"a", "e"}),
            "a-1.0-h0_0 b-1.0-h0_0 e-1.0-h0_0 k-1.5-h0_0 m1-2.0-h0_0 m2-2.0-h0_0 m4-2.0-h0_0 "
            "x-1.0-h0_0 y-1.0-h0_0");
}

TEST(CondaSolver, BackjumpsOverUnrelatedDecisions) {
  // z's best version conflicts with w's chain only after the decisions on
  // u1..u3: the conflict is learned at w's level and backjumps to z's.
  std::vector<PackageRecord> records = {
      make_record("z", "3.0", {"q 3.*"}),
      make_record("z", "2.0", {"q 2.*"}),
      make_record("z", "1.0", {"q 1.*"}),
      make_record("w", "1.0", {"r"}),
      make_record("w", "0.9", {"r"}),  // two versions: w is a decision, not a level-0 fact
      make_record("r", "1.0", {"s"}),
      make_record("s", "1.0", {"q <2"}),
      make_record("q", "1.0"),
      make_record("q", "2.0"),
      make_record("q", "3.0"),
  };
  for (const char* m : {"u1", "u2", "u3"}) {
    records.push_back(make_record(m, "1.0"));
    records.push_back(make_record(m, "2.0", {"u9"}));
  }
  records.push_back(make_record("u9", "1.0"));
  records.push_back(make_record("u9", "2.0"));
  EXPECT_EQ(installed(records, {"z", "u1", "u2", "u3", "w"}),
            "q-1.0-h0_0 r-1.0-h0_0 s-1.0-h0_0 u1-2.0-h0_0 u2-2.0-h0_0 u3-2.0-h0_0 u9-2.0-h0_0 "
            "w-1.0-h0_0 z-1.0-h0_0");
}

TEST(CondaSolver, RequestedVersionsComeBeforeDependencies) {
  // a 2.0 needs c 1.*, a 1.0 needs c 2.*: the request maximizes a, not c.
  std::vector<PackageRecord> records = {
      make_record("a", "2.0", {"c 1.*"}),
      make_record("a", "1.0", {"c 2.*"}),
      make_record("c", "1.0"),
      make_record("c", "2.0"),
  };
  EXPECT_EQ(installed(records, {"a"}), "a-2.0-h0_0 c-1.0-h0_0");
  EXPECT_EQ(installed(records, {"a", "c"}), "a-2.0-h0_0 c-1.0-h0_0");
  // Earlier requested names win over later ones.
  EXPECT_EQ(installed(records, {"c", "a"}), "a-1.0-h0_0 c-2.0-h0_0");
}

TEST(CondaSolver, CyclesAndSelfConsistentRequests) {
  std::vector<PackageRecord> records = {
      make_record("a", "1.0", {"b"}),
      make_record("b", "1.0", {"a"}),
      make_record("b", "2.0", {"a >=2"}),
  };
  EXPECT_EQ(installed(records, {"a"}), "a-1.0-h0_0 b-1.0-h0_0");
  // A dependency is met by the requested (older) record of that name.
  std::vector<PackageRecord> more = {make_record("app", "1.0", {"lib"}), make_record("lib", "1.0"),
                                     make_record("lib", "2.0")};
  EXPECT_EQ(installed(more, {"app", "lib <2"}), "app-1.0-h0_0 lib-1.0-h0_0");
}

TEST(CondaSolver, RecordsNeededByNobodyAreLeftOut) {
  // A dependency that only a rejected candidate had is not installed.
  std::vector<PackageRecord> records = {
      make_record("a", "2.0", {"extra", "missing"}),
      make_record("a", "1.0"),
      make_record("extra", "1.0"),
  };
  EXPECT_EQ(installed(records, {"a"}), "a-1.0-h0_0");
}

TEST(CondaSolver, SameSolutionWhateverTheSourceOrder) {
  std::vector<PackageRecord> records = {
      make_record("a", "1.0", {"b", "c"}),
      make_record("a", "1.0", {"b"}, 0, "h1_0"),
      make_record("b", "1.0", {"d"}),
      make_record("b", "1.0", {"d"}, 0, "h2_0"),
      make_record("c", "1.0", {"d <2"}),
      make_record("d", "1.0"),
      make_record("d", "2.0"),
      make_record("d", "2.0", {}, 0, "h3_0"),
  };
  std::string first = installed(records, {"a", "c"});
  std::mt19937 shuffle(7);
  for (int i = 0; i < 20; ++i) {
    std::shuffle(records.begin(), records.end(), shuffle);
    EXPECT_EQ(installed(records, {"a", "c"}), first);
    EXPECT_EQ(installed(records, {"c", "a"}), first);
  }
}

TEST(CondaSolver, AsksTheSourceOnlyForReachableNames) {
  std::vector<PackageRecord> records = {
      make_record("a", "2.0", {"b"}),
      make_record("a", "1.0", {"never-tried"}),
      make_record("b", "1.0"),
      make_record("never-tried", "1.0"),
  };
  records[0].constrains = {"limited >=1"};
  for (int i = 0; i < 1000; ++i) records.push_back(make_record("n" + std::to_string(i), "1.0"));
  CountingSource source(records);
  Solution s = solve(request_of({"a"}), source);
  ASSERT_EQ(s.packages.size(), 2U);
  std::set<std::string> asked;
  for (const auto& [name, count] : source.asked) {
    asked.insert(name);
    EXPECT_EQ(count, 1) << name;
  }
  EXPECT_EQ(asked, (std::set<std::string>{"a", "b", "limited"}));
}

TEST(CondaSolver, InvalidMetadataMakesARecordUninstallable) {
  std::vector<PackageRecord> records = {
      make_record("a", "2.0", {"b >=>1"}),
      make_record("a", "1.0"),
      make_record("b", "1.0"),
      make_record("c", "not a version"),
  };
  EXPECT_EQ(installed(records, {"a"}), "a-1.0-h0_0");
  EXPECT_NE(unsat_message(records, {"a >=2"}), "(solved)");
  EXPECT_NE(unsat_message(records, {"c"}), "(solved)");
}
