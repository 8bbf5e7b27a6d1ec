#include "cli/envbuild/create_flags.hpp"

#include <cstdlib>
#include <filesystem>

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
  o.assemble.parallel = flags.parallel;
  o.assemble.layer.compression = compression == "zstd" ? registry::LayerOptions::Compression::Zstd
                                                       : registry::LayerOptions::Compression::Gzip;
  o.assemble.layer.source_date_epoch =
      registry::source_date_epoch_from_env(std::getenv("SOURCE_DATE_EPOCH"));
  return o;
}

builder::LoadOptions CreateFlags::load_options() const {
  builder::LoadOptions o;
  o.platform = builder::TargetPlatform::parse(platform);
  return o;
}

}  // namespace envbuild::cli
