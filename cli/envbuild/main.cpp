// envbuild: build, copy and inspect OCI images without a daemon.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <vector>

#include "cli/common/run_main.hpp"
#include "cli/envbuild/commands.hpp"

int main(int argc, char** argv) {
  using namespace envbuild::cli;
  return run_main("envbuild", [&]() -> int {
    CLI::App app{"envbuild: environment definitions to OCI images, daemonless", "envbuild"};
    app.set_version_flag("--version", "envbuild " ENVBUILD_VERSION);
    app.require_subcommand(1);
    app.fallthrough();  // global flags may follow the subcommand
    GlobalFlags flags;
    flags.add_to(app);
    std::vector<Command> commands = {
        add_copy_command(app, flags),
        add_inspect_command(app, flags),
        add_store_command(app, flags),
        add_pack_command(app, flags),
    };
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      std::fprintf(stderr, "envbuild: error: %s (see envbuild --help)\n", e.what());
      return 1;
    }
    for (const Command& c : commands) {
      if (c.app->parsed()) return c.run();
    }
    return 1;
  });
}
