// snapshot diff ID1 ID2|DIR
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/snapshot/commands.hpp"
#include "snapshot/content_hash.hpp"
#include "snapshot/snapshot_diff.hpp"
#include "snapshot/snapshot_read.hpp"
#include "snapshot/source_walk.hpp"
#include "snapshot/stat_cache.hpp"

namespace envbuild::cli {

namespace {

namespace fs = std::filesystem;

// A folder as it would be snapshotted now: same ignore rules, same hashes
// (through the stat cache, so an unchanged folder is not read).
std::vector<snapshot::SnapshotFile> files_of_directory(const fs::path& dir,
                                                       const GlobalFlags& flags) {
  fs::path root = fs::canonical(dir);
  snapshot::WalkResult walk = snapshot::walk_source_tree(root);
  fs::path cache_file = snapshot::StatCache::file_for(flags.cache_dir() / "snapshot", root);
  snapshot::StatCache cache = snapshot::StatCache::load(cache_file);
  snapshot::HashedTree hashes = snapshot::hash_tree(root, walk, cache, flags.parallel);
  return snapshot::files_of_walk(walk, hashes);
}

}  // namespace

Command add_diff_command(CLI::App& root, const GlobalFlags& flags) {
  auto* app = root.add_subcommand(
      "diff", "Files added (A), removed (D) and modified (M) from ID1 to ID2 or to a folder");
  struct Args {
    std::string before;
    std::string after;
    std::string from;
  };
  auto args = std::make_shared<Args>();
  app->add_option("ID1", args->before, "Snapshot id")->required();
  app->add_option("ID2|DIR", args->after, "Snapshot id, or a folder to compare with")->required();
  add_from_option(*app, args->from);
  return {app, [args, &flags]() -> int {
            registry::StoreLocation loc = open_snapshot_store(args->from, flags);
            snapshot::SnapshotInfo before = snapshot::read_snapshot(*loc.store, args->before);
            std::error_code ec;
            std::vector<snapshot::SnapshotFile> after =
                fs::is_directory(args->after, ec)
                    ? files_of_directory(args->after, flags)
                    : snapshot::read_snapshot(*loc.store, args->after).files;
            snapshot::SnapshotDiff d = snapshot::diff_snapshots(before.files, after);
            if (flags.json) {
              nlohmann::ordered_json j;
              j["added"] = d.added;
              j["removed"] = d.removed;
              j["modified"] = d.modified;
              std::cout << j.dump() << "\n";
              return 0;
            }
            for (const auto& p : d.added) std::cout << "A\t" << p << "\n";
            for (const auto& p : d.removed) std::cout << "D\t" << p << "\n";
            for (const auto& p : d.modified) std::cout << "M\t" << p << "\n";
            return 0;
          }};
}

}  // namespace envbuild::cli
