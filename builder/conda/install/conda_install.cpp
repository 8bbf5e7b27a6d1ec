#include "builder/conda/install/conda_install.hpp"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "builder/conda/fetch/package_cache.hpp"
#include "builder/conda/install/environment_metadata.hpp"
#include "builder/conda/install/install_order.hpp"
#include "builder/conda/install/package_layers.hpp"
#include "builder/conda/package/clobber.hpp"
#include "builder/conda/package/link_package.hpp"
#include "builder/conda/package/package_archive.hpp"
#include "builder/conda/package/package_metadata.hpp"
#include "registry/atomic_file.hpp"
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

}  // namespace

ImageAdditions install_conda(CondaResolution& resolution, const EnvironmentDefinition& def,
                             const CondaOptions& options, const registry::LayerOptions& layer,
                             registry::Store& dst, const fs::path& temp_dir, BuildLog& log) {
  std::vector<PackageRecord>& records = resolution.records;
  const PackageCache cache(options.cache_dir / "pkgs");
  FetchOptions fetch;
  fetch.download.parallel = options.parallel;
  fetch.download.verbose = options.verbose;
  fetch.download.insecure_hosts = options.insecure_hosts;
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

  // Extract (once per cache) and read each package's metadata once: the
  // linker needs it, and lock entries learn their dependencies from it.
  std::vector<PackageMetadata> read(records.size());
  registry::run_parallel(records.size(), std::max<size_t>(1, std::min<size_t>(options.parallel, 4)),
                         [&](size_t i) {
                           const fs::path dir = cache.extracted_dir(records[i]);
                           extract_package(fetched[i].file, dir);
                           read[i] = read_package_metadata(dir);
                           if (resolution.from_lock) complete_from_index(records[i], read[i]);
                         });
  // By dist name, since a lock's records are put in install order next.
  std::map<std::string, PackageMetadata> metadata;
  for (size_t i = 0; i < records.size(); ++i)
    metadata.emplace(records[i].dist_name(), std::move(read[i]));
  read.clear();
  if (resolution.from_lock) records = install_order(std::move(records));

  LinkContext context;
  context.prefix = kEnvironmentPrefix;
  context.target_subdir = resolution.subdir;
  context.staging_dir = temp_dir / ("envbuild-link-" + registry::random_hex16());
  context.recorded_cache_dir = std::string(kEnvironmentPrefix) + "/pkgs";
  for (const PackageRecord& r : records) {
    if (r.name != "python") continue;
    context.python_version = python_major_minor(r.version);
    // CEP 20: a python (free-threading builds) may name its own site-packages.
    context.python_site_packages_path = metadata.at(r.dist_name()).python_site_packages_path;
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
        linked[i] = link_package(cache.extracted_dir(r), std::move(metadata.at(r.dist_name())), r,
                                 context, cache.archive_path(r));
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

  // One layer per package (or group), holding only the package's files.
  out.layers = put_package_layers(linked, layer_groups(records), prefix_in_layer(), layer, dst,
                                  temp_dir, log);
  resolution.package_layers = out.layers.size();
  return out;
}

}  // namespace envbuild::builder::conda
