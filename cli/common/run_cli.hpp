#pragma once
// The shared shape of our executables: global flags, one required
// subcommand, CLI11 parse errors as exit 1, Error as its documented code.
#include <functional>
#include <vector>

#include "cli/common/global_flags.hpp"

namespace envbuild::cli {

using AddCommands = std::function<std::vector<Command>(CLI::App& app, const GlobalFlags& flags)>;

int run_cli(const char* program, const char* description, int argc, char** argv,
            const AddCommands& add_commands);

}  // namespace envbuild::cli
