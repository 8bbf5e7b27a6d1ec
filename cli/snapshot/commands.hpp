#pragma once
// The subcommands of snapshot, and what they share.
#include <memory>
#include <string>

#include "cli/common/global_flags.hpp"
#include "registry/store_location.hpp"

namespace envbuild::cli {

Command add_push_command(CLI::App& root, const GlobalFlags& flags);
Command add_pull_command(CLI::App& root, const GlobalFlags& flags);
Command add_ls_command(CLI::App& root, const GlobalFlags& flags);
Command add_show_command(CLI::App& root, const GlobalFlags& flags);
Command add_diff_command(CLI::App& root, const GlobalFlags& flags);
Command add_check_command(CLI::App& root, const GlobalFlags& flags);

// The store a snapshot command reads or writes: `where` as for envbuild copy
// (oci:DIR, HOST/REPO, local:NAME), or the embedded local store when empty.
registry::StoreLocation open_snapshot_store(const std::string& where, const GlobalFlags& flags);

// Adds --from to a reading command.
void add_from_option(CLI::App& app, std::string& from);

}  // namespace envbuild::cli
