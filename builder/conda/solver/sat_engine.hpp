#pragma once
// A CDCL SAT engine for package problems: two-watched-literal propagation,
// first-UIP conflict analysis with clause learning and recursive clause
// minimization, and backjumping, made
// chronological when the jump would be long (Nadel and Ryvchin, "Chronological
// Backtracking", SAT 2018): every implied literal gets the level its reason
// implies it at, which may be below the current one, so a backtrack removes
// only the higher levels and keeps the order of what remains. A package
// search decides hundreds of names breadth first and most conflicts involve
// one early and one late decision; jumping back to the early one would redo
// every decision in between.
//
// Two things are specific to package solving:
// - Variables come in at-most-one groups (the records of one package name),
//   propagated natively: when one member becomes true the others become
//   false with the pair as the reason, so a name with n records costs no n^2
//   binary clauses.
// - Clauses arrive lazily. A Driver adds a record's clauses when it is about
//   to decide it or when it becomes true; it also picks the decisions. Every
//   such clause contains the negation of that record's variable, so it never
//   conflicts above that variable's level; when it is unit it is asserted at
//   the level it implies, and a one-literal clause ("this record can never be
//   installed") becomes a level-0 fact at once.
//
// Unsatisfiability is a conflict at level 0. The engine keeps, for each
// learned clause, the clauses it was derived from, so it can return the
// original clauses the refutation rests on (the core) for the explanation.
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "builder/conda/solver/clause_store.hpp"
#include "builder/conda/solver/literal.hpp"

namespace envbuild::builder::conda::solver {

// Why a variable has its value.
struct Reason {
  enum class Kind : uint8_t { None, Decision, Fact, Clause, AtMostOne };
  Kind kind = Kind::None;
  uint32_t id = 0;  // Clause: the clause; AtMostOne: the true variable of the group
};

// A clause whose literals are all false, or two true variables of one group
// (then `a` and `b` are the variables).
struct Conflict {
  bool at_most_one = false;
  uint32_t a = 0;
  uint32_t b = 0;
};

class SatEngine {
 public:
  class Driver {
   public:
    virtual ~Driver() = default;
    // `v` became true and is being propagated. Called each time it becomes
    // true again after a backtrack. May call add_clause; each such clause
    // must contain Lit::negative(v).
    virtual void on_true(Var v) = 0;
    // A backtrack removed assignments; trail() is what is left, the first
    // propagated() entries of it already propagated (and reported).
    virtual void on_backtrack() = 0;
    // The next decision (an unassigned literal), or nullopt when the current
    // assignment satisfies everything the driver needs. It may add clauses
    // first, each containing the negation of an unassigned variable (the
    // candidate it is about to decide); if they imply anything, the engine
    // propagates and asks again instead of deciding.
    virtual std::optional<Lit> decide() = 0;
  };

  struct Stats {
    uint64_t decisions = 0;
    uint64_t conflicts = 0;
    uint64_t propagations = 0;
    uint64_t learned_literals = 0;
    uint64_t chronological = 0;  // backtracks shortened to one level
    uint64_t missed = 0;         // conflicts that were only a late implication
  };

  // The original clauses, at-most-one pairs and facts a refutation used.
  struct Core {
    std::vector<ClauseId> clauses;
    std::vector<std::pair<Var, Var>> at_most_one;  // (smaller, larger)
    std::vector<Var> facts;
  };

  explicit SatEngine(ClauseStore& clauses) : clauses_(clauses) {}

  // `count` new variables, one at-most-one group when `at_most_one`. Returns
  // the first; they are consecutive.
  Var add_vars(uint32_t count, bool at_most_one);
  std::size_t var_count() const { return values_.size(); }
  // `v` is true at level 0 (a virtual package).
  void add_fact(Var v);
  // Adds a clause (see Driver for when); handles one that is already unit or
  // conflicting under the current assignment.
  ClauseId add_clause(std::span<const Lit> lits, ClauseKind kind, uint32_t payload);

  Value value(Var v) const { return values_[v]; }
  Value value(Lit l) const {
    Value v = values_[l.var()];
    return l.is_negative() ? static_cast<Value>(-static_cast<int>(v)) : v;
  }
  uint32_t level(Var v) const { return levels_[v]; }
  const Reason& reason(Var v) const { return reasons_[v]; }
  const std::vector<Lit>& trail() const { return trail_; }
  std::size_t propagated() const { return queue_head_; }

  enum class Outcome { Satisfiable, Unsatisfiable };
  // Runs to a model (every variable the driver cares about assigned, the
  // rest unset) or to a refutation. Throws Error(Internal) after
  // `max_conflicts` conflicts.
  Outcome solve(Driver& driver, uint64_t max_conflicts);

  // After Unsatisfiable.
  const Core& core() const { return core_; }
  const Stats& stats() const { return stats_; }

 private:
  // One step of a derivation, kept with a learned clause. `level0` entries
  // are reasons of level-0 literals that analysis dropped from the clause:
  // for those the core must also follow their own literals' reasons.
  struct Antecedent {
    Reason::Kind kind = Reason::Kind::Clause;
    uint32_t a = 0;  // Clause: id; AtMostOne: first var; Fact: var
    uint32_t b = 0;  // AtMostOne: second var
    bool level0 = false;
  };
  struct Group {
    Var first = 0;
    uint32_t count = 0;
  };
  // A clause watching a literal, with another literal of the clause: when
  // that one is true the clause is satisfied and need not be read.
  struct Watch {
    ClauseId clause;
    Lit blocker;
  };

  void assign(Lit lit, Reason reason, uint32_t level);
  std::optional<Conflict> propagate(Driver& driver);
  std::optional<Conflict> propagate_group(Var v);
  std::optional<Conflict> propagate_watches(Lit false_lit);
  // Literals of the conflict, all false.
  void conflict_lits(const Conflict& c, std::vector<Lit>& out) const;
  // Literals of the reason of `v`'s value other than its own, all false.
  void reason_lits(Var v, std::vector<Lit>& out) const;
  Antecedent antecedent_of(Var v, bool level0) const;
  // Resolves a conflict above level 0: a late implication or a learned clause.
  void resolve_conflict(const Conflict& c, Driver& driver);
  void learn(const Conflict& c, Driver& driver);
  void minimize(std::vector<Lit>& learned, std::vector<Antecedent>& antecedents,
                std::vector<Var>& touched);
  // Makes clause `id` watch its literals at positions 0 and 1.
  void rewatch(ClauseId id, std::size_t old0, std::size_t old1);
  void unwatch(Lit lit, ClauseId id);
  void backtrack(uint32_t level, Driver& driver);
  void extract_core(const Conflict& c);

  ClauseStore& clauses_;
  std::vector<Value> values_;
  std::vector<uint32_t> levels_;
  std::vector<Reason> reasons_;
  std::vector<uint32_t> group_of_;  // kNoGroup for variables outside groups
  std::vector<Group> groups_;
  std::vector<std::vector<Watch>> watches_;           // by literal code: clauses watching it
  std::vector<Lit> trail_;                            // assignment order; levels need not be sorted
  uint32_t level_ = 0;                                // decisions on the trail
  std::vector<std::size_t> level_starts_;             // trail position of each level's decision
  std::size_t queue_head_ = 0;                        // next trail entry to propagate
  std::optional<Conflict> pending_;                   // found while adding a clause
  std::vector<std::vector<Antecedent>> antecedents_;  // by learned clause payload
  std::vector<uint8_t> seen_;                         // analysis scratch, by var
  Core core_;
  Stats stats_;
};

}  // namespace envbuild::builder::conda::solver
