#pragma once
// Why a request is unsatisfiable, in sentences, from the clauses the
// refutation used (SatEngine::Core): each core clause is a fact about
// packages ("the request needs foo", "foo 1.0 needs bar >=2", "qux 1.0 allows
// only bar <2", "nothing provides ..."), the at-most-one pairs say where two
// requirements meet on one name. Records of one name with the same entry are
// merged into one line; lines go from the request down the dependency
// chains (breadth first). The summary names the two requirements that meet
// closest to the request, or the one missing thing when there is one.
#include <string>

#include "builder/conda/solver/clause_store.hpp"
#include "builder/conda/solver/encoder.hpp"
#include "builder/conda/solver/sat_engine.hpp"
#include "builder/conda/solver/solver.hpp"

namespace envbuild::builder::conda::solver {

struct Explanation {
  std::string message;
  ConflictCore core;
};

Explanation explain(const SatEngine::Core& core, const ClauseStore& clauses,
                    const Encoder& encoder);

}  // namespace envbuild::builder::conda::solver
