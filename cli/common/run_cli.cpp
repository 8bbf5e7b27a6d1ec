#include "cli/common/run_cli.hpp"

#include <cstdio>
#include <string>

#include "cli/common/run_main.hpp"

namespace envbuild::cli {

int run_cli(const char* program, const char* description, int argc, char** argv,
            const AddCommands& add_commands) {
  return run_main(program, [&]() -> int {
    CLI::App app{description, program};
    app.set_version_flag("--version", std::string(program) + " " ENVBUILD_VERSION);
    app.require_subcommand(1);
    app.fallthrough();  // global flags may follow the subcommand
    GlobalFlags flags;
    flags.add_to(app);
    std::vector<Command> commands = add_commands(app, flags);
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      std::fprintf(stderr, "%s: error: %s (see %s --help)\n", program, e.what(), program);
      return 1;
    }
    for (const Command& c : commands) {
      if (c.app->parsed()) return c.run();
    }
    return 1;
  });
}

}  // namespace envbuild::cli
