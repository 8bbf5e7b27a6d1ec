#include "builder/conda/solver/candidate_order.hpp"

#include <compare>

namespace envbuild::builder::conda::solver {

namespace {

bool is_noarch(const PackageRecord& r) { return r.subdir == "noarch" || !r.noarch.empty(); }

std::size_t feature_count(const PackageRecord& r) {
  std::size_t n = 0;
  for (const std::string& f : r.track_features)
    if (!f.empty()) ++n;
  return n;
}

}  // namespace

bool preferred(const RankedRecord& x, const RankedRecord& y, ChannelPriority priority) {
  const PackageRecord& a = *x.record;
  const PackageRecord& b = *y.record;
  if (priority != ChannelPriority::Disabled && a.channel_priority != b.channel_priority)
    return a.channel_priority < b.channel_priority;
  if (std::size_t fa = feature_count(a), fb = feature_count(b); fa != fb) return fa < fb;
  if (std::weak_ordering c = *x.version <=> *y.version; c != 0) return c > 0;
  if (priority == ChannelPriority::Disabled && a.channel_priority != b.channel_priority)
    return a.channel_priority < b.channel_priority;
  if (a.build_number != b.build_number) return a.build_number > b.build_number;
  if (bool na = is_noarch(a), nb = is_noarch(b); na != nb) return nb;
  if (a.timestamp != b.timestamp) return a.timestamp > b.timestamp;
  if (a.build != b.build) return a.build < b.build;
  if (a.subdir != b.subdir) return a.subdir < b.subdir;
  if (a.channel != b.channel) return a.channel < b.channel;
  if (a.version != b.version) return a.version < b.version;
  if (a.filename != b.filename) return a.filename < b.filename;
  return a.url < b.url;
}

}  // namespace envbuild::builder::conda::solver
