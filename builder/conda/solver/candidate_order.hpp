#pragma once
// conda's preference between two records of the same name: the order
// decisions try them in. Most preferred first:
//   1. (Flexible, Strict) the higher-priority channel (lower channel_priority);
//      with Strict the lower channels are usually gone already (candidate_pool)
//   2. no track_features before any track_features, then fewer of them (conda
//      minimizes track features ahead of versions, libsolv ranks them first)
//   3. the higher version (CEP 33 order)
//   4. (Disabled) the higher-priority channel
//   5. the higher build number
//   6. arch-specific before noarch
//   7. the newer timestamp
// then the build string, subdir, channel, version text, file name and URL,
// only so that the order is total and does not depend on the source's order.
#include "builder/conda/package_record.hpp"
#include "builder/conda/solver/solver.hpp"
#include "builder/conda/version.hpp"

namespace envbuild::builder::conda::solver {

struct RankedRecord {
  const PackageRecord* record;
  const CondaVersion* version;
};

// Whether `a` is preferred to `b`: a strict weak order, total on distinct records.
bool preferred(const RankedRecord& a, const RankedRecord& b, ChannelPriority priority);

}  // namespace envbuild::builder::conda::solver
