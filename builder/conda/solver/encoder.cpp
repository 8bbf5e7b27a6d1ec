#include "builder/conda/solver/encoder.hpp"

#include <algorithm>

#include "builder/conda/solver/record_match.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda::solver {

std::string display_spec(const MatchSpec& spec) {
  std::string out;
  if (spec.channel) out += *spec.channel + (spec.subdir ? "/" + *spec.subdir : "") + "::";
  out += spec.name;
  if (spec.version || spec.build) out += " " + (spec.version ? spec.version->str() : "*");
  if (spec.build) out += " " + *spec.build;
  std::vector<std::string> brackets;
  if (spec.subdir && !spec.channel) brackets.push_back("subdir=" + *spec.subdir);
  if (spec.build_number) brackets.push_back("build_number=" + std::to_string(*spec.build_number));
  for (std::size_t i = 0; i < brackets.size(); ++i)
    out += (i == 0 ? "[" : ",") + brackets[i] + (i + 1 == brackets.size() ? "]" : "");
  return out;
}

Encoder::Encoder(CandidatePool& pool, SatEngine& engine) : pool_(pool), engine_(engine) {}

void Encoder::ensure_loaded(NameId name) {
  if (!pool_.load(name)) return;
  const NameEntry& entry = pool_.name(name);
  Var first = engine_.add_vars(entry.count, !entry.is_virtual);
  if (first != entry.first) throw Error(ErrorKind::Internal, "conda solver: variables out of step");
  expanded_.resize(engine_.var_count(), 0);
  queued_.resize(engine_.var_count(), 0);
  reqs_of_.resize(engine_.var_count());
  if (entry.is_virtual)
    for (Var v = entry.first; v < entry.first + entry.count; ++v) engine_.add_fact(v);
}

uint32_t Encoder::spec_for_text(const std::string& text) {
  auto it = spec_ids_.find(text);
  if (it != spec_ids_.end()) return it->second;
  Spec s;
  s.text = text;
  try {
    s.spec = MatchSpec::parse(text);
  } catch (const Error& e) {
    s.error = e.what();
  }
  uint32_t id = static_cast<uint32_t>(specs_.size());
  specs_.push_back(std::move(s));
  spec_ids_.emplace(text, id);
  if (specs_.back().spec) resolve(id);
  return id;
}

void Encoder::resolve(uint32_t id) {
  Spec& s = specs_[id];
  s.name = pool_.intern(s.spec->name);
  ensure_loaded(s.name);
  const NameEntry& entry = pool_.name(s.name);
  for (Var v = entry.first; v < entry.first + entry.count; ++v) {
    const Candidate& c = pool_.candidate(v);
    if (record_matches(*s.spec, *c.record, *c.version)) s.matches.push_back(v);
  }
}

void Encoder::add_request(const std::vector<MatchSpec>& specs,
                          const std::vector<PackageRecord>& virtual_packages) {
  // Virtual packages are facts, which only level 0 can hold: load them now.
  for (const PackageRecord& r : virtual_packages) ensure_loaded(pool_.intern(r.name));
  for (std::size_t i = 0; i < specs.size(); ++i) {
    Spec s;
    s.text = display_spec(specs[i]);
    s.spec = specs[i];
    s.request_index = static_cast<int>(i);
    uint32_t id = static_cast<uint32_t>(specs_.size());
    specs_.push_back(std::move(s));
    resolve(id);
    uint32_t req = static_cast<uint32_t>(requirements_.size());
    requirements_.push_back({kNoVar, id});
    satisfier_.push_back(kNoVar);
    roots_.push_back(req);
    queue_.push_back(req);
    scratch_.clear();
    for (Var v : specs_[id].matches) scratch_.push_back(Lit::positive(v));
    engine_.add_clause(scratch_, ClauseKind::Request, req);
  }
}

void Encoder::expand(Var v) {
  const Candidate& c = pool_.candidate(v);  // deque element: stays valid while names load
  if (pool_.name(c.name).is_virtual) return;
  auto invalid = [&](uint32_t spec) {
    uint32_t id = static_cast<uint32_t>(constraints_.size());
    constraints_.push_back({v, spec});
    Lit lit = Lit::negative(v);
    engine_.add_clause({&lit, 1}, ClauseKind::Invalid, id);
  };
  for (const std::string& text : c.record->depends) {
    uint32_t spec = spec_for_text(text);
    if (!specs_[spec].spec) {
      invalid(spec);
      continue;
    }
    uint32_t req = static_cast<uint32_t>(requirements_.size());
    requirements_.push_back({v, spec});
    satisfier_.push_back(kNoVar);
    reqs_of_[v].push_back(req);
    scratch_.clear();
    scratch_.push_back(Lit::negative(v));
    for (Var m : specs_[spec].matches) scratch_.push_back(Lit::positive(m));
    engine_.add_clause(scratch_, ClauseKind::Requires, req);
  }
  for (const std::string& text : c.record->constrains) {
    uint32_t spec = spec_for_text(text);
    if (!specs_[spec].spec) {
      invalid(spec);
      continue;
    }
    uint32_t id = static_cast<uint32_t>(constraints_.size());
    constraints_.push_back({v, spec});
    const Spec& s = specs_[spec];
    const NameEntry& entry = pool_.name(s.name);
    auto allowed = s.matches.begin();
    for (Var u = entry.first; u < entry.first + entry.count; ++u) {
      while (allowed != s.matches.end() && *allowed < u) ++allowed;
      if (allowed != s.matches.end() && *allowed == u) continue;
      Lit lits[2] = {Lit::negative(v), Lit::negative(u)};
      engine_.add_clause({lits, u == v ? 1U : 2U}, ClauseKind::Constrains, id);
    }
  }
}

void Encoder::on_true(Var v) {
  if (!expanded_[v]) {
    expanded_[v] = 1;
    expand(v);
  }
  if (queued_[v]) return;  // propagated again after an interrupted propagation
  queued_[v] = 1;
  const std::vector<uint32_t>& reqs = reqs_of_[v];
  queue_.insert(queue_.end(), reqs.begin(), reqs.end());
}

void Encoder::on_backtrack() {
  // Keep the requests and the requirements of records still true, in order;
  // resume the scan at the first kept entry not known to be satisfied.
  std::size_t kept = 0;
  std::size_t cursor = std::string::npos;
  for (std::size_t i = 0; i < queue_.size(); ++i) {
    uint32_t req = queue_[i];
    Var parent = requirements_[req].parent;
    if (parent != kNoVar && engine_.value(parent) != Value::True) {
      queued_[parent] = 0;
      continue;
    }
    if (cursor == std::string::npos && (i >= cursor_ || satisfier_[req] == kNoVar ||
                                        engine_.value(satisfier_[req]) != Value::True))
      cursor = kept;
    queue_[kept++] = req;
  }
  queue_.resize(kept);
  cursor_ = cursor == std::string::npos ? kept : cursor;
}

std::optional<Lit> Encoder::decide() {
  for (; cursor_ < queue_.size(); ++cursor_) {
    uint32_t req = queue_[cursor_];
    if (satisfier_[req] != kNoVar && engine_.value(satisfier_[req]) == Value::True) continue;
    const Spec& s = specs_[requirements_[req].spec];
    Var pick = kNoVar;
    Var found = kNoVar;
    for (Var m : s.matches) {
      Value value = engine_.value(m);
      if (value == Value::True) {
        found = m;
        break;
      }
      if (value == Value::Unset && pick == kNoVar) pick = m;
    }
    if (found != kNoVar) {
      satisfier_[req] = found;
      continue;
    }
    if (pick == kNoVar)
      throw Error(ErrorKind::Internal,
                  "conda solver: an unsatisfied requirement escaped propagation");
    // Add the candidate's clauses before deciding it: one whose dependencies
    // are already impossible is then propagated false here instead of being
    // tried and causing a conflict and a backjump.
    if (!expanded_[pick]) {
      expanded_[pick] = 1;
      expand(pick);
    }
    return Lit::positive(pick);
  }
  return std::nullopt;
}

Var Encoder::true_match(uint32_t spec) const {
  for (Var m : specs_[spec].matches)
    if (engine_.value(m) == Value::True) return m;
  return kNoVar;
}

std::vector<Var> Encoder::installed() const {
  std::vector<uint8_t> seen(engine_.var_count(), 0);
  std::vector<Var> out;
  std::vector<Var> work;
  auto reach = [&](uint32_t spec) {
    Var m = true_match(spec);
    if (m == kNoVar) throw Error(ErrorKind::Internal, "conda solver: a requirement is unmet");
    if (!seen[m]) {
      seen[m] = 1;
      work.push_back(m);
    }
  };
  for (uint32_t req : roots_) reach(requirements_[req].spec);
  while (!work.empty()) {
    Var v = work.back();
    work.pop_back();
    if (pool_.name(pool_.candidate(v).name).is_virtual) continue;
    out.push_back(v);
    for (uint32_t req : reqs_of_[v]) reach(requirements_[req].spec);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace envbuild::builder::conda::solver
