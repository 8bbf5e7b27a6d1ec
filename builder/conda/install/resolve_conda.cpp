#include <algorithm>
#include <map>

#include "builder/conda/channel/repodata_index.hpp"
#include "builder/conda/install/conda_install.hpp"
#include "builder/conda/install/install_order.hpp"
#include "builder/conda/install/lock_files.hpp"
#include "builder/conda/virtual_packages.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {

namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> all_variables(const EnvironmentDefinition& def) {
  std::map<std::string, std::string> vars = def.environment_variables;
  for (const auto& [k, v] : def.variables) vars[k] = v;
  return vars;
}

ChannelOptions channel_options(const EnvironmentDefinition& def, const CondaOptions& options) {
  ChannelOptions o;
  o.channel_alias = options.channel_alias;
  o.insecure_hosts = options.insecure_hosts;
  std::error_code ec;
  // Relative channel paths are relative to the definition's folder.
  if (fs::is_regular_file(def.source, ec)) o.base_dir = fs::absolute(def.source).parent_path();
  return o;
}

// A lock entry as a record; the rest (depends, noarch, ...) comes from the
// package's own index.json once it is extracted.
PackageRecord record_of(const LockedPackage& p) {
  PackageRecord r;
  r.name = p.name;
  r.version = p.version;
  r.build = p.build;
  r.subdir = p.subdir;
  r.channel = p.channel;
  r.url = p.url;
  r.filename = p.url.substr(p.url.rfind('/') + 1);
  r.sha256 = p.sha256;
  r.md5 = p.md5;
  r.size = p.size;
  return r;
}

}  // namespace

CondaResolution resolve_conda(const EnvironmentDefinition& def, const BaseImage& base,
                              const TargetPlatform& platform, const CondaOptions& options,
                              BuildLog& log) {
  CondaResolution r;
  r.subdir = options.subdir.empty() ? platform.conda_subdir() : options.subdir;
  r.requested = def.conda_packages;
  std::vector<std::string> texts;
  for (const std::string& c : def.channels) texts.push_back(c);
  if (texts.empty()) texts = options.default_channels;
  ChannelList channels = resolve_channels(texts, channel_options(def, options));
  r.channels = channels.channels;
  if (options.lock_in) {
    for (const LockedPackage& p : read_lock_file(*options.lock_in))
      r.records.push_back(record_of(p));
    r.from_lock = true;
    log.line("conda: " + std::to_string(r.records.size()) + " packages from the lock " +
             options.lock_in->string() + " (no solve)");
    return r;
  }
  if (channels.channels.empty())
    throw Error(ErrorKind::BadInput, def.source + ": no channel to install conda packages from");
  RepodataIndexOptions index_options;
  index_options.subdir = r.subdir;
  index_options.parallel = std::max<size_t>(1, std::min<size_t>(options.parallel, 8));
  index_options.fetch.cache_dir = options.cache_dir / "repodata";
  index_options.fetch.offline = options.offline;
  RepodataIndex index(channels.channels, index_options);
  for (const std::string& w : index.warnings()) log.line("conda: " + w);
  const RepodataIndexStats& stats = index.stats();
  log.line("conda: indexed " + std::to_string(stats.records) + " records of " +
           std::to_string(stats.names) + " names from " + std::to_string(stats.documents) +
           " repodata documents");

  SolveRequest request;
  for (const std::string& spec : def.conda_packages)
    request.specs.push_back(MatchSpec::parse(spec));
  request.virtual_packages = virtual_packages(platform, base, all_variables(def));
  request.channel_priority = options.channel_priority;
  for (const std::string& pin : def.conda.pinned) request.pinned.push_back(MatchSpec::parse(pin));
  r.virtual_packages = request.virtual_packages;
  std::string virtuals;
  for (const PackageRecord& v : request.virtual_packages)
    virtuals += (virtuals.empty() ? "" : ", ") + v.name + " " + v.version;
  log.line("conda: virtual packages " + virtuals);
  Solution solution = solve(request, index);
  r.records = install_order(std::move(solution.packages));
  log.line("conda: solved " + std::to_string(r.records.size()) + " packages (" +
           std::to_string(index.stats().parsed) + " records parsed)");
  return r;
}

std::vector<LockedPackage> locked_packages(const CondaResolution& resolution) {
  std::vector<LockedPackage> out;
  for (const PackageRecord& r : resolution.records) {
    LockedPackage p;
    p.manager = "conda";
    p.name = r.name;
    p.version = r.version;
    p.build = r.build;
    p.channel = r.channel;
    p.subdir = r.subdir;
    p.url = r.url;
    p.sha256 = r.sha256;
    p.md5 = r.sha256.empty() ? r.md5 : "";
    p.size = r.size;
    out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

}  // namespace envbuild::builder::conda
