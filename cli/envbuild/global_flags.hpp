#pragma once
// Flags every envbuild subcommand shares, and what they turn into.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "registry/store_location.hpp"

namespace envbuild::cli {

struct GlobalFlags {
  bool json = false;
  bool verbose = false;
  bool quiet = false;
  std::vector<std::string> insecure_registries;
  std::string store_dir;  // overrides the default local store
  size_t parallel = 4;

  void add_to(CLI::App& app);
  std::filesystem::path local_store_dir() const;
  registry::LocationOptions location_options() const;
  // Progress bars only on a terminal, and never mixed with --json.
  bool show_progress() const;
};

// A subcommand and what runs when it was chosen.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_copy_command(CLI::App& root, const GlobalFlags& flags);
Command add_inspect_command(CLI::App& root, const GlobalFlags& flags);
Command add_store_command(CLI::App& root, const GlobalFlags& flags);
Command add_pack_command(CLI::App& root, const GlobalFlags& flags);

}  // namespace envbuild::cli
