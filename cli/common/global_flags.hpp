#pragma once
// Flags every subcommand of envbuild and snapshot shares, and what they turn
// into.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "registry/store_location.hpp"

namespace envbuild::cli {

struct GlobalFlags {
  bool json = false;
  bool verbose = false;
  bool quiet = false;
  std::vector<std::string> insecure_registries;
  std::vector<std::string> registry_mirrors;  // REGISTRY=MIRROR
  std::string store_dir;                      // overrides the default local store
  size_t parallel = 4;

  void add_to(CLI::App& app);
  std::filesystem::path local_store_dir() const;
  // Caches that only save work ($ENVBUILD_CACHE_DIR, else
  // $XDG_CACHE_HOME/envbuild, else ~/.cache/envbuild).
  std::filesystem::path cache_dir() const;
  registry::LocationOptions location_options() const;
  // Progress bars only on a terminal, and never mixed with --json.
  bool show_progress() const;
};

// A subcommand and what runs when it was chosen.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

}  // namespace envbuild::cli
