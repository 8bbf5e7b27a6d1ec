#include "cli/envbuild/create_flags.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "builder/conda/match_spec.hpp"
#include "registry/digest.hpp"
#include "registry/error.hpp"
#include "registry/layer_writer.hpp"

namespace envbuild::cli {

void CreateFlags::add_to(CLI::App& app) {
  app.add_option("--push", push,
                 "Where the image goes: HOST/REPO[:TAG], oci:DIR[:TAG] or local:NAME[:TAG] "
                 "(default: the local store)");
  app.add_option("--tag", tags, "Another tag for the image (repeatable)");
  app.add_flag("--refresh", refresh,
               "Resolve again (base digest, packages); rebuild only if the lock changed");
  app.add_flag("--dry-run", dry_run,
               "Print the plan (cache hit, base digest, layers); write nothing");
  app.add_option("--platform", platform, "Target platform (default linux/amd64)");
  app.add_option("--base", base,
                 "Base image for definitions that name none (default $ENVBUILD_DEFAULT_BASE, else "
                 "docker.io/library/debian:12-slim)");
  app.add_option("--compression", compression, "Layer compression: gzip (default) or zstd")
      ->check(CLI::IsMember({"gzip", "zstd"}));
  app.add_option("--conda-subdir", conda_subdir,
                 "conda subdir to solve for (default: the platform's, e.g. linux-64)");
  app.add_option("--channel-alias", channel_alias,
                 "Where channel names point (default https://conda.anaconda.org)");
  app.add_option("--channel-priority", channel_priority, "strict (default), flexible or disabled")
      ->check(CLI::IsMember({"strict", "flexible", "disabled"}));
  app.add_option("--pin", pins,
                 "Limit a conda package, should anything need it, without asking for it "
                 "(a MatchSpec, repeatable; conda's pinned_packages)");
  app.add_option("--lock", lock_in,
                 "Install the packages of this lock file (conda explicit format or envbuild JSON) "
                 "instead of solving");
  app.add_option("--lock-out", lock_out,
                 "Write the lock to FILE (*.json: envbuild JSON, else conda's explicit format)");
  app.add_flag("--skip-post-link", skip_post_link,
               "Install packages that have link scripts without running the scripts");
  app.add_flag("--offline", offline, "Use cached repodata only");
  app.add_option("--curated-from", curated_from,
                 "Where curated images were published (a location); curated:NAME is copied from "
                 "there instead of built (default $ENVBUILD_CURATED_FROM)");
}

builder::CreateOptions CreateFlags::options(const GlobalFlags& flags) const {
  builder::CreateOptions o;
  o.target = push;
  o.extra_tags = tags;
  o.refresh = refresh;
  o.dry_run = dry_run;
  if (!base.empty()) {
    o.default_base = base;
  } else if (const char* env = std::getenv("ENVBUILD_DEFAULT_BASE"); env && *env) {
    o.default_base = env;
  }
  if (!curated_from.empty()) {
    o.curated_source = curated_from;
  } else if (const char* env = std::getenv("ENVBUILD_CURATED_FROM"); env && *env) {
    o.curated_source = env;
  }
  o.locations = flags.location_options();
  o.conda.subdir = conda_subdir;
  if (!channel_alias.empty()) o.conda.channel_alias = channel_alias;
  o.conda.channel_priority =
      channel_priority == "flexible"   ? builder::conda::ChannelPriority::Flexible
      : channel_priority == "disabled" ? builder::conda::ChannelPriority::Disabled
                                       : builder::conda::ChannelPriority::Strict;
  o.conda.cache_dir = flags.cache_dir() / "conda";
  o.conda.parallel = std::max<size_t>(flags.parallel, 4);
  o.conda.skip_post_link = skip_post_link;
  o.conda.offline = offline;
  o.conda.verbose = flags.verbose;
  o.conda.insecure_hosts = flags.insecure_registries;
  if (!lock_in.empty()) o.conda.lock_in = lock_in;
  if (!lock_out.empty()) o.lock_out = lock_out;
  o.assemble.parallel = flags.parallel;
  o.assemble.layer.compression = compression == "zstd" ? registry::LayerOptions::Compression::Zstd
                                                       : registry::LayerOptions::Compression::Gzip;
  o.assemble.layer.source_date_epoch =
      registry::source_date_epoch_from_env(std::getenv("SOURCE_DATE_EPOCH"));
  return o;
}

void CreateFlags::apply_to(builder::EnvironmentDefinition& def) const {
  def.conda.subdir = conda_subdir;
  def.conda.channel_alias = channel_alias;
  def.conda.channel_priority = channel_priority;
  def.conda.pinned.clear();
  for (const std::string& pin : pins) {
    try {
      def.conda.pinned.push_back(builder::conda::MatchSpec::parse(pin).canonical());
    } catch (const Error& e) {
      throw Error(ErrorKind::BadInput, "--pin " + pin + ": " + e.what());
    }
  }
  std::sort(def.conda.pinned.begin(), def.conda.pinned.end());
  def.conda.pinned.erase(std::unique(def.conda.pinned.begin(), def.conda.pinned.end()),
                         def.conda.pinned.end());
  if (!lock_in.empty()) {
    std::ifstream in(lock_in, std::ios::binary);
    if (!in) throw Error(ErrorKind::BadInput, lock_in + ": cannot read the lock file");
    std::ostringstream text;
    text << in.rdbuf();
    def.conda.lock_sha256 = registry::Digest::sha256_of(text.str()).hex();
  }
}

builder::LoadOptions CreateFlags::load_options() const {
  builder::LoadOptions o;
  o.platform = builder::TargetPlatform::parse(platform);
  return o;
}

}  // namespace envbuild::cli
