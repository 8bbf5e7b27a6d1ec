// snapshot: content-addressed code snapshots in OCI stores.
#include "cli/common/run_cli.hpp"
#include "cli/snapshot/commands.hpp"

int main(int argc, char** argv) {
  using namespace envbuild::cli;
  return run_cli("snapshot", "snapshot: code folders as content-addressed snapshots in OCI stores",
                 argc, argv, [](CLI::App& app, const GlobalFlags& flags) {
                   return std::vector<Command>{
                       add_push_command(app, flags), add_pull_command(app, flags),
                       add_ls_command(app, flags),   add_show_command(app, flags),
                       add_diff_command(app, flags), add_check_command(app, flags),
                   };
                 });
}
