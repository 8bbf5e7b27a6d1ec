// envbuild: build, copy and inspect OCI images without a daemon.
#include "cli/common/run_cli.hpp"
#include "cli/envbuild/commands.hpp"

int main(int argc, char** argv) {
  using namespace envbuild::cli;
  return run_cli("envbuild", "envbuild: environment definitions to OCI images, daemonless", argc,
                 argv, [](CLI::App& app, const GlobalFlags& flags) {
                   return std::vector<Command>{
                       add_create_command(app, flags), add_curated_command(app, flags),
                       add_copy_command(app, flags),   add_inspect_command(app, flags),
                       add_store_command(app, flags),  add_pack_command(app, flags),
                   };
                 });
}
