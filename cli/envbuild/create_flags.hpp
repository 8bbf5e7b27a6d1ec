#pragma once
// The flags `create` and `curated publish` share, and the options they make.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "builder/create_environment.hpp"
#include "builder/definition/load_definition.hpp"
#include "cli/common/global_flags.hpp"

namespace envbuild::cli {

struct CreateFlags {
  std::string push;
  std::vector<std::string> tags;
  bool refresh = false;
  bool dry_run = false;
  std::string platform = "linux/amd64";
  std::string base;
  std::string compression = "gzip";
  std::string curated_from;
  // conda
  std::string conda_subdir;
  std::string channel_alias;
  std::string channel_priority = "strict";
  std::vector<std::string> pins;
  std::string lock_in;
  std::string lock_out;
  bool skip_post_link = false;
  bool offline = false;

  void add_to(CLI::App& app);
  builder::CreateOptions options(const GlobalFlags& flags) const;
  builder::LoadOptions load_options() const;
  // Puts the conda settings that are part of the identity into `def`.
  void apply_to(builder::EnvironmentDefinition& def) const;
};

void print_create_result(const builder::CreateResult& r, const GlobalFlags& flags);

}  // namespace envbuild::cli
