#include "snapshot/git_metadata_cache.hpp"

#include <nlohmann/json.hpp>

#include "snapshot/cache_file.hpp"
#include "snapshot/git_fingerprint.hpp"
#include "snapshot/stat_cache.hpp"

namespace envbuild::snapshot {

namespace {

namespace fs = std::filesystem;

constexpr int kFormatVersion = 1;
constexpr uint64_t kMaxFileBytes = uint64_t{8} << 20;
// Beyond this many tracked-but-ignored files, checking them costs more than
// reading the repository again: such a folder is not cached.
constexpr size_t kMaxOutsideFiles = 10000;

}  // namespace

fs::path GitMetadataCache::file_for(const fs::path& cache_dir, const fs::path& root) {
  fs::path f = StatCache::file_for(cache_dir, root);
  f.replace_extension(".git.json");
  return f;
}

GitMetadataCache GitMetadataCache::load(const fs::path& file) {
  GitMetadataCache cache;
  std::optional<std::string> bytes = read_cache_file(file, kMaxFileBytes);
  if (!bytes) return cache;
  try {
    const nlohmann::json j = nlohmann::json::parse(*bytes);
    if (j.at("version").get<int>() != kFormatVersion) return cache;
    Entry e;
    e.fingerprint = j.at("fingerprint").get<std::string>();
    if (!registry::Digest::try_parse(j.at("tree").get<std::string>(), e.tree)) return cache;
    for (const auto& o : j.at("outside")) e.outside.emplace_back(o.at(0), o.at(1));
    e.metadata.properties = j.at("properties").get<std::map<std::string, std::string>>();
    e.metadata.warnings = j.at("warnings").get<std::vector<std::string>>();
    cache.entry_ = std::move(e);
  } catch (const nlohmann::json::exception&) {
    // Not a file we wrote: start empty.
  }
  return cache;
}

bool GitMetadataCache::may_answer(const std::string& fingerprint) const {
  return entry_ && entry_->fingerprint == fingerprint;
}

std::optional<GitMetadata> GitMetadataCache::find(const std::string& fingerprint,
                                                  const registry::Digest& tree) const {
  if (!may_answer(fingerprint) || entry_->tree != tree) return std::nullopt;
  for (const auto& [path, line] : entry_->outside) {
    if (stat_line(path) != line) return std::nullopt;
  }
  return entry_->metadata;
}

void GitMetadataCache::store(const fs::path& file, const std::string& fingerprint,
                             const registry::Digest& tree, const GitMetadata& m) {
  if (!m.cacheable || m.tracked_outside_walk.size() > kMaxOutsideFiles) return;
  Entry e;
  e.fingerprint = fingerprint;
  e.tree = tree;
  for (const fs::path& p : m.tracked_outside_walk) e.outside.emplace_back(p.string(), stat_line(p));
  e.metadata.properties = m.properties;
  e.metadata.warnings = m.warnings;
  nlohmann::json j;
  j["version"] = kFormatVersion;
  j["fingerprint"] = e.fingerprint;
  j["tree"] = e.tree.str();
  j["outside"] = nlohmann::json::array();
  for (const auto& [path, line] : e.outside) j["outside"].push_back({path, line});
  j["properties"] = e.metadata.properties;
  j["warnings"] = e.metadata.warnings;
  // Paths may be non-UTF-8: replace rather than throw; such an entry simply
  // never matches again.
  write_cache_file(file, [&](int64_t) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
  entry_ = std::move(e);
}

}  // namespace envbuild::snapshot
