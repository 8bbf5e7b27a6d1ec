#include "builder/create_environment.hpp"

#include <memory>

#include "builder/build_log_store.hpp"
#include "builder/conda/install/conda_install.hpp"
#include "builder/conda/install/lock_files.hpp"
#include "builder/curated/curated_catalog.hpp"
#include "builder/image/base_image.hpp"
#include "registry/copy.hpp"
#include "registry/error.hpp"
#include "registry/layout_store.hpp"
#include "registry/manifest.hpp"

namespace envbuild::builder {

namespace {

using Outcome = CreateResult::Outcome;

struct Target {
  std::unique_ptr<registry::Store> store;
  std::string prefix;             // what a reference starts with before "@sha256:..."
  std::vector<std::string> tags;  // from the location text
};

Target open_target(const CreateOptions& options, const std::string& cache_tag) {
  Target t;
  if (options.target.empty()) {
    t.store = std::make_unique<registry::LayoutStore>(options.locations.default_store_dir);
    t.prefix = "local:" + cache_tag;
    return t;
  }
  registry::StoreLocation loc = registry::open_location(options.target, options.locations);
  if (loc.tag) t.tags.push_back(*loc.tag);
  if (loc.is_registry) {
    t.prefix = loc.store->registry_repository();
  } else if (options.target.rfind("oci:", 0) == 0) {
    t.prefix = options.target.substr(0, options.target.find_first_of(":@", 4));
  } else {
    t.prefix = "local:" + cache_tag;  // a local: name; the image is found by its cache tag
  }
  t.store = std::move(loc.store);
  return t;
}

std::string annotation(const registry::ManifestBytes& m, std::string_view key) {
  const registry::ImageManifest parsed = registry::ImageManifest::parse(m);
  auto it = parsed.annotations.find(std::string(key));
  return it == parsed.annotations.end() ? "" : it->second;
}

void refuse_unbuildable(const EnvironmentDefinition& def) {
  if (def.build) {
    throw Error(ErrorKind::BadInput,
                def.source +
                    ": Dockerfile builds (build: or a Dockerfile) are not available in "
                    "this version of envbuild yet");
  }
  if (!def.pip_packages.empty() && !def.user_managed_dependencies) {
    throw Error(ErrorKind::BadInput,
                def.source + ": installs " + std::to_string(def.pip_packages.size()) +
                    " pip packages; pip installation is not available in this version of envbuild "
                    "yet (conda packages are; move the pip packages to conda where they exist "
                    "there)");
  }
}

// The tags an image gets: its cache tag and the extra ones, once each.
std::vector<std::string> all_tags(const std::string& cache_tag, const Target& target,
                                  const CreateOptions& options) {
  std::vector<std::string> tags = {cache_tag};
  for (const auto& list : {target.tags, options.extra_tags}) {
    for (const std::string& t : list) {
      if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
    }
  }
  return tags;
}

// Puts `manifest` under every tag but those it already has.
void tag_image(registry::Store& store, const registry::ManifestBytes& manifest,
               const std::vector<std::string>& tags, const std::string& already) {
  for (const std::string& t : tags) {
    if (t != already) store.put_manifest(manifest, t);
  }
}

}  // namespace

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::CacheHit:
      return "cache-hit";
    case Outcome::Built:
      return "built";
    case Outcome::CopiedCurated:
      return "copied-curated";
    case Outcome::Planned:
      return "planned";
  }
  return "built";
}

CreateResult create_environment(const EnvironmentDefinition& def, const CreateOptions& options,
                                BuildLog& log) {
  CreateResult r;
  const std::string base_ref = effective_base(def, options.default_base);
  r.spec_hash = spec_hash(def, base_ref);
  r.cache_tag = "env-" + r.spec_hash;
  r.base_reference = def.build ? "" : base_ref;
  Target target = open_target(options, r.cache_tag);
  r.store = target.store->describe();
  const std::vector<std::string> tags = all_tags(r.cache_tag, target, options);
  auto finish = [&](const registry::ManifestBytes& m, Outcome outcome) {
    r.digest = m.digest;
    r.reference = target.prefix + "@" + m.digest.str();
    r.outcome = outcome;
    r.tags = tags;
    return r;
  };
  log.line("definition " + def.source + " (" + def.format +
           (def.name.empty() ? "" : ", name " + def.name) + "): spec hash " + r.spec_hash);

  // The fast path: this definition was built into this store before.
  std::optional<registry::ManifestBytes> cached = target.store->find_manifest(r.cache_tag);
  if (cached && !options.refresh) {
    r.plan.push_back("cache hit: " + r.cache_tag + " in " + r.store);
    if (options.lock_out) {
      if (std::optional<EnvironmentLock> lock = read_image_lock(*target.store, *cached))
        conda::write_lock_file(*options.lock_out, *lock,
                               def.conda.subdir.empty()
                                   ? TargetPlatform::parse(def.platform).conda_subdir()
                                   : def.conda.subdir);
    }
    if (options.dry_run) return finish(*cached, Outcome::Planned);
    tag_image(*target.store, *cached, tags, r.cache_tag);
    return finish(*cached, Outcome::CacheHit);
  }
  refuse_unbuildable(def);

  // A curated environment published elsewhere: copy it rather than build.
  if (def.format == "curated" && !options.curated_source.empty() && !options.refresh) {
    const CuratedEnvironment& env = CuratedCatalog::builtin().find(def.source);
    registry::StoreLocation src =
        registry::open_location(options.curated_source, options.locations);
    if (auto published = src.store->find_manifest(env.versioned_tag());
        published && annotation(*published, kSpecHashKey) == r.spec_hash) {
      r.plan.push_back("copy published " + env.reference() + " from " + src.store->describe());
      if (options.dry_run) return finish(*published, Outcome::Planned);
      registry::CopyOptions copy;
      copy.parallel = options.assemble.parallel;
      registry::copy_image(*src.store, published->digest.str(), *target.store, r.cache_tag, copy);
      tag_image(*target.store, *published, tags, r.cache_tag);
      log.line("copied " + env.reference() + " from " + src.store->describe());
      return finish(*published, Outcome::CopiedCurated);
    }
  }

  const TargetPlatform platform = TargetPlatform::parse(def.platform);
  const BaseImage base = resolve_base_image(base_ref, platform, options.locations);
  EnvironmentLock lock;
  lock.spec_hash = r.spec_hash;
  lock.platform = platform.oci();
  lock.base_reference = base.reference;
  lock.base_digest = base.manifest;
  std::optional<conda::CondaResolution> conda_resolution;
  if (def.installs_conda()) {
    conda_resolution = conda::resolve_conda(def, base, platform, options.conda, log);
    lock.packages = conda::locked_packages(*conda_resolution);
    r.conda_packages = conda_resolution->records;
  }
  r.lock_hash = lock.hash();
  if (options.lock_out)
    conda::write_lock_file(*options.lock_out, lock,
                           conda_resolution ? conda_resolution->subdir : platform.conda_subdir());
  r.base_digest = base.manifest;
  log.line("resolved " +
           (base.scratch() ? std::string("scratch (no base layers)")
                           : base.reference + " to " + base.manifest.str()) +
           "; lock hash " + r.lock_hash);

  if (cached && annotation(*cached, kLockHashKey) == r.lock_hash) {
    r.plan.push_back("refresh: the lock is unchanged; " + r.cache_tag + " stays");
    if (options.dry_run) return finish(*cached, Outcome::Planned);
    tag_image(*target.store, *cached, tags, r.cache_tag);
    return finish(*cached, Outcome::CacheHit);
  }

  if (options.dry_run) {
    r.plan.push_back("base " + base.reference + "@" + base.manifest.str() + ": " +
                     std::to_string(base.image.layers.size()) + " layers");
    size_t present = 0;
    for (const auto& layer : base.image.layers)
      present += target.store->has_blob(layer.digest) ? 1 : 0;
    r.plan.push_back("  " + std::to_string(present) + " already in " + r.store + ", " +
                     std::to_string(base.image.layers.size() - present) + " to copy or mount");
    if (conda_resolution) {
      r.plan.push_back("conda: " + std::to_string(conda_resolution->records.size()) +
                       " packages, one layer each:");
      for (const conda::PackageRecord& p : conda_resolution->records)
        r.plan.push_back("  " + p.dist_name() + " (" + p.subdir + ", " + std::to_string(p.size) +
                         " bytes)");
    }
    r.plan.push_back("layer /" + std::string(kMetadataDir) + ": definition.json, lock.json");
    std::string tag_list;
    for (const std::string& t : tags) tag_list += (tag_list.empty() ? "" : ", ") + t;
    r.plan.push_back("tags: " + tag_list);
    r.outcome = Outcome::Planned;
    r.tags = tags;
    return r;
  }

  ImageAdditions additions;
  if (conda_resolution) {
    additions = conda::install_conda(*conda_resolution, def, options.conda, options.assemble.layer,
                                     *target.store, options.assemble.temp_dir, log);
    r.conda_packages = conda_resolution->records;  // completed from the packages for a lock
    r.conda_downloaded = conda_resolution->downloaded;
    r.conda_layers = conda_resolution->package_layers;
  }
  const AssembledImage image =
      assemble_environment_image(def, canonical_definition(def, base_ref), lock, base, additions,
                                 *target.store, options.assemble, log);
  r.base_layers = image.base_layers;
  r.base_layers_present = image.base_blobs_present;
  r.base_layers_mounted = image.base_blobs_mounted;
  r.base_layers_copied = image.base_blobs_copied;
  target.store->put_manifest(image.manifest, r.cache_tag);
  tag_image(*target.store, image.manifest, tags, r.cache_tag);
  registry::Descriptor subject;
  subject.media_type = image.manifest.media_type;
  subject.digest = image.manifest.digest;
  subject.size = static_cast<int64_t>(image.manifest.bytes.size());
  log.line("tagged " + r.cache_tag +
           (tags.size() > 1 ? " and " + std::to_string(tags.size() - 1) + " more" : ""));
  r.log_tag = store_build_log(*target.store, subject, r.spec_hash, log.text());
  return finish(image.manifest, Outcome::Built);
}

}  // namespace envbuild::builder
