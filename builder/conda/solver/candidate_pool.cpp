#include "builder/conda/solver/candidate_pool.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "builder/conda/solver/candidate_order.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda::solver {

namespace {

bool is_virtual_name(std::string_view name) { return name.size() > 2 && name.starts_with("__"); }

void sort_by_preference(std::vector<Candidate>& list, ChannelPriority priority) {
  std::sort(list.begin(), list.end(), [priority](const Candidate& a, const Candidate& b) {
    return preferred({a.record, a.version}, {b.record, b.version}, priority);
  });
}

}  // namespace

CandidatePool::CandidatePool(PackageSource& source,
                             const std::vector<PackageRecord>& virtual_packages,
                             ChannelPriority priority, std::set<std::string> unfiltered)
    : source_(source),
      virtuals_(virtual_packages),
      priority_(priority),
      unfiltered_(std::move(unfiltered)) {}

NameId CandidatePool::intern(std::string_view name) {
  auto it = ids_.find(std::string(name));
  if (it != ids_.end()) return it->second;
  if (names_.size() >= std::numeric_limits<NameId>::max())
    throw Error(ErrorKind::Internal, "conda solver: too many package names");
  NameId id = static_cast<NameId>(names_.size());
  NameEntry entry;
  entry.name = std::string(name);
  entry.is_virtual = is_virtual_name(name);
  names_.push_back(std::move(entry));
  ids_.emplace(std::string(name), id);
  return id;
}

bool CandidatePool::load(NameId id) {
  NameEntry& entry = names_[id];
  if (entry.loaded) return false;
  entry.loaded = true;
  std::vector<Candidate> list;
  // Builds of one version share its parse; a version that does not parse
  // leaves the record out (it cannot be ordered or matched).
  std::unordered_map<std::string_view, const CondaVersion*> parsed;
  auto add = [&](const PackageRecord& r) {
    auto [it, fresh] = parsed.try_emplace(r.version, nullptr);
    if (fresh) {
      try {
        versions_.push_back(CondaVersion::parse(r.version));
        it->second = &versions_.back();
      } catch (const Error&) {
      }
    }
    if (it->second)
      list.push_back({&r, it->second, id});
    else
      entry.unreadable.push_back(&r);
  };
  if (entry.is_virtual) {
    // Only the target's virtual packages count, never channel records.
    for (const PackageRecord& r : virtuals_) {
      if (r.name != entry.name) continue;
      ++entry.source_records;
      add(r);
    }
  } else {
    const std::vector<PackageRecord>& records = source_.candidates(entry.name);
    entry.source_records = records.size();
    list.reserve(records.size());
    for (const PackageRecord& r : records) add(r);
    if (priority_ == ChannelPriority::Strict && !list.empty() && !unfiltered_.count(entry.name)) {
      int top = std::min_element(list.begin(), list.end(), [](const auto& a, const auto& b) {
                  return a.record->channel_priority < b.record->channel_priority;
                })->record->channel_priority;
      auto lower = std::stable_partition(list.begin(), list.end(), [top](const Candidate& c) {
        return c.record->channel_priority == top;
      });
      entry.excluded.assign(lower, list.end());
      list.erase(lower, list.end());
      sort_by_preference(entry.excluded, priority_);
    }
  }
  sort_by_preference(list, priority_);
  entry.first = static_cast<Var>(candidates_.size());
  entry.count = static_cast<uint32_t>(list.size());
  candidates_.insert(candidates_.end(), list.begin(), list.end());
  return true;
}

}  // namespace envbuild::builder::conda::solver
