#pragma once
// Every clause of one solve, original and learned, with where it came from.
// The origin is what turns a refutation back into sentences about packages:
// a clause knows it is "the request needs X" or "record R needs spec S".
#include <cstdint>
#include <span>
#include <vector>

#include "builder/conda/solver/literal.hpp"

namespace envbuild::builder::conda::solver {

using ClauseId = uint32_t;

enum class ClauseKind : uint8_t {
  Request,     // one of the candidates of a requested spec; payload: requirement id
  Requires,    // not parent, or one of the candidates of a depends entry; payload: requirement id
  Constrains,  // not parent, or not a record its run_constrained entry forbids; payload: constraint
               // id
  Invalid,     // not parent: its metadata cannot be read; payload: constraint id
  Learned,     // derived by conflict analysis; payload: index of its antecedent list
};

struct ClauseInfo {
  uint32_t begin = 0;
  uint32_t size = 0;
  ClauseKind kind = ClauseKind::Request;
  uint32_t payload = 0;
};

class ClauseStore {
 public:
  ClauseId add(std::span<const Lit> lits, ClauseKind kind, uint32_t payload);

  // The propagator reorders literals in place (the first two are watched).
  std::span<Lit> lits(ClauseId id) {
    const ClauseInfo& i = infos_[id];
    return {lits_.data() + i.begin, i.size};
  }
  std::span<const Lit> lits(ClauseId id) const {
    const ClauseInfo& i = infos_[id];
    return {lits_.data() + i.begin, i.size};
  }
  const ClauseInfo& info(ClauseId id) const { return infos_[id]; }
  std::size_t size() const { return infos_.size(); }
  std::size_t literal_count() const { return lits_.size(); }

 private:
  std::vector<Lit> lits_;  // all clauses back to back: one allocation, good locality
  std::vector<ClauseInfo> infos_;
};

}  // namespace envbuild::builder::conda::solver
