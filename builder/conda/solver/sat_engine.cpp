#include "builder/conda/solver/sat_engine.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <tuple>

#include "registry/error.hpp"

namespace envbuild::builder::conda::solver {

namespace {

constexpr uint32_t kNoGroup = UINT32_MAX;
// A backjump over more levels than this becomes a backtrack of one level (the
// learned literal still gets its proper, lower level). Nadel and Ryvchin use
// 100 for general SAT; package searches gain from shorter jumps still.
constexpr uint32_t kChronologicalDistance = 20;

[[noreturn]] void internal(const std::string& what) {
  throw Error(ErrorKind::Internal, "conda solver: " + what);
}

}  // namespace

Var SatEngine::add_vars(uint32_t count, bool at_most_one) {
  Var first = static_cast<Var>(values_.size());
  if (static_cast<uint64_t>(first) + count >= kNoVar) internal("too many variables");
  uint32_t group = kNoGroup;
  if (at_most_one && count > 1) {
    group = static_cast<uint32_t>(groups_.size());
    groups_.push_back({first, count});
  }
  std::size_t n = values_.size() + count;
  values_.resize(n, Value::Unset);
  levels_.resize(n, 0);
  reasons_.resize(n);
  group_of_.resize(n, group);
  seen_.resize(n, 0);
  watches_.resize(2 * n);
  return first;
}

void SatEngine::add_fact(Var v) {
  if (level_ != 0) internal("a fact above level 0");
  if (values_[v] == Value::Unset) assign(Lit::positive(v), {Reason::Kind::Fact, 0}, 0);
}

void SatEngine::assign(Lit lit, Reason reason, uint32_t level) {
  Var v = lit.var();
  values_[v] = lit.is_negative() ? Value::False : Value::True;
  levels_[v] = level;
  reasons_[v] = reason;
  trail_.push_back(lit);
}

ClauseId SatEngine::add_clause(std::span<const Lit> lits, ClauseKind kind, uint32_t payload) {
  ClauseId id = clauses_.add(lits, kind, payload);
  std::span<Lit> c = clauses_.lits(id);
  // A one-literal conflict is preferred: it resolves to a level-0 fact.
  auto note_conflict = [&] {
    if (!pending_ || c.size() == 1) pending_ = Conflict{false, id, 0};
  };
  if (c.empty()) {
    note_conflict();
    return id;
  }
  if (c.size() == 1) {
    // "This record can never be installed": a fact at level 0 whatever the
    // current level. The watch reports it should the record be true now.
    watches_[c[0].code()].push_back({id, c[0]});
    Value v = value(c[0]);
    if (v == Value::False) note_conflict();
    if (v == Value::Unset) assign(c[0], {Reason::Kind::Clause, id}, 0);
    return id;
  }
  // Watch the two best literals: true ones first (lowest level), then
  // unassigned, then false ones from the highest level down.
  auto rank = [&](Lit l) {
    Value v = value(l);
    if (v == Value::True) return std::make_tuple(0, static_cast<int64_t>(level(l.var())));
    if (v == Value::Unset) return std::make_tuple(1, int64_t{0});
    return std::make_tuple(2, -static_cast<int64_t>(level(l.var())));
  };
  Lit owner = c[0];
  for (std::size_t slot = 0; slot < 2; ++slot) {
    std::size_t best = slot;
    for (std::size_t k = slot + 1; k < c.size(); ++k)
      if (rank(c[k]) < rank(c[best])) best = k;
    std::swap(c[slot], c[best]);
  }
  // The first literal given ("not parent" for a driver's clause) becomes the
  // first replacement a watch looks at: once the parent is false the clause
  // is satisfied and stops being visited whenever the required name's
  // candidates change, which for a popular name is most of the time.
  for (std::size_t k = 3; k < c.size(); ++k)
    if (c[k] == owner) std::swap(c[2], c[k]);
  watches_[c[0].code()].push_back({id, c[1]});
  watches_[c[1].code()].push_back({id, c[0]});
  Value v0 = value(c[0]);
  if (v0 == Value::False) {
    note_conflict();
  } else if (v0 == Value::Unset && value(c[1]) == Value::False) {
    // Unit: implied at the level of its highest false literal, c[1].
    assign(c[0], {Reason::Kind::Clause, id}, level(c[1].var()));
  }
  return id;
}

std::optional<Conflict> SatEngine::propagate(Driver& driver) {
  while (queue_head_ < trail_.size()) {
    Lit p = trail_[queue_head_];
    ++stats_.propagations;
    std::optional<Conflict> c;
    if (!p.is_negative()) {
      driver.on_true(p.var());
      if (pending_) {
        c = pending_;
        pending_.reset();
      } else {
        c = propagate_group(p.var());
      }
    }
    if (!c) c = propagate_watches(~p);
    // A conflict leaves p half propagated. p may survive the backtrack (its
    // level can be below the conflict's), so it counts as not propagated and
    // is propagated again; each step is idempotent.
    if (c) return c;
    ++queue_head_;
  }
  return std::nullopt;
}

std::optional<Conflict> SatEngine::propagate_group(Var v) {
  uint32_t g = group_of_[v];
  if (g == kNoGroup) return std::nullopt;
  const Group& group = groups_[g];
  for (Var u = group.first; u < group.first + group.count; ++u) {
    if (u == v) continue;
    if (values_[u] == Value::True) return Conflict{true, v, u};
    if (values_[u] == Value::Unset)
      assign(Lit::negative(u), {Reason::Kind::AtMostOne, v}, levels_[v]);
  }
  return std::nullopt;
}

std::optional<Conflict> SatEngine::propagate_watches(Lit false_lit) {
  std::vector<Watch>& ws = watches_[false_lit.code()];
  std::size_t keep = 0;
  auto stop = [&](std::size_t from, ClauseId id) {
    for (std::size_t j = from; j < ws.size(); ++j) ws[keep++] = ws[j];
    ws.resize(keep);
    return Conflict{false, id, 0};
  };
  for (std::size_t i = 0; i < ws.size(); ++i) {
    Watch w = ws[i];
    if (value(w.blocker) == Value::True) {
      ws[keep++] = w;
      continue;
    }
    std::span<Lit> c = clauses_.lits(w.clause);
    if (c.size() == 1) return stop(i, w.clause);  // its only literal is false
    if (c[0] == false_lit) std::swap(c[0], c[1]);
    if (value(c[0]) == Value::True) {
      ws[keep++] = {w.clause, c[0]};
      continue;
    }
    bool moved = false;
    for (std::size_t k = 2; k < c.size(); ++k) {
      if (value(c[k]) != Value::False) {
        std::swap(c[1], c[k]);
        watches_[c[1].code()].push_back({w.clause, c[0]});
        moved = true;
        break;
      }
    }
    if (moved) continue;
    if (value(c[0]) == Value::False) {
      ws[keep++] = {w.clause, c[0]};
      return stop(i + 1, w.clause);
    }
    // Unit: c[0] is implied at the highest level of the false literals.
    // That literal becomes the second watch, so that undoing its level
    // undoes the implication with it.
    std::size_t top = 1;
    for (std::size_t k = 2; k < c.size(); ++k)
      if (levels_[c[k].var()] > levels_[c[top].var()]) top = k;
    if (top != 1) {
      std::swap(c[1], c[top]);
      watches_[c[1].code()].push_back({w.clause, c[0]});
    } else {
      ws[keep++] = {w.clause, c[0]};
    }
    assign(c[0], {Reason::Kind::Clause, w.clause}, levels_[c[1].var()]);
  }
  ws.resize(keep);
  return std::nullopt;
}

void SatEngine::conflict_lits(const Conflict& c, std::vector<Lit>& out) const {
  out.clear();
  if (c.at_most_one) {
    out.push_back(Lit::negative(c.a));
    out.push_back(Lit::negative(c.b));
  } else {
    std::span<const Lit> lits = clauses_.lits(c.a);
    out.assign(lits.begin(), lits.end());
  }
}

void SatEngine::reason_lits(Var v, std::vector<Lit>& out) const {
  out.clear();
  const Reason& r = reasons_[v];
  if (r.kind == Reason::Kind::AtMostOne) {
    out.push_back(Lit::negative(r.id));
  } else if (r.kind == Reason::Kind::Clause) {
    for (Lit l : clauses_.lits(r.id))
      if (l.var() != v) out.push_back(l);
  }
}

SatEngine::Antecedent SatEngine::antecedent_of(Var v, bool level0) const {
  const Reason& r = reasons_[v];
  Antecedent a;
  a.level0 = level0;
  a.kind = r.kind;
  if (r.kind == Reason::Kind::Clause) {
    a.a = r.id;
  } else if (r.kind == Reason::Kind::AtMostOne) {
    a.a = r.id;
    a.b = v;
  } else {
    a.a = v;
  }
  return a;
}

void SatEngine::unwatch(Lit lit, ClauseId id) {
  std::vector<Watch>& ws = watches_[lit.code()];
  for (std::size_t i = 0; i < ws.size(); ++i) {
    if (ws[i].clause == id) {
      ws[i] = ws.back();
      ws.pop_back();
      return;
    }
  }
}

void SatEngine::rewatch(ClauseId id, std::size_t want0, std::size_t want1) {
  std::span<Lit> c = clauses_.lits(id);
  unwatch(c[0], id);
  unwatch(c[1], id);
  Lit a = c[want0];
  Lit b = c[want1];
  std::size_t ia = std::find(c.begin(), c.end(), a) - c.begin();
  std::swap(c[0], c[ia]);
  std::size_t ib = std::find(c.begin(), c.end(), b) - c.begin();
  std::swap(c[1], c[ib]);
  watches_[c[0].code()].push_back({id, c[1]});
  watches_[c[1].code()].push_back({id, c[0]});
}

void SatEngine::resolve_conflict(const Conflict& conflict, Driver& driver) {
  std::vector<Lit> lits;
  conflict_lits(conflict, lits);
  uint32_t top = 0;
  std::size_t at_top = 0;
  std::size_t top_index = 0;
  for (std::size_t i = 0; i < lits.size(); ++i) {
    uint32_t l = levels_[lits[i].var()];
    if (l > top) {
      top = l;
      at_top = 1;
      top_index = i;
    } else if (l == top) {
      ++at_top;
    }
  }
  if (at_top == 1) {
    // Only one literal at the highest level: not a real conflict but an
    // implication found late (a lazily added clause, or one whose watch
    // was true at a higher level). Undo that level and assert the literal
    // where the rest of the clause implies it.
    ++stats_.missed;
    uint32_t second = 0;
    std::size_t second_index = top_index;
    for (std::size_t i = 0; i < lits.size(); ++i) {
      if (i != top_index && levels_[lits[i].var()] >= second) {
        second = levels_[lits[i].var()];
        second_index = i;
      }
    }
    Lit implied = lits[top_index];
    backtrack(top - 1, driver);
    if (conflict.at_most_one) {
      Var other = implied.var() == conflict.a ? conflict.b : conflict.a;
      assign(implied, {Reason::Kind::AtMostOne, other}, second);
    } else {
      if (lits.size() > 1) {
        std::span<const Lit> c = clauses_.lits(conflict.a);
        std::size_t i0 = std::find(c.begin(), c.end(), implied) - c.begin();
        std::size_t i1 = std::find(c.begin(), c.end(), lits[second_index]) - c.begin();
        rewatch(conflict.a, i0, i1);
      }
      assign(implied, {Reason::Kind::Clause, conflict.a}, second);
    }
    return;
  }
  backtrack(top, driver);
  learn(conflict, driver);
}

void SatEngine::learn(const Conflict& conflict, Driver& driver) {
  std::vector<Lit> learned(1);
  std::vector<Antecedent> antecedents;
  std::vector<Var> touched;
  std::vector<Lit> lits;
  antecedents.push_back(conflict.at_most_one
                            ? Antecedent{Reason::Kind::AtMostOne, conflict.a, conflict.b, false}
                            : Antecedent{Reason::Kind::Clause, conflict.a, 0, false});
  conflict_lits(conflict, lits);
  int open = 0;  // literals of the conflict level still to resolve
  std::size_t index = trail_.size();
  Lit p;
  while (true) {
    for (Lit q : lits) {
      Var v = q.var();
      if (seen_[v]) continue;
      seen_[v] = 1;
      touched.push_back(v);
      if (levels_[v] == 0) {
        antecedents.push_back(antecedent_of(v, true));
      } else if (levels_[v] == level_) {
        ++open;
      } else {
        learned.push_back(q);
      }
    }
    // The trail holds lower levels in between: skip them.
    do {
      if (index == 0) internal("conflict analysis ran off the trail");
      --index;
    } while (!seen_[trail_[index].var()] || levels_[trail_[index].var()] != level_);
    p = trail_[index];
    if (--open == 0) break;
    reason_lits(p.var(), lits);
    antecedents.push_back(antecedent_of(p.var(), false));
  }
  learned[0] = ~p;
  minimize(learned, antecedents, touched);
  for (Var v : touched) seen_[v] = 0;

  uint32_t assert_level = 0;
  if (learned.size() > 1) {
    std::size_t best = 1;
    for (std::size_t k = 2; k < learned.size(); ++k)
      if (levels_[learned[k].var()] > levels_[learned[best].var()]) best = k;
    std::swap(learned[1], learned[best]);
    assert_level = levels_[learned[1].var()];
  }
  stats_.learned_literals += learned.size();
  uint32_t target = assert_level;
  if (level_ - assert_level > kChronologicalDistance) {
    target = level_ - 1;
    ++stats_.chronological;
  }
  backtrack(target, driver);

  uint32_t payload = static_cast<uint32_t>(antecedents_.size());
  antecedents_.push_back(std::move(antecedents));
  ClauseId id = clauses_.add(learned, ClauseKind::Learned, payload);
  if (learned.size() > 1) {
    watches_[learned[0].code()].push_back({id, learned[1]});
    watches_[learned[1].code()].push_back({id, learned[0]});
  }
  assign(learned[0], {Reason::Kind::Clause, id}, assert_level);
}

void SatEngine::minimize(std::vector<Lit>& learned, std::vector<Antecedent>& antecedents,
                         std::vector<Var>& touched) {
  // Drop literals implied by the others through their reasons (MiniSat's
  // recursive minimization): shorter clauses prune more. seen_ marks the
  // clause's variables and those proven implied; the reasons a proof walks
  // join the derivation, and level-0 literals on the way the level-0 ones.
  uint32_t levels = 0;  // a one-bit hash of the levels in the clause
  for (std::size_t i = 1; i < learned.size(); ++i) levels |= 1U << (levels_[learned[i].var()] & 31);
  std::vector<Lit> lits;
  auto redundant = [&](Var start) {
    std::vector<Var> stack{start};
    std::size_t marked = touched.size();
    std::vector<Antecedent> used;
    while (!stack.empty()) {
      Var v = stack.back();
      stack.pop_back();
      used.push_back(antecedent_of(v, false));
      reason_lits(v, lits);
      for (Lit q : lits) {
        Var u = q.var();
        if (seen_[u]) continue;
        if (levels_[u] == 0) {
          seen_[u] = 1;
          touched.push_back(u);
          used.push_back(antecedent_of(u, true));
          continue;
        }
        Reason::Kind k = reasons_[u].kind;
        bool implied = k == Reason::Kind::Clause || k == Reason::Kind::AtMostOne;
        if (!implied || !(levels & (1U << (levels_[u] & 31)))) {
          for (std::size_t i = marked; i < touched.size(); ++i) seen_[touched[i]] = 0;
          touched.resize(marked);
          return false;
        }
        seen_[u] = 1;
        touched.push_back(u);
        stack.push_back(u);
      }
    }
    antecedents.insert(antecedents.end(), used.begin(), used.end());
    return true;
  };
  std::size_t keep = 1;
  for (std::size_t i = 1; i < learned.size(); ++i) {
    Var v = learned[i].var();
    Reason::Kind k = reasons_[v].kind;
    bool implied = k == Reason::Kind::Clause || k == Reason::Kind::AtMostOne;
    if (!implied || !redundant(v)) learned[keep++] = learned[i];
  }
  learned.resize(keep);
}

void SatEngine::backtrack(uint32_t level, Driver& driver) {
  if (level >= level_) return;
  // Keep every assignment of level <= `level`, in order; the kept ones that
  // were propagated stay propagated (their consequences at kept levels are
  // kept too: an implication's level is the highest of its reason's).
  // Everything before the decision of level + 1 is kept as it is.
  std::size_t start = level_starts_[level];
  std::size_t keep = start;
  std::size_t head = std::min(queue_head_, start);
  for (std::size_t i = start; i < trail_.size(); ++i) {
    Lit l = trail_[i];
    Var v = l.var();
    if (levels_[v] <= level) {
      if (i < queue_head_) ++head;
      trail_[keep++] = l;
    } else {
      values_[v] = Value::Unset;
      reasons_[v] = {};
    }
  }
  trail_.resize(keep);
  queue_head_ = head;
  level_ = level;
  level_starts_.resize(level);
  pending_.reset();
  driver.on_backtrack();
}

SatEngine::Outcome SatEngine::solve(Driver& driver, uint64_t max_conflicts) {
  while (true) {
    std::optional<Conflict> conflict;
    if (pending_) {
      conflict = pending_;
      pending_.reset();
    } else {
      conflict = propagate(driver);
    }
    if (conflict) {
      ++stats_.conflicts;
      std::vector<Lit> lits;
      conflict_lits(*conflict, lits);
      bool at_level0 =
          std::all_of(lits.begin(), lits.end(), [&](Lit l) { return levels_[l.var()] == 0; });
      if (at_level0) {
        extract_core(*conflict);
        return Outcome::Unsatisfiable;
      }
      if (stats_.conflicts > max_conflicts)
        throw Error(ErrorKind::Internal, "conda solver: gave up after " +
                                             std::to_string(max_conflicts) +
                                             " conflicts; the request is too hard to decide");
      resolve_conflict(*conflict, driver);
      continue;
    }
    std::optional<Lit> decision = driver.decide();
    // The driver may add clauses while it looks for a decision (expanding a
    // candidate first); what they imply is propagated before any decision.
    if (pending_ || queue_head_ < trail_.size()) continue;
    if (!decision) return Outcome::Satisfiable;
    if (value(*decision) != Value::Unset) internal("a decision on an assigned variable");
    ++stats_.decisions;
    level_starts_.push_back(trail_.size());
    ++level_;
    assign(*decision, {Reason::Kind::Decision, 0}, level_);
  }
}

void SatEngine::extract_core(const Conflict& conflict) {
  // Walk the refutation back to original clauses. Clauses used at level 0
  // (the final conflict and the reasons of level-0 literals) pull in the
  // reasons of their literals; learned clauses pull in their derivations.
  std::set<ClauseId> clauses;
  std::set<std::pair<Var, Var>> pairs;
  std::set<Var> facts;
  std::vector<uint8_t> var_done(values_.size(), 0);
  std::vector<uint8_t> clause_done(clauses_.size(), 0);  // bit 1: derivation, bit 2: literals
  std::vector<Antecedent> work;
  work.push_back(conflict.at_most_one
                     ? Antecedent{Reason::Kind::AtMostOne, conflict.a, conflict.b, true}
                     : Antecedent{Reason::Kind::Clause, conflict.a, 0, true});
  auto follow_var = [&](Var v) {
    if (var_done[v]) return;
    var_done[v] = 1;
    if (levels_[v] != 0 || values_[v] == Value::Unset) internal("core: literal above level 0");
    work.push_back(antecedent_of(v, true));
  };
  while (!work.empty()) {
    Antecedent a = work.back();
    work.pop_back();
    switch (a.kind) {
      case Reason::Kind::Clause: {
        uint8_t& done = clause_done[a.a];
        if (!(done & 1)) {
          done |= 1;
          const ClauseInfo& info = clauses_.info(a.a);
          if (info.kind == ClauseKind::Learned) {
            for (const Antecedent& b : antecedents_[info.payload]) work.push_back(b);
          } else {
            clauses.insert(a.a);
          }
        }
        if (a.level0 && !(done & 2)) {
          done |= 2;
          for (Lit l : clauses_.lits(a.a)) follow_var(l.var());
        }
        break;
      }
      case Reason::Kind::AtMostOne:
        pairs.insert({std::min(a.a, a.b), std::max(a.a, a.b)});
        if (a.level0) {
          follow_var(a.a);
          follow_var(a.b);
        }
        break;
      case Reason::Kind::Fact:
        facts.insert(a.a);
        break;
      case Reason::Kind::None:
      case Reason::Kind::Decision:
        internal("core: a decision in a level-0 refutation");
    }
  }
  core_.clauses.assign(clauses.begin(), clauses.end());
  core_.at_most_one.assign(pairs.begin(), pairs.end());
  core_.facts.assign(facts.begin(), facts.end());
}

}  // namespace envbuild::builder::conda::solver
