#include "builder/conda/solver/clause_store.hpp"

#include <limits>

#include "registry/error.hpp"

namespace envbuild::builder::conda::solver {

ClauseId ClauseStore::add(std::span<const Lit> lits, ClauseKind kind, uint32_t payload) {
  if (lits_.size() + lits.size() > std::numeric_limits<uint32_t>::max() ||
      infos_.size() >= std::numeric_limits<uint32_t>::max())
    throw Error(ErrorKind::Internal, "conda solver: too many clauses");
  ClauseInfo info;
  info.begin = static_cast<uint32_t>(lits_.size());
  info.size = static_cast<uint32_t>(lits.size());
  info.kind = kind;
  info.payload = payload;
  lits_.insert(lits_.end(), lits.begin(), lits.end());
  infos_.push_back(info);
  return static_cast<ClauseId>(infos_.size() - 1);
}

}  // namespace envbuild::builder::conda::solver
