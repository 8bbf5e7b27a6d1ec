// Why a request cannot be solved: the exact messages for the usual kinds of
// conflict, and the core they rest on.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "builder/conda/solver/solver.hpp"
#include "tests/support/conda_repodata_generator.hpp"

using namespace envbuild;
using namespace envbuild::builder::conda;
using envbuild::testing::kSecondChannel;
using envbuild::testing::linux_virtual_packages;
using envbuild::testing::make_record;

namespace {

struct Failure {
  std::string message;
  ConflictCore core;
};

Failure failure(const std::vector<PackageRecord>& records, const std::vector<std::string>& specs) {
  VectorPackageSource source(records);
  SolveRequest request;
  for (const std::string& s : specs) request.specs.push_back(MatchSpec::parse(s));
  request.virtual_packages = linux_virtual_packages("2.31");
  try {
    solve(request, source);
  } catch (const UnsatisfiableError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    return {e.what(), e.core()};
  }
  ADD_FAILURE() << "solved";
  return {};
}

PackageRecord elsewhere(PackageRecord r) {
  r.channel = kSecondChannel;
  r.channel_priority = 1;
  return r;
}

}  // namespace

TEST(CondaSolverExplain, TwoRequirementsMeetOnOneName) {
  Failure f = failure(
      {
          make_record("foo", "1.0", {"bar >=2"}),
          make_record("baz", "1.1", {"bar <2"}),
          make_record("baz", "1.0", {"bar <2"}),
          make_record("bar", "1.0"),
          make_record("bar", "2.0"),
      },
      {"foo", "baz"});
  EXPECT_EQ(f.message,
            "cannot satisfy the request: foo 1.0 needs bar >=2, but baz (requested) needs bar <2\n"
            "  the request needs foo, which foo 1.0 provides\n"
            "  the request needs baz, which baz 1.1 and 1.0 provide\n"
            "  foo 1.0 needs bar >=2, which bar 2.0 provides\n"
            "  baz (requested) needs bar <2, which bar 1.0 provides");
  EXPECT_EQ(f.core.specs, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(f.core.depends, (std::vector<ConflictCore::Edge>{{"baz-1.0-h0_0", "bar <2"},
                                                             {"baz-1.1-h0_0", "bar <2"},
                                                             {"foo-1.0-h0_0", "bar >=2"}}));
  EXPECT_TRUE(f.core.constrains.empty());
}

TEST(CondaSolverExplain, VirtualPackageTooOld) {
  Failure f = failure({make_record("foo", "1.0", {"__glibc >=2.34"})}, {"foo"});
  EXPECT_EQ(
      f.message,
      "cannot satisfy the request: foo 1.0 needs __glibc >=2.34, the target has __glibc 2.31\n"
      "  the request needs foo, which foo 1.0 provides\n"
      "  foo 1.0 needs __glibc >=2.34, the target has __glibc 2.31");
}

TEST(CondaSolverExplain, VirtualPackageAbsent) {
  Failure f = failure({make_record("foo", "1.0", {"__cuda >=11"})}, {"foo"});
  EXPECT_EQ(f.message,
            "cannot satisfy the request: foo 1.0 needs __cuda >=11, the target has no __cuda\n"
            "  the request needs foo, which foo 1.0 provides\n"
            "  foo 1.0 needs __cuda >=11, the target has no __cuda");
  Failure g = failure({}, {"__cuda >=12"});
  EXPECT_EQ(g.message,
            "cannot satisfy the request: the request needs __cuda >=12, the target has no __cuda\n"
            "  the request needs __cuda >=12, the target has no __cuda");
}

TEST(CondaSolverExplain, DeepChainToAVirtualPackage) {
  Failure f = failure(
      {
          make_record("app", "1.0", {"lib"}),
          make_record("lib", "1.0", {"core"}),
          make_record("core", "1.0", {"__glibc >=2.34"}),
      },
      {"app"});
  EXPECT_EQ(f.message,
            "cannot satisfy the request: core 1.0 needs __glibc >=2.34, the target has __glibc "
            "2.31\n"
            "  the request needs app, which app 1.0 provides\n"
            "  app 1.0 needs lib, which lib 1.0 provides\n"
            "  lib 1.0 needs core, which core 1.0 provides\n"
            "  core 1.0 needs __glibc >=2.34, the target has __glibc 2.31");
}

TEST(CondaSolverExplain, NothingProvidesAVersion) {
  Failure f = failure({make_record("foo", "1.0", {"qux >=3"}), make_record("qux", "1.0"),
                       make_record("qux", "2.0")},
                      {"foo"});
  EXPECT_EQ(f.message,
            "cannot satisfy the request: nothing provides qux >=3 needed by foo 1.0\n"
            "  the request needs foo, which foo 1.0 provides\n"
            "  nothing provides qux >=3 needed by foo 1.0\n"
            "  the channels have qux 2.0 and 1.0");
  EXPECT_EQ(f.core.depends, (std::vector<ConflictCore::Edge>{{"foo-1.0-h0_0", "qux >=3"}}));
}

TEST(CondaSolverExplain, NothingProvidesAName) {
  Failure f = failure({make_record("foo", "1.0", {"ghost"})}, {"foo"});
  EXPECT_EQ(
      f.message,
      "cannot satisfy the request: nothing provides ghost needed by foo 1.0: no package named "
      "'ghost' in the channels\n"
      "  the request needs foo, which foo 1.0 provides\n"
      "  nothing provides ghost needed by foo 1.0: no package named 'ghost' in the channels");
}

TEST(CondaSolverExplain, RequestedPackageMissing) {
  Failure f = failure({make_record("foo", "1.0")}, {"foo", "typo"});
  EXPECT_EQ(f.message,
            "cannot satisfy the request: no package named 'typo' in the channels\n"
            "  no package named 'typo' in the channels");
  EXPECT_EQ(f.core.specs, (std::vector<std::size_t>{1}));
  Failure g = failure({make_record("foo", "1.0")}, {"typo", "foo >=2", "other"});
  EXPECT_EQ(g.message,
            "cannot satisfy the request: nothing in the channels matches typo, foo >=2, other\n"
            "  no package named 'typo' in the channels\n"
            "  nothing provides foo >=2 (requested)\n"
            "  the channels have foo 1.0\n"
            "  no package named 'other' in the channels");
}

TEST(CondaSolverExplain, RunConstrainedConflict) {
  PackageRecord qux = make_record("qux", "1.0");
  qux.constrains = {"bar <2"};
  Failure f = failure({make_record("foo", "1.0", {"bar >=2"}), qux, make_record("bar", "1.0"),
                       make_record("bar", "2.0")},
                      {"foo", "qux"});
  EXPECT_EQ(f.message,
            "cannot satisfy the request: foo 1.0 needs bar >=2, but qux 1.0 allows only bar <2\n"
            "  the request needs foo, which foo 1.0 provides\n"
            "  the request needs qux, which qux 1.0 provides\n"
            "  foo 1.0 needs bar >=2, which bar 2.0 provides\n"
            "  qux 1.0 allows only bar <2");
  EXPECT_EQ(f.core.constrains, (std::vector<ConflictCore::Edge>{{"qux-1.0-h0_0", "bar <2"}}));
}

TEST(CondaSolverExplain, PinnedRequestAgainstEveryBuild) {
  Failure f = failure(
      {
          make_record("python", "3.10.4"),
          make_record("python", "3.11.5"),
          make_record("python", "3.12.1"),
          make_record("numpy", "1.26.4", {"python 3.12.*"}, 0, "py312_0"),
          make_record("numpy", "1.26.4", {"python 3.11.*"}, 0, "py311_0"),
      },
      {"numpy", "python=3.10"});
  EXPECT_EQ(f.message,
            "cannot satisfy the request: the request needs python 3.10.*, but numpy 1.26.4 py311_0 "
            "needs python 3.11.*\n"
            "  the request needs numpy, which numpy 1.26.4 provides\n"
            "  the request needs python 3.10.*, which python 3.10.4 provides\n"
            "  numpy 1.26.4 py311_0 needs python 3.11.*, which python 3.11.5 provides\n"
            "  numpy 1.26.4 py312_0 needs python 3.12.*, which python 3.12.1 provides");
}

TEST(CondaSolverExplain, StrictChannelPriorityHidesTheMatch) {
  Failure f =
      failure({make_record("foo", "1.0"), elsewhere(make_record("foo", "2.0"))}, {"foo >=2"});
  EXPECT_EQ(f.message,
            "cannot satisfy the request: nothing provides foo >=2 (requested)\n"
            "  nothing provides foo >=2 (requested)\n"
            "  foo 2.0 in https://conda.example.org/extra matches foo >=2 but strict channel "
            "priority takes foo only from https://conda.example.org/main\n"
            "  the channels have foo 1.0");
}

TEST(CondaSolverExplain, EveryVersionFailsDifferently) {
  Failure f = failure(
      {
          make_record("foo", "2.0", {"__glibc >=2.34"}),
          make_record("foo", "1.0", {"qux >=3"}),
          make_record("qux", "1.0"),
      },
      {"foo"});
  EXPECT_EQ(f.message,
            "cannot satisfy the request: foo cannot be installed\n"
            "  the request needs foo, which foo 2.0 and 1.0 provide\n"
            "  foo 2.0 needs __glibc >=2.34, the target has __glibc 2.31\n"
            "  nothing provides qux >=3 needed by foo 1.0\n"
            "  the channels have qux 1.0");
}

TEST(CondaSolverExplain, UnreadableMetadata) {
  Failure f = failure({make_record("foo", "1.0", {"bar >=>1"})}, {"foo"});
  EXPECT_EQ(
      f.message.substr(0, f.message.find('\n')),
      "cannot satisfy the request: foo 1.0 has an entry that cannot be read: " + [] {
        try {
          MatchSpec::parse("bar >=>1");
        } catch (const Error& e) {
          return std::string(e.what());
        }
        return std::string();
      }());
}

TEST(CondaSolverExplain, OnlyTheConflictIsReported) {
  // Twenty satisfiable requirements and one conflict: the message has the
  // conflict only.
  std::vector<PackageRecord> records = {make_record("foo", "1.0", {"bar >=2"}),
                                        make_record("baz", "1.0", {"bar <2"}),
                                        make_record("bar", "1.0"), make_record("bar", "2.0")};
  std::vector<std::string> specs;
  for (int i = 0; i < 20; ++i) {
    std::string n = "ok" + std::to_string(i);
    records.push_back(make_record(n, "1.0", {"bar"}));
    specs.push_back(n);
  }
  specs.push_back("foo");
  specs.push_back("baz");
  Failure f = failure(records, specs);
  EXPECT_EQ(f.message.substr(0, f.message.find('\n')),
            "cannot satisfy the request: foo 1.0 needs bar >=2, but baz 1.0 needs bar <2");
  EXPECT_EQ(f.message.find("ok1"), std::string::npos) << f.message;
  EXPECT_EQ(f.core.specs, (std::vector<std::size_t>{20, 21}));
}
