// The CDCL engine alone, on random CNF with at-most-one groups, against
// exhaustive search: models satisfy every clause, "unsatisfiable" is right,
// and the core it reports is unsatisfiable on its own. Half of the clauses
// arrive lazily (when a variable becomes true), as the encoder adds them.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "builder/conda/solver/clause_store.hpp"
#include "builder/conda/solver/sat_engine.hpp"

using namespace envbuild::builder::conda::solver;

namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed * 2654435761ULL + 1) {}
  uint32_t below(uint32_t n) {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return static_cast<uint32_t>(s_ % n);
  }

 private:
  uint64_t s_;
};

struct Formula {
  uint32_t vars = 0;
  std::vector<std::pair<Var, uint32_t>> groups;     // first, count
  std::vector<std::vector<Lit>> base;               // added before solving
  std::vector<std::vector<std::vector<Lit>>> lazy;  // by var: added when it becomes true
};

bool satisfied_by(const std::vector<std::vector<Lit>>& clauses,
                  const std::vector<std::pair<Var, Var>>& pairs, uint32_t mask) {
  auto value = [&](Lit l) { return (((mask >> l.var()) & 1U) != 0) != l.is_negative(); };
  for (const auto& c : clauses) {
    bool any = false;
    for (Lit l : c) any = any || value(l);
    if (!any) return false;
  }
  for (auto [a, b] : pairs)
    if (((mask >> a) & 1U) && ((mask >> b) & 1U)) return false;
  return true;
}

std::vector<std::pair<Var, Var>> all_pairs(const Formula& f) {
  std::vector<std::pair<Var, Var>> out;
  for (auto [first, count] : f.groups)
    for (Var a = first; a < first + count; ++a)
      for (Var b = a + 1; b < first + count; ++b) out.push_back({a, b});
  return out;
}

std::vector<std::vector<Lit>> all_clauses(const Formula& f) {
  std::vector<std::vector<Lit>> out = f.base;
  for (const auto& list : f.lazy) out.insert(out.end(), list.begin(), list.end());
  return out;
}

bool brute_force(const std::vector<std::vector<Lit>>& clauses,
                 const std::vector<std::pair<Var, Var>>& pairs, uint32_t vars) {
  for (uint32_t mask = 0; mask < (1U << vars); ++mask)
    if (satisfied_by(clauses, pairs, mask)) return true;
  return false;
}

Formula random_formula(uint64_t seed) {
  Rng rng(seed);
  Formula f;
  f.vars = 6 + rng.below(8);
  for (Var v = 0; v < f.vars;) {
    uint32_t count = std::min<uint32_t>(1 + rng.below(3), f.vars - v);
    f.groups.push_back({v, count});
    v += count;
  }
  f.lazy.resize(f.vars);
  uint32_t clauses = f.vars + rng.below(3 * f.vars);
  for (uint32_t i = 0; i < clauses; ++i) {
    std::vector<Lit> c;
    uint32_t len = 1 + rng.below(3);
    for (uint32_t k = 0; k < len; ++k) {
      Var v = rng.below(f.vars);
      Lit l = rng.below(2) ? Lit::positive(v) : Lit::negative(v);
      bool dup = false;
      for (Lit m : c) dup = dup || m.var() == v;
      if (!dup) c.push_back(l);
    }
    if (rng.below(2) == 0) {
      f.base.push_back(c);
    } else {
      // A lazy clause belongs to a variable and contains its negation.
      Var owner = rng.below(f.vars);
      std::vector<Lit> lazy = {Lit::negative(owner)};
      for (Lit l : c)
        if (l.var() != owner) lazy.push_back(l);
      f.lazy[owner].push_back(lazy);
    }
  }
  return f;
}

class TestDriver : public SatEngine::Driver {
 public:
  TestDriver(SatEngine& engine, const Formula& f, uint64_t seed)
      : engine_(engine), f_(f), added_(f.vars, false), rng_(seed) {}
  void on_true(Var v) override {
    if (added_[v]) return;
    added_[v] = true;
    for (const auto& c : f_.lazy[v]) engine_.add_clause(c, ClauseKind::Requires, 0);
  }
  void on_backtrack() override {}
  std::optional<Lit> decide() override {
    for (Var v = 0; v < f_.vars; ++v)
      if (engine_.value(v) == Value::Unset)
        return rng_.below(2) ? Lit::positive(v) : Lit::negative(v);
    return std::nullopt;
  }

 private:
  SatEngine& engine_;
  const Formula& f_;
  std::vector<bool> added_;
  Rng rng_;
};

}  // namespace

TEST(CondaSolverEngine, AgreesWithExhaustiveSearchOnRandomFormulas) {
  int sat = 0, unsat = 0;
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    Formula f = random_formula(seed);
    ClauseStore store;
    SatEngine engine(store);
    for (auto [first, count] : f.groups) ASSERT_EQ(engine.add_vars(count, true), first);
    for (const auto& c : f.base) engine.add_clause(c, ClauseKind::Request, 0);
    TestDriver driver(engine, f, seed);
    bool expected = brute_force(all_clauses(f), all_pairs(f), f.vars);
    SatEngine::Outcome outcome = engine.solve(driver, 100000);
    ASSERT_EQ(outcome == SatEngine::Outcome::Satisfiable, expected) << "seed " << seed;
    if (expected) {
      ++sat;
      uint32_t mask = 0;
      for (Var v = 0; v < f.vars; ++v) {
        ASSERT_NE(engine.value(v), Value::Unset);
        if (engine.value(v) == Value::True) mask |= 1U << v;
      }
      EXPECT_TRUE(satisfied_by(all_clauses(f), all_pairs(f), mask)) << "seed " << seed;
    } else {
      ++unsat;
      // The core alone is unsatisfiable, and it holds only original clauses.
      std::vector<std::vector<Lit>> core;
      for (ClauseId id : engine.core().clauses) {
        ASSERT_NE(store.info(id).kind, ClauseKind::Learned);
        auto lits = store.lits(id);
        core.emplace_back(lits.begin(), lits.end());
      }
      EXPECT_FALSE(brute_force(core, engine.core().at_most_one, f.vars)) << "seed " << seed;
    }
  }
  // Both outcomes are exercised.
  EXPECT_GT(sat, 500);
  EXPECT_GT(unsat, 500);
}

TEST(CondaSolverEngine, PigeonholeIsUnsatisfiableWithLearning) {
  // 6 pigeons, 5 holes: every pigeon in some hole (a clause), every hole
  // holds at most one pigeon (a group per hole, variables hole-major).
  const uint32_t pigeons = 6, holes = 5;
  ClauseStore store;
  SatEngine engine(store);
  for (uint32_t h = 0; h < holes; ++h) engine.add_vars(pigeons, true);
  auto var = [&](uint32_t p, uint32_t h) { return static_cast<Var>(h * pigeons + p); };
  for (uint32_t p = 0; p < pigeons; ++p) {
    std::vector<Lit> c;
    for (uint32_t h = 0; h < holes; ++h) c.push_back(Lit::positive(var(p, h)));
    engine.add_clause(c, ClauseKind::Request, p);
  }
  class Decide : public SatEngine::Driver {
   public:
    explicit Decide(SatEngine& e) : e_(e) {}
    void on_true(Var) override {}
    void on_backtrack() override {}
    std::optional<Lit> decide() override {
      for (Var v = 0; v < e_.var_count(); ++v)
        if (e_.value(v) == Value::Unset) return Lit::positive(v);
      return std::nullopt;
    }
    SatEngine& e_;
  } driver(engine);
  EXPECT_EQ(engine.solve(driver, 100000), SatEngine::Outcome::Unsatisfiable);
  EXPECT_GT(engine.stats().conflicts, 10U);
  EXPECT_EQ(engine.core().clauses.size(), pigeons);
}

TEST(CondaSolverEngine, ALateUnitClauseStaysInForceAfterABackjump) {
  // Variables c, a, b; c and a imply b. When b becomes true its lazy clauses
  // arrive: "not b or not a" (conflicting) and then "not b". Analysing the
  // first conflict backjumps to c's level, not to level 0; b must still stay
  // false for good, although its clauses are added only once.
  ClauseStore store;
  SatEngine engine(store);
  engine.add_vars(3, false);
  const Var c = 0, a = 1, b = 2;
  Lit base[3] = {Lit::negative(c), Lit::negative(a), Lit::positive(b)};
  engine.add_clause(base, ClauseKind::Request, 0);
  class Driver : public SatEngine::Driver {
   public:
    explicit Driver(SatEngine& e) : e_(e) {}
    void on_true(Var v) override {
      if (v != 2 || added_) return;
      added_ = true;
      Lit first[2] = {Lit::negative(2), Lit::negative(1)};
      e_.add_clause(first, ClauseKind::Requires, 0);
      Lit not_b = Lit::negative(2);
      e_.add_clause({&not_b, 1}, ClauseKind::Invalid, 0);
    }
    void on_backtrack() override {}
    std::optional<Lit> decide() override {
      for (Var v = 0; v < e_.var_count(); ++v)
        if (e_.value(v) == Value::Unset) return Lit::positive(v);
      return std::nullopt;
    }
    SatEngine& e_;
    bool added_ = false;
  } driver(engine);
  ASSERT_EQ(engine.solve(driver, 100), SatEngine::Outcome::Satisfiable);
  EXPECT_EQ(engine.value(c), Value::True);
  EXPECT_EQ(engine.value(a), Value::False);
  EXPECT_EQ(engine.value(b), Value::False);
}
