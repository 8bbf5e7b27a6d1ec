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

  void add_to(CLI::App& app);
  builder::CreateOptions options(const GlobalFlags& flags) const;
  builder::LoadOptions load_options() const;
};

void print_create_result(const builder::CreateResult& r, const GlobalFlags& flags);

}  // namespace envbuild::cli
