#include "builder/conda/solver/explain.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>

#include "builder/conda/solver/record_match.hpp"

namespace envbuild::builder::conda::solver {

namespace {

constexpr int kUnreached = 1 << 20;
constexpr std::size_t kMaxLines = 60;

// A requirement in the core: a requested spec, or one depends entry shared by
// records of one name (merged).
struct Need {
  bool requested = false;
  NameId parent_name = 0;
  std::vector<Var> parents;  // ascending: best record first
  uint32_t spec = 0;
  int depth = kUnreached;
};

// A run_constrained entry shared by records of one name, and what it forbids.
struct Limit {
  NameId parent_name = 0;
  std::vector<Var> parents;
  uint32_t spec = 0;
  std::set<Var> forbidden;
  int depth = kUnreached;
};

// An entry that does not parse, shared by records of one name.
struct Broken {
  NameId parent_name = 0;
  std::vector<Var> parents;
  uint32_t spec = 0;
  int depth = kUnreached;
};

void add_unique(std::vector<Var>& list, Var v) {
  if (std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
}

class Writer {
 public:
  Writer(const SatEngine::Core& core, const ClauseStore& clauses, const Encoder& encoder)
      : core_(core), clauses_(clauses), enc_(encoder), pool_(encoder.pool()) {}

  Explanation run() {
    collect();
    compute_depths();
    std::vector<std::string> lines = body();
    Explanation out;
    out.message = "cannot satisfy the request: " + summary();
    std::set<std::string> printed;
    std::size_t shown = 0;
    for (const std::string& line : lines) {
      if (!printed.insert(line).second) continue;
      if (shown == kMaxLines) {
        out.message += "\n  ... and more";
        break;
      }
      out.message += "\n  " + line;
      ++shown;
    }
    out.core = conflict_core();
    return out;
  }

 private:
  // --- facts ---------------------------------------------------------------

  void collect() {
    std::map<std::pair<NameId, uint32_t>, std::size_t> need_at, limit_at, broken_at;
    for (ClauseId id : core_.clauses) {
      const ClauseInfo& info = clauses_.info(id);
      switch (info.kind) {
        case ClauseKind::Request: {
          Need n;
          n.requested = true;
          n.spec = enc_.requirement(info.payload).spec;
          n.depth = 0;
          roots_.push_back(std::move(n));
          break;
        }
        case ClauseKind::Requires: {
          const Encoder::Requirement& r = enc_.requirement(info.payload);
          NameId name = pool_.candidate(r.parent).name;
          auto [it, fresh] = need_at.try_emplace({name, r.spec}, needs_.size());
          if (fresh) {
            needs_.push_back({});
            needs_.back().parent_name = name;
            needs_.back().spec = r.spec;
          }
          add_unique(needs_[it->second].parents, r.parent);
          edges_[r.parent].push_back(r.spec);
          break;
        }
        case ClauseKind::Constrains: {
          const Encoder::Constraint& c = enc_.constraint(info.payload);
          NameId name = pool_.candidate(c.parent).name;
          auto [it, fresh] = limit_at.try_emplace({name, c.spec}, limits_.size());
          if (fresh) {
            limits_.push_back({});
            limits_.back().parent_name = name;
            limits_.back().spec = c.spec;
          }
          Limit& limit = limits_[it->second];
          add_unique(limit.parents, c.parent);
          Var forbidden = c.parent;  // a record forbidding itself has a one-literal clause
          for (Lit l : clauses_.lits(id))
            if (l.var() != c.parent) forbidden = l.var();
          limit.forbidden.insert(forbidden);
          break;
        }
        case ClauseKind::Invalid: {
          const Encoder::Constraint& c = enc_.constraint(info.payload);
          NameId name = pool_.candidate(c.parent).name;
          auto [it, fresh] = broken_at.try_emplace({name, c.spec}, broken_.size());
          if (fresh) {
            broken_.push_back({});
            broken_.back().parent_name = name;
            broken_.back().spec = c.spec;
          }
          add_unique(broken_[it->second].parents, c.parent);
          break;
        }
        case ClauseKind::Learned:
          break;  // the core holds original clauses only
      }
    }
    std::sort(roots_.begin(), roots_.end(), [&](const Need& a, const Need& b) {
      return enc_.spec(a.spec).request_index < enc_.spec(b.spec).request_index;
    });
    // A missing requested package is reported with every other missing one.
    bool missing_root = std::any_of(roots_.begin(), roots_.end(), [&](const Need& n) {
      return enc_.spec(n.spec).matches.empty();
    });
    if (missing_root) {
      for (uint32_t req : enc_.roots()) {
        uint32_t spec = enc_.requirement(req).spec;
        bool listed = std::any_of(roots_.begin(), roots_.end(),
                                  [&](const Need& n) { return n.spec == spec; });
        if (!listed && enc_.spec(spec).matches.empty()) {
          Need n;
          n.requested = true;
          n.spec = spec;
          n.depth = 0;
          roots_.push_back(n);
        }
      }
      std::sort(roots_.begin(), roots_.end(), [&](const Need& a, const Need& b) {
        return enc_.spec(a.spec).request_index < enc_.spec(b.spec).request_index;
      });
    }
    for (Need& n : needs_) std::sort(n.parents.begin(), n.parents.end());
    for (Limit& l : limits_) std::sort(l.parents.begin(), l.parents.end());
    for (Broken& b : broken_) std::sort(b.parents.begin(), b.parents.end());
  }

  // Breadth first from the request through the core's requirements: how far
  // each record is from the request, so lines and the summary start there.
  void compute_depths() {
    std::vector<Var> frontier;
    auto reach = [&](Var v, int d) {
      if (depth_.count(v)) return;
      depth_[v] = d;
      frontier.push_back(v);
    };
    for (const Need& n : roots_)
      for (Var m : enc_.spec(n.spec).matches) reach(m, 1);
    for (std::size_t i = 0; i < frontier.size(); ++i) {
      Var v = frontier[i];
      auto it = edges_.find(v);
      if (it == edges_.end()) continue;
      for (uint32_t spec : it->second)
        for (Var m : enc_.spec(spec).matches) reach(m, depth_[v] + 1);
    }
    auto group_depth = [&](const std::vector<Var>& parents) {
      int d = kUnreached;
      for (Var p : parents) {
        auto it = depth_.find(p);
        if (it != depth_.end()) d = std::min(d, it->second);
      }
      return d;
    };
    for (Need& n : needs_) n.depth = group_depth(n.parents);
    for (Limit& l : limits_) l.depth = group_depth(l.parents);
    for (Broken& b : broken_) b.depth = group_depth(b.parents);
  }

  // --- phrases -------------------------------------------------------------

  const std::string& name_of(NameId id) const { return pool_.name(id).name; }

  // "foo 1.0", "foo 1.1 and 1.0", "foo 3, 2.1, 2.0 and 4 other versions".
  static std::string versions_phrase(const std::string& name,
                                     const std::vector<std::string>& versions_in, bool* plural) {
    std::vector<std::string> versions;
    for (const std::string& v : versions_in)
      if (std::find(versions.begin(), versions.end(), v) == versions.end()) versions.push_back(v);
    if (plural) *plural = versions.size() > 1;
    std::string out = name + " ";
    std::size_t shown = versions.size() > 4 ? 3 : versions.size();
    for (std::size_t i = 0; i < shown; ++i) {
      if (i > 0) out += (i + 1 == shown && shown == versions.size()) ? " and " : ", ";
      out += versions[i];
    }
    if (shown < versions.size())
      out += " and " + std::to_string(versions.size() - shown) + " other versions";
    return out;
  }

  std::string vars_phrase(NameId name, const std::vector<Var>& vars, bool* plural) const {
    std::vector<std::string> versions;
    for (Var v : vars) versions.push_back(pool_.candidate(v).record->version);
    return versions_phrase(name_of(name), versions, plural);
  }

  // Who has an entry: "foo 1.0", "foo (requested)" when the records are all
  // the request's candidates for foo, else "foo 1.1 and 1.0".
  // One record: "foo 1.0", or "foo 1.0 py311_0" when foo 1.0 has several
  // builds, so the line says which.
  std::string record_label(Var v) const {
    const Candidate& c = pool_.candidate(v);
    const NameEntry& e = pool_.name(c.name);
    std::string out = e.name + " " + c.record->version;
    for (Var u = e.first; u < e.first + e.count; ++u) {
      if (u != v && pool_.candidate(u).record->version == c.record->version) {
        out += " " + c.record->build;
        break;
      }
    }
    return out;
  }

  std::string label(NameId name, const std::vector<Var>& parents, bool* plural) const {
    *plural = false;
    if (parents.size() == 1) return record_label(parents.front());
    for (const Need& r : roots_) {
      const Encoder::Spec& s = enc_.spec(r.spec);
      if (s.matches.empty() || s.name != name) continue;
      if (std::includes(parents.begin(), parents.end(), s.matches.begin(), s.matches.end()))
        return name_of(name) + " (requested)";
    }
    return vars_phrase(name, parents, plural);
  }

  std::string who(const Need& n, bool* plural) const {
    if (n.requested) {
      *plural = false;
      return "the request";
    }
    return label(n.parent_name, n.parents, plural);
  }

  std::string target_has(NameId name) const {
    const NameEntry& e = pool_.name(name);
    if (e.count == 0) return "the target has no " + e.name;
    std::vector<Var> all;
    for (Var v = e.first; v < e.first + e.count; ++v) all.push_back(v);
    return "the target has " + vars_phrase(name, all, nullptr);
  }

  // The sentence for a requirement with no candidate.
  std::string missing(const Need& n) const {
    const Encoder::Spec& s = enc_.spec(n.spec);
    const NameEntry& e = pool_.name(s.name);
    bool plural = false;
    std::string by = who(n, &plural);
    if (e.is_virtual)
      return by + (plural ? " need " : " needs ") + s.text + ", " + target_has(s.name);
    if (e.source_records == 0) {
      std::string none = "no package named '" + e.name + "' in the channels";
      return n.requested ? none : "nothing provides " + s.text + " needed by " + by + ": " + none;
    }
    return "nothing provides " + s.text + (n.requested ? " (requested)" : " needed by " + by);
  }

  std::string need_line(const Need& n) const {
    const Encoder::Spec& s = enc_.spec(n.spec);
    if (s.matches.empty()) return missing(n);
    bool plural = false;
    std::string by = who(n, &plural);
    bool provide_plural = false;
    std::string providers = vars_phrase(s.name, s.matches, &provide_plural);
    return by + (plural ? " need " : " needs ") + s.text + ", which " + providers +
           (provide_plural ? " provide" : " provides");
  }

  // Extra lines after a requirement: what strict channel priority hid, and
  // what the channels have when nothing matched.
  void hints(const Need& n, std::vector<std::string>& out) const {
    const Encoder::Spec& s = enc_.spec(n.spec);
    const NameEntry& e = pool_.name(s.name);
    if (e.is_virtual || !s.spec) return;
    std::vector<std::string> hidden;
    std::vector<std::string> channels;
    for (const Candidate& c : e.excluded) {
      if (!record_matches(*s.spec, *c.record, *c.version)) continue;
      hidden.push_back(c.record->version);
      if (std::find(channels.begin(), channels.end(), c.record->channel) == channels.end())
        channels.push_back(c.record->channel);
    }
    if (!hidden.empty() && e.count > 0) {
      std::string where;
      for (std::size_t i = 0; i < channels.size(); ++i) where += (i ? ", " : "") + channels[i];
      bool plural = false;
      std::string what = versions_phrase(e.name, hidden, &plural);
      out.push_back(what + " in " + where + (plural ? " match " : " matches ") + s.text +
                    " but strict channel priority takes " + e.name + " only from " +
                    pool_.candidate(e.first).record->channel);
    }
    if (s.matches.empty() && e.count > 0) {
      std::vector<Var> all;
      for (Var v = e.first; v < e.first + e.count; ++v) all.push_back(v);
      out.push_back("the channels have " + vars_phrase(s.name, all, nullptr));
    }
  }

  std::string limit_line(const Limit& l) const {
    const Encoder::Spec& s = enc_.spec(l.spec);
    bool plural = false;
    std::string by = label(l.parent_name, l.parents, &plural);
    std::string line = by + (plural ? " allow only " : " allows only ") + s.text;
    if (pool_.name(s.name).is_virtual) line += ", " + target_has(s.name);
    return line;
  }

  std::string broken_line(const Broken& b) const {
    bool plural = false;
    std::string by = label(b.parent_name, b.parents, &plural);
    return by + (plural ? " have" : " has") +
           " an entry that cannot be read: " + enc_.spec(b.spec).error;
  }

  // --- output --------------------------------------------------------------

  std::vector<std::string> body() const {
    std::vector<std::string> lines;
    for (const Need& n : roots_) {
      lines.push_back(need_line(n));
      hints(n, lines);
    }
    // (depth, first record, kind, spec): request outward, one record's
    // entries together.
    std::vector<std::tuple<int, Var, int, uint32_t, std::size_t>> order;
    for (std::size_t i = 0; i < needs_.size(); ++i)
      order.emplace_back(needs_[i].depth, needs_[i].parents.front(), 0, needs_[i].spec, i);
    for (std::size_t i = 0; i < limits_.size(); ++i)
      order.emplace_back(limits_[i].depth, limits_[i].parents.front(), 1, limits_[i].spec, i);
    for (std::size_t i = 0; i < broken_.size(); ++i)
      order.emplace_back(broken_[i].depth, broken_[i].parents.front(), 2, broken_[i].spec, i);
    std::sort(order.begin(), order.end());
    for (const auto& [depth, first, kind, spec, i] : order) {
      if (kind == 0) {
        lines.push_back(need_line(needs_[i]));
        hints(needs_[i], lines);
      } else if (kind == 1) {
        lines.push_back(limit_line(limits_[i]));
      } else {
        lines.push_back(broken_line(broken_[i]));
      }
    }
    return lines;
  }

  // Every requirement, requested ones first, with its position in the body.
  std::vector<const Need*> all_needs() const {
    std::vector<const Need*> out;
    for (const Need& n : roots_) out.push_back(&n);
    std::vector<const Need*> deps;
    for (const Need& n : needs_) deps.push_back(&n);
    std::stable_sort(deps.begin(), deps.end(), [](const Need* a, const Need* b) {
      return std::tie(a->depth, a->parents.front(), a->spec) <
             std::tie(b->depth, b->parents.front(), b->spec);
    });
    out.insert(out.end(), deps.begin(), deps.end());
    return out;
  }

  std::string needs_text(const Need& n) const {
    bool plural = false;
    std::string by = who(n, &plural);
    return by + (plural ? " need " : " needs ") + enc_.spec(n.spec).text;
  }

  std::string summary() const {
    std::vector<const Need*> needs = all_needs();
    auto has = [&](const Need* n, Var v) {
      const std::vector<Var>& m = enc_.spec(n->spec).matches;
      return std::binary_search(m.begin(), m.end(), v);
    };
    // The requirement nearest the request that allows `v` but not `other`.
    auto side = [&](Var v, std::optional<Var> other) -> std::optional<std::size_t> {
      std::optional<std::size_t> best;
      for (std::size_t i = 0; i < needs.size(); ++i) {
        if (!has(needs[i], v) || (other && has(needs[i], *other))) continue;
        if (!best || needs[i]->depth < needs[*best]->depth) best = i;
      }
      return best;
    };
    using Score = std::tuple<int, int, std::size_t, std::size_t>;
    std::optional<Score> best_score;
    std::string best_text;
    for (const auto& [x, y] : core_.at_most_one) {
      std::optional<std::size_t> a = side(x, y);
      std::optional<std::size_t> b = side(y, x);
      if (!a || !b || *a == *b) continue;
      std::size_t first = std::min(*a, *b), second = std::max(*a, *b);
      int da = needs[first]->depth, db = needs[second]->depth;
      Score score{std::max(da, db), da + db, first, second};
      if (best_score && !(score < *best_score)) continue;
      best_score = score;
      best_text = needs_text(*needs[first]) + ", but " + needs_text(*needs[second]);
    }
    for (const Limit& l : limits_) {
      // The nearest requirement every candidate of which the limit forbids.
      std::optional<std::size_t> a;
      for (std::size_t i = 0; i < needs.size(); ++i) {
        const std::vector<Var>& m = enc_.spec(needs[i]->spec).matches;
        bool all = !m.empty() &&
                   std::all_of(m.begin(), m.end(), [&](Var v) { return l.forbidden.count(v) > 0; });
        if (all && (!a || needs[i]->depth < needs[*a]->depth)) a = i;
      }
      if (!a) continue;
      int da = needs[*a]->depth;
      Score score{std::max(da, l.depth), da + l.depth, *a, needs.size()};
      if (best_score && !(score < *best_score)) continue;
      best_score = score;
      bool plural = false;
      std::string by = label(l.parent_name, l.parents, &plural);
      best_text = needs_text(*needs[*a]) + ", but " + by +
                  (plural ? " allow only " : " allows only ") + enc_.spec(l.spec).text;
    }
    std::vector<std::string> leaves;
    std::size_t missing_roots = 0;
    for (const Need* n : needs) {
      if (!enc_.spec(n->spec).matches.empty()) continue;
      leaves.push_back(missing(*n));
      if (n->requested) ++missing_roots;
    }
    for (const Broken& b : broken_) leaves.push_back(broken_line(b));
    if (leaves.empty() && best_score) return best_text;
    if (leaves.size() == 1 && !best_score) return leaves.front();
    if (missing_roots > 1 && missing_roots == leaves.size()) {
      std::string list;
      for (std::size_t i = 0; i < roots_.size(); ++i)
        if (enc_.spec(roots_[i].spec).matches.empty())
          list += (list.empty() ? "" : ", ") + enc_.spec(roots_[i].spec).text;
      return "nothing in the channels matches " + list;
    }
    std::vector<std::string> requested;
    for (const Need& n : roots_) requested.push_back(enc_.spec(n.spec).text);
    if (requested.size() == 1) return requested.front() + " cannot be installed";
    std::string list;
    for (std::size_t i = 0; i < requested.size(); ++i) {
      if (i > 0) list += (i + 1 == requested.size()) ? " and " : ", ";
      list += requested[i];
    }
    return list + " cannot be installed together";
  }

  ConflictCore conflict_core() const {
    ConflictCore out;
    for (const Need& n : roots_)
      out.specs.push_back(static_cast<std::size_t>(enc_.spec(n.spec).request_index));
    std::sort(out.specs.begin(), out.specs.end());
    out.specs.erase(std::unique(out.specs.begin(), out.specs.end()), out.specs.end());
    auto edge = [&](Var parent, uint32_t spec) {
      return ConflictCore::Edge{pool_.candidate(parent).record->dist_name(), enc_.spec(spec).text};
    };
    for (const Need& n : needs_)
      for (Var p : n.parents) out.depends.push_back(edge(p, n.spec));
    for (const Limit& l : limits_)
      for (Var p : l.parents) out.constrains.push_back(edge(p, l.spec));
    for (const Broken& b : broken_) {
      for (Var p : b.parents) {
        const PackageRecord& r = *pool_.candidate(p).record;
        bool in_depends = std::find(r.depends.begin(), r.depends.end(), enc_.spec(b.spec).text) !=
                          r.depends.end();
        (in_depends ? out.depends : out.constrains).push_back(edge(p, b.spec));
      }
    }
    auto tidy = [](std::vector<ConflictCore::Edge>& edges) {
      auto key = [](const ConflictCore::Edge& e) { return std::tie(e.record, e.spec); };
      std::sort(edges.begin(), edges.end(),
                [&](const auto& a, const auto& b) { return key(a) < key(b); });
      edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
    };
    tidy(out.depends);
    tidy(out.constrains);
    return out;
  }

  const SatEngine::Core& core_;
  const ClauseStore& clauses_;
  const Encoder& enc_;
  const CandidatePool& pool_;
  std::vector<Need> roots_;
  std::vector<Need> needs_;
  std::vector<Limit> limits_;
  std::vector<Broken> broken_;
  std::unordered_map<Var, std::vector<uint32_t>> edges_;  // record -> its core depends specs
  std::unordered_map<Var, int> depth_;
};

}  // namespace

Explanation explain(const SatEngine::Core& core, const ClauseStore& clauses,
                    const Encoder& encoder) {
  return Writer(core, clauses, encoder).run();
}

}  // namespace envbuild::builder::conda::solver
