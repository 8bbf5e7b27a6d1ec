#include "builder/conda/install/conda_install.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

#include "builder/conda/channel/channel.hpp"
#include "builder/conda/channel/repodata_index.hpp"
#include "builder/conda/fetch/package_cache.hpp"
#include "builder/conda/install/environment_metadata.hpp"
#include "builder/conda/install/install_order.hpp"
#include "builder/conda/install/lock_files.hpp"
#include "builder/conda/package/clobber.hpp"
#include "builder/conda/package/link_package.hpp"
#include "builder/conda/package/package_archive.hpp"
#include "builder/conda/package/package_metadata.hpp"
#include "builder/conda/virtual_packages.hpp"
#include "registry/blob_io.hpp"
#include "registry/error.hpp"
#include "registry/parallel.hpp"

namespace envbuild::builder::conda {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxEnvVarsDocument = 1u << 20;

std::string prefix_in_layer() { return std::string(kEnvironmentPrefix).substr(1); }

// "3.11.9" -> "3.11".
std::string python_major_minor(const std::string& version) {
  const size_t first = version.find('.');
  if (first == std::string::npos) return version;
  const size_t second = version.find_first_not_of("0123456789", first + 1);
  return version.substr(0, second);
}

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

void complete_from_index(PackageRecord& r, const PackageMetadata& m) {
  const nlohmann::json& index = m.index;
  auto strings = [&](const char* key) {
    std::vector<std::string> out;
    if (auto it = index.find(key); it != index.end() && it->is_array()) {
      for (const auto& v : *it)
        if (v.is_string()) out.push_back(v.get<std::string>());
    }
    return out;
  };
  r.depends = strings("depends");
  r.constrains = strings("constrains");
  r.noarch = m.noarch;
  if (r.subdir.empty()) r.subdir = m.subdir;
  if (auto it = index.find("build_number"); it != index.end() && it->is_number_integer())
    r.build_number = it->get<int64_t>();
  if (auto it = index.find("license"); it != index.end() && it->is_string())
    r.license = it->get<std::string>();
  if (auto it = index.find("timestamp"); it != index.end() && it->is_number_integer())
    r.timestamp = it->get<int64_t>();
}

std::string unique_name(const std::string& stem) {
  std::random_device rd;
  return stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
}

struct StagedFile {
  fs::path path;
  ~StagedFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

// Which packages share a layer: none up to the limit; beyond it, the
// smallest packages go into one layer at the end, so the large ones (the
// ones worth sharing between environments) keep layers of their own.
std::vector<std::vector<size_t>> layer_groups(const std::vector<PackageRecord>& records) {
  std::vector<std::vector<size_t>> groups;
  if (records.size() <= kMaxPackageLayers) {
    for (size_t i = 0; i < records.size(); ++i) groups.push_back({i});
    return groups;
  }
  std::vector<size_t> by_size(records.size());
  for (size_t i = 0; i < by_size.size(); ++i) by_size[i] = i;
  std::stable_sort(by_size.begin(), by_size.end(),
                   [&](size_t a, size_t b) { return records[a].size > records[b].size; });
  std::set<size_t> own(by_size.begin(), by_size.begin() + (kMaxPackageLayers - 1));
  std::vector<size_t> rest;
  for (size_t i = 0; i < records.size(); ++i) {
    if (own.count(i))
      groups.push_back({i});
    else
      rest.push_back(i);
  }
  groups.push_back(rest);
  return groups;
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

ImageAdditions install_conda(CondaResolution& resolution, const EnvironmentDefinition& def,
                             const CondaOptions& options, const registry::LayerOptions& layer,
                             registry::Store& dst, const fs::path& temp_dir, BuildLog& log) {
  std::vector<PackageRecord>& records = resolution.records;
  const PackageCache cache(options.cache_dir / "pkgs");
  FetchOptions fetch;
  fetch.parallel = options.parallel;
  fetch.verbose = options.verbose;
  fetch.insecure_hosts = options.insecure_hosts;
  fetch.request_url = [&resolution](const std::string& url) {
    for (const Channel& c : resolution.channels) {
      std::string with = c.request_url(url);
      if (with != url) return with;
    }
    return url;
  };
  fetch.progress = options.download_progress;
  const std::vector<FetchResult> fetched = cache.fetch(records, fetch);
  size_t downloaded = 0;
  for (const FetchResult& f : fetched) downloaded += f.downloaded ? 1 : 0;
  resolution.downloaded = downloaded;
  log.line("conda: fetched " + std::to_string(records.size()) + " packages (" +
           std::to_string(downloaded) + " downloaded, " +
           std::to_string(records.size() - downloaded) + " from the package cache)");

  // Extract (once per cache) and, for lock entries, learn the metadata.
  registry::run_parallel(records.size(), std::max<size_t>(1, std::min<size_t>(options.parallel, 4)),
                         [&](size_t i) {
                           const fs::path dir = cache.extracted_dir(records[i]);
                           extract_package(fetched[i].file, dir);
                           if (resolution.from_lock)
                             complete_from_index(records[i], read_package_metadata(dir));
                         });
  if (resolution.from_lock) records = install_order(std::move(records));

  LinkContext context;
  context.prefix = kEnvironmentPrefix;
  context.target_subdir = resolution.subdir;
  context.staging_dir = temp_dir / unique_name("envbuild-link");
  context.recorded_cache_dir = std::string(kEnvironmentPrefix) + "/pkgs";
  for (const PackageRecord& r : records) {
    if (r.name != "python") continue;
    context.python_version = python_major_minor(r.version);
    // CEP 20: a python (free-threading builds) may name its own site-packages.
    context.python_site_packages_path =
        read_package_metadata(cache.extracted_dir(r)).python_site_packages_path;
  }
  struct RemoveStaging {
    fs::path dir;
    ~RemoveStaging() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } remove_staging{context.staging_dir};

  std::set<std::string> requested_names;
  std::map<std::string, std::string> requested_spec;
  for (const std::string& s : resolution.requested) {
    const std::string name = MatchSpec::parse(s).name;
    requested_names.insert(name);
    requested_spec[name] = s;
  }
  std::vector<LinkedPackage> linked(records.size());
  registry::run_parallel(
      records.size(), std::max<size_t>(1, std::min<size_t>(options.parallel, 4)), [&](size_t i) {
        const PackageRecord& r = records[i];
        linked[i] = link_package(cache.extracted_dir(r), r, context, cache.archive_path(r));
        if (auto it = requested_spec.find(r.name); it != requested_spec.end()) {
          linked[i].conda_meta["requested_spec"] = it->second;
          linked[i].conda_meta["requested_specs"] = {it->second};
          refresh_conda_meta_entry(linked[i]);
        }
      });

  // Policies that need the whole set.
  std::vector<std::string> scripted;
  for (const LinkedPackage& p : linked) {
    for (const std::string& w : p.warnings) log.line("conda: " + p.dist_name + ": " + w);
    if (p.has_pre_link || p.has_post_link || p.has_pre_unlink) scripted.push_back(p.dist_name);
  }
  if (!scripted.empty()) {
    std::string list;
    for (const std::string& s : scripted) list += (list.empty() ? "" : ", ") + s;
    if (!options.skip_post_link) {
      throw Error(ErrorKind::BadInput,
                  "packages with link scripts: " + list +
                      "; running them needs the image's own runtime, which envbuild does not use "
                      "for package installs. --skip-post-link installs them without running the "
                      "scripts (conda would run them)");
    }
    log.line("conda: link scripts not run (--skip-post-link): " + list);
  }
  for (const Clobber& c : find_clobbers(linked)) {
    log.line("conda: clobber: " + c.path + " is installed by " + c.first_package + " and " +
             c.second_package + (c.same_content ? " (same content)" : "") + "; " +
             c.second_package + "'s copy wins");
  }

  // Activation variables the packages ship.
  std::vector<std::pair<std::string, std::string>> env_docs;
  const std::string env_vars_dir = prefix_in_layer() + "/etc/conda/env_vars.d/";
  for (const LinkedPackage& p : linked) {
    for (const registry::LayerEntry& e : p.entries) {
      if (e.type != registry::LayerEntry::Type::File || e.path.rfind(env_vars_dir, 0) != 0)
        continue;
      std::string text = e.content;
      if (!e.source.empty()) {
        std::ifstream in(e.source, std::ios::binary);
        std::ostringstream buf;
        buf << in.rdbuf();
        text = buf.str().substr(0, kMaxEnvVarsDocument);
      }
      env_docs.emplace_back(e.path.substr(env_vars_dir.size()), text);
    }
  }
  std::vector<std::string> problems;
  ImageAdditions out;
  out.env = merge_env_vars_documents(env_docs, problems);
  for (const std::string& p : problems) log.line("conda: " + p);
  out.env["CONDA_PREFIX"] = kEnvironmentPrefix;
  out.env["CONDA_DEFAULT_ENV"] = kEnvironmentPrefix;
  out.path_prepend = {std::string(kEnvironmentPrefix) + "/bin"};
  out.metadata_entries = environment_metadata_entries(
      prefix_in_layer(), records, resolution.requested, def.variables, layer.source_date_epoch);
  // conda reads its pins from conda-meta/pinned, so conda run in the image
  // later keeps them.
  if (!def.conda.pinned.empty()) {
    std::string pinned;
    for (const std::string& pin : def.conda.pinned) pinned += pin + "\n";
    out.metadata_entries.push_back(
        registry::LayerEntry::bytes(prefix_in_layer() + "/conda-meta/pinned", pinned));
  }
  // conda-meta/<pkg>.json records what was requested and where the record
  // came from (a solve or a lock), so it goes with the environment's
  // metadata: a package layer holds only the package's files and is the
  // same blob in every environment that installs that package.
  for (const LinkedPackage& p : linked) {
    for (const registry::LayerEntry& e : p.entries) {
      if (e.path == p.conda_meta_path) out.metadata_entries.push_back(e);
    }
  }

  // One layer per package (or group), written in parallel, in order.
  const std::vector<std::vector<size_t>> groups = layer_groups(records);
  out.layers.resize(groups.size());
  resolution.package_layers = groups.size();
  std::mutex log_mutex;
  registry::run_parallel(groups.size(), 2, [&](size_t g) {
    std::vector<registry::LayerEntry> entries = {
        registry::LayerEntry::directory("opt"), registry::LayerEntry::directory(prefix_in_layer())};
    std::string names;
    for (size_t i : groups[g]) {
      for (const registry::LayerEntry& e : linked[i].entries) {
        if (e.type == registry::LayerEntry::Type::Directory &&
            (e.path == "opt" || e.path == prefix_in_layer()))
          continue;
        if (e.path == linked[i].conda_meta_path) continue;  // in the metadata layer
        entries.push_back(e);
      }
      names += (names.empty() ? "" : " ") + linked[i].dist_name;
    }
    // Packages grouped together may share directories.
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return registry::layer_path_less(a.path, b.path);
    });
    entries.erase(std::unique(entries.begin(), entries.end(),
                              [](const auto& a, const auto& b) {
                                return a.path == b.path &&
                                       a.type == registry::LayerEntry::Type::Directory &&
                                       b.type == registry::LayerEntry::Type::Directory;
                              }),
                  entries.end());
    StagedFile staged{temp_dir / unique_name("envbuild-pkg-layer")};
    registry::LayerInfo info = registry::write_layer(std::move(entries), staged.path, layer);
    registry::FileBlobReader reader(staged.path);
    dst.put_blob(info.blob, reader);
    out.layers[g] = BuilderLayer{info, "envbuild create: conda " + names};
    std::lock_guard lock(log_mutex);
    log.line("conda: layer " + info.blob.digest.str() + " (" + std::to_string(info.blob.size) +
             " bytes): " + names);
  });
  return out;
}

}  // namespace envbuild::builder::conda
