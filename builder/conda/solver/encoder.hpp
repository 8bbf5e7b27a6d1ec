#pragma once
// Turns the package problem into clauses as the search goes, and picks the
// decisions: the SatEngine's Driver.
//
// Clauses, each with its origin for the explanation:
//   Request     c1 | c2 | ...          the candidates of a requested spec
//   Requires    !p | c1 | c2 | ...     record p needs one of a depends entry's candidates
//   Constrains  !p | !r                p's run_constrained entry forbids record r
//   Invalid     !p                     p's metadata has an entry we cannot read
// plus one at-most-one group per name (in the engine) and virtual packages
// as level-0 facts. A record's clauses are added when it first becomes true
// (decided or propagated), and only then are the names it mentions loaded: a
// record the search never tries costs nothing. A run_constrained name is
// loaded with its owner, so its clauses can be complete from the start.
//
// Decisions: the first unsatisfied requirement in a queue holding the
// requested specs in request order, then the requirements of each true record
// in the order records became true, so requested names are decided first and
// dependencies breadth first; within a requirement the best candidate not yet
// false is tried (candidates are ordered by preference), after adding its
// clauses so that a candidate that cannot work is ruled out by propagation
// rather than by a conflict. After a backtrack the queue keeps the
// requirements whose record is still true, in order, and the scan resumes at
// the first one no longer satisfied.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "builder/conda/match_spec.hpp"
#include "builder/conda/solver/candidate_pool.hpp"
#include "builder/conda/solver/sat_engine.hpp"

namespace envbuild::builder::conda::solver {

class Encoder : public SatEngine::Driver {
 public:
  struct Spec {
    std::string text;               // as written (records) or displayed (request)
    std::optional<MatchSpec> spec;  // absent when the text does not parse
    std::string error;              // why it does not parse
    int request_index = -1;         // index into the request's specs, -1 for record entries
    NameId name = 0;
    std::vector<Var> matches;  // candidates satisfying it, best first (ascending)
  };
  struct Requirement {
    Var parent;     // kNoVar for a requested spec
    uint32_t spec;  // index into specs
  };
  struct Constraint {
    Var parent;
    uint32_t spec;
  };

  Encoder(CandidatePool& pool, SatEngine& engine);

  // Loads the virtual packages and adds the Request clauses, at level 0.
  void add_request(const std::vector<MatchSpec>& specs,
                   const std::vector<PackageRecord>& virtual_packages);

  void on_true(Var v) override;
  void on_backtrack() override;
  std::optional<Lit> decide() override;

  // After a satisfiable solve: the true records reachable from the request
  // through satisfied requirements (a record true for no requirement's sake
  // is left out), virtual packages excluded.
  std::vector<Var> installed() const;

  const Spec& spec(uint32_t i) const { return specs_[i]; }
  const Requirement& requirement(uint32_t i) const { return requirements_[i]; }
  const Constraint& constraint(uint32_t i) const { return constraints_[i]; }
  const std::vector<uint32_t>& roots() const { return roots_; }  // requirement ids, request order
  const CandidatePool& pool() const { return pool_; }

 private:
  void ensure_loaded(NameId name);
  uint32_t spec_for_text(const std::string& text);
  void resolve(uint32_t spec);
  void expand(Var v);
  Var true_match(uint32_t spec) const;

  CandidatePool& pool_;
  SatEngine& engine_;
  std::deque<Spec> specs_;
  std::unordered_map<std::string, uint32_t> spec_ids_;  // record entries by text
  std::vector<Requirement> requirements_;
  std::vector<Constraint> constraints_;
  std::vector<uint32_t> roots_;
  std::vector<uint8_t> expanded_;               // by var
  std::vector<std::vector<uint32_t>> reqs_of_;  // by var: its Requires requirement ids
  std::vector<uint32_t> queue_;                 // requirement ids, decision order
  std::size_t cursor_ = 0;                      // queue entries before it are satisfied
  std::vector<uint8_t> queued_;                 // by var: its requirements are in the queue
  std::vector<Var> satisfier_;                  // by requirement: the true candidate last seen
  std::vector<Lit> scratch_;
};

// `[channel::]name[ version[ build]]` plus bracketed build_number and subdir:
// how an explanation writes a requested spec.
std::string display_spec(const MatchSpec& spec);

}  // namespace envbuild::builder::conda::solver
