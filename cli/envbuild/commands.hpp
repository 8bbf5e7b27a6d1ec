#pragma once
// The subcommands of envbuild.
#include "cli/common/global_flags.hpp"

namespace envbuild::cli {

Command add_copy_command(CLI::App& root, const GlobalFlags& flags);
Command add_inspect_command(CLI::App& root, const GlobalFlags& flags);
Command add_store_command(CLI::App& root, const GlobalFlags& flags);
Command add_pack_command(CLI::App& root, const GlobalFlags& flags);
Command add_create_command(CLI::App& root, const GlobalFlags& flags);
Command add_curated_command(CLI::App& root, const GlobalFlags& flags);

}  // namespace envbuild::cli
