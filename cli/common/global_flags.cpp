#include "cli/common/global_flags.hpp"

#include <cstdlib>

#include "cli/common/progress.hpp"
#include "registry/default_store.hpp"

namespace envbuild::cli {

void GlobalFlags::add_to(CLI::App& app) {
  app.add_flag("--json", json, "Print one JSON object on stdout");
  app.add_flag("-v,--verbose", verbose, "Log registry requests to stderr (never credentials)");
  app.add_flag("-q,--quiet", quiet, "No progress output");
  app.add_option("--insecure-registry", insecure_registries,
                 "Allow plain HTTP to this registry host (loopback is always allowed)");
  app.add_option("--registry-mirror", registry_mirrors,
                 "REGISTRY=MIRROR: serve references to REGISTRY from MIRROR[/PREFIX] (also "
                 "$ENVBUILD_REGISTRY_MIRRORS, comma-separated)");
  app.add_option("--store", store_dir,
                 "Local store directory (default: $ENVBUILD_HOME or ~/.local/share/envbuild)");
  app.add_option("--parallel", parallel, "Concurrent blob transfers")->check(CLI::Range(1, 64));
}

std::filesystem::path GlobalFlags::local_store_dir() const {
  if (!store_dir.empty()) return store_dir;
  return registry::default_store_dir(std::getenv("ENVBUILD_HOME"), std::getenv("XDG_DATA_HOME"),
                                     std::getenv("HOME"));
}

std::filesystem::path GlobalFlags::cache_dir() const {
  return registry::default_cache_dir(std::getenv("ENVBUILD_CACHE_DIR"),
                                     std::getenv("XDG_CACHE_HOME"), std::getenv("HOME"));
}

registry::LocationOptions GlobalFlags::location_options() const {
  registry::LocationOptions o;
  o.default_store_dir = local_store_dir();
  o.insecure_registries = insecure_registries;
  if (const char* env = std::getenv("ENVBUILD_REGISTRY_MIRRORS"))
    registry::add_registry_mirrors(env, o.registry_mirrors);
  for (const std::string& m : registry_mirrors)
    registry::add_registry_mirrors(m, o.registry_mirrors);
  o.verbose = verbose;
  return o;
}

bool GlobalFlags::show_progress() const { return !json && !quiet && ProgressBar::stderr_is_tty(); }

}  // namespace envbuild::cli
