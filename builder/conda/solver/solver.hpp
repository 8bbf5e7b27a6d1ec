#pragma once
// The conda dependency solver: which records to install for a list of
// MatchSpecs, natively (no conda, no libsolv).
//
// It is a CDCL SAT solver (solver/sat_engine.hpp) over the candidate records,
// fed lazily (solver/encoder.hpp): a name's records are read from the
// PackageSource only when the search reaches the name, and a record's
// dependency clauses are added only when the record becomes true, so a
// channel with hundreds of thousands of records costs what the reachable part
// costs.
//
// Preferences (solver/candidate_order.hpp) follow conda and mamba: per name,
// strict channel priority keeps only the highest-priority channel that has the
// name; then fewer track_features (a record with any ranks below every record
// without), higher version, higher build number, arch-specific over noarch,
// newer timestamp. Requested names are decided first in request order, then
// their dependencies breadth first, each time taking the best record still
// possible. That is greedy, not an optimization over the whole solution: the
// best record of the first requested name that is part of any solution is
// always chosen, later choices are the best given the earlier ones, and a
// conflict revises the most recent choice first (see encoder.hpp).
//
// The same request and records give the same solution whatever order the
// source returns candidates in.
#include <cstddef>
#include <string>
#include <vector>

#include "builder/conda/match_spec.hpp"
#include "builder/conda/package_record.hpp"
#include "builder/conda/package_source.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {

enum class ChannelPriority {
  Strict,    // a name comes only from the highest-priority channel that has it
  Flexible,  // channel priority is the first preference, ahead of version
  Disabled,  // channel priority only breaks ties between equal versions
};

struct SolveRequest {
  std::vector<MatchSpec> specs;                 // what the environment asks for
  std::vector<PackageRecord> virtual_packages;  // __glibc, __linux, ...: present, never installed
  // Limits on a name, should anything need it; a pin never asks for its
  // name (solver/pinned_source.hpp).
  std::vector<MatchSpec> pinned;
  ChannelPriority channel_priority = ChannelPriority::Strict;
};

struct Solution {
  std::vector<PackageRecord> packages;  // sorted by name; virtual packages excluded
};

// The requirements an unsatisfiable request fails on: together, with only
// these dependencies and constraints, they already have no solution.
struct ConflictCore {
  struct Edge {
    std::string record;  // PackageRecord::dist_name() of the record that has the entry
    std::string spec;    // the depends or constrains entry as written
    bool operator==(const Edge&) const = default;
  };
  std::vector<std::size_t> specs;  // indexes into SolveRequest::specs
  std::vector<Edge> depends;
  std::vector<Edge> constrains;
};

// Error(BadInput). what(): a summary line ("cannot satisfy the request: ...")
// then one self-contained line per fact of the conflict, requested packages
// first and then down the dependency chains.
class UnsatisfiableError : public Error {
 public:
  UnsatisfiableError(const std::string& message, ConflictCore core)
      : Error(ErrorKind::BadInput, message), core_(std::move(core)) {}
  const ConflictCore& core() const { return core_; }

 private:
  ConflictCore core_;
};

// Throws UnsatisfiableError when no set of records satisfies the request, and
// Error(Internal) when the search gives up (far beyond any real environment).
Solution solve(const SolveRequest& request, PackageSource& source);

}  // namespace envbuild::builder::conda
