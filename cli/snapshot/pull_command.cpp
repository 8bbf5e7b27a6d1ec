// snapshot pull ID DEST [--from STORE]
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/snapshot/commands.hpp"
#include "registry/byte_units.hpp"
#include "snapshot/snapshot_read.hpp"
#include "snapshot/snapshot_restore.hpp"

namespace envbuild::cli {

Command add_pull_command(CLI::App& root, const GlobalFlags& flags) {
  auto* app =
      root.add_subcommand("pull", "Restore snapshot ID into DEST (which must be absent or empty)");
  struct Args {
    std::string id;
    std::string dest;
    std::string from;
  };
  auto args = std::make_shared<Args>();
  app->add_option("ID", args->id, "Snapshot id (sha256:..., a unique prefix, or a tag)")
      ->required();
  app->add_option("DEST", args->dest, "Directory to create")->required();
  add_from_option(*app, args->from);
  return {app, [args, &flags]() -> int {
            registry::StoreLocation loc = open_snapshot_store(args->from, flags);
            snapshot::SnapshotInfo info = snapshot::read_snapshot(*loc.store, args->id);
            snapshot::RestoreResult r =
                snapshot::restore_snapshot(*loc.store, info, args->dest, flags.parallel);
            if (flags.json) {
              nlohmann::ordered_json j;
              j["id"] = info.id.str();
              j["dest"] = args->dest;
              j["files"] = r.files;
              j["bytes"] = r.bytes;
              j["symlinks"] = r.symlinks;
              j["empty_directories"] = r.directories;
              std::cout << j.dump() << "\n";
            } else if (!flags.quiet) {
              std::cerr << "restored " << r.files << " files (" << registry::format_bytes(r.bytes)
                        << ") of " << info.id.str() << " into " << args->dest << "\n";
            }
            return 0;
          }};
}

}  // namespace envbuild::cli
