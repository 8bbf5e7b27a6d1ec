#include "builder/conda/solver/solver.hpp"

#include <algorithm>
#include <set>

#include "builder/conda/solver/candidate_pool.hpp"
#include "builder/conda/solver/clause_store.hpp"
#include "builder/conda/solver/encoder.hpp"
#include "builder/conda/solver/explain.hpp"
#include "builder/conda/solver/pinned_source.hpp"
#include "builder/conda/solver/sat_engine.hpp"

namespace envbuild::builder::conda {

namespace {

// Far beyond real environments (they need tens to a few thousand); a bound
// so that an adversarial channel fails with a message instead of hanging.
constexpr uint64_t kMaxConflicts = 200000;

}  // namespace

Solution solve(const SolveRequest& request, PackageSource& unpinned) {
  solver::PinnedSource source(unpinned, request.pinned);
  std::set<std::string> channel_named;
  for (const MatchSpec& s : request.specs)
    if (s.channel) channel_named.insert(s.name);

  solver::ClauseStore clauses;
  solver::SatEngine engine(clauses);
  solver::CandidatePool pool(source, request.virtual_packages, request.channel_priority,
                             std::move(channel_named));
  solver::Encoder encoder(pool, engine);
  encoder.add_request(request.specs, request.virtual_packages);

  if (engine.solve(encoder, kMaxConflicts) == solver::SatEngine::Outcome::Unsatisfiable) {
    solver::Explanation e = solver::explain(engine.core(), clauses, encoder);
    throw UnsatisfiableError(e.message + source.pin_notes(e.message), std::move(e.core));
  }
  Solution solution;
  for (solver::Var v : encoder.installed()) solution.packages.push_back(*pool.candidate(v).record);
  std::sort(solution.packages.begin(), solution.packages.end(),
            [](const PackageRecord& a, const PackageRecord& b) { return a.name < b.name; });
  return solution;
}

}  // namespace envbuild::builder::conda
