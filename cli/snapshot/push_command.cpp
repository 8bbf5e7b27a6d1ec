// snapshot push DIR [--to STORE]
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/common/progress.hpp"
#include "cli/snapshot/commands.hpp"
#include "registry/byte_units.hpp"
#include "registry/error.hpp"
#include "snapshot/push_git_metadata.hpp"
#include "snapshot/snapshot_limits.hpp"
#include "snapshot/snapshot_push.hpp"
#include "snapshot/source_walk.hpp"

namespace envbuild::cli {

namespace {

namespace fs = std::filesystem;

struct PushArgs {
  std::string dir;
  std::string to;
  std::string config;
  std::string max_bytes;
  uint64_t max_files = 0;
  bool no_parent_ignores = false;
};

fs::path source_root(const std::string& dir) {
  std::error_code ec;
  fs::path root = fs::canonical(dir, ec);
  if (ec) throw Error(ErrorKind::BadInput, "cannot open " + dir + ": " + ec.message());
  if (!fs::is_directory(root, ec)) throw Error(ErrorKind::BadInput, dir + " is not a directory");
  return root;
}

snapshot::SnapshotLimits limits_for(const PushArgs& a) {
  snapshot::SnapshotLimits limits;
  if (!a.config.empty()) {
    limits = snapshot::load_limits_config(a.config, limits);
  } else if (auto file = snapshot::default_config_file()) {
    limits = snapshot::load_limits_config(*file, limits);
  }
  if (a.max_files > 0) limits.max_files = a.max_files;
  if (!a.max_bytes.empty())
    limits.max_bytes = snapshot::parse_byte_size(a.max_bytes, "--max-bytes");
  return limits;
}

}  // namespace

Command add_push_command(CLI::App& root, const GlobalFlags& flags) {
  auto* app = root.add_subcommand(
      "push", "Snapshot DIR (honouring .gitignore/.amlignore) into a store; prints the id");
  auto args = std::make_shared<PushArgs>();
  app->add_option("DIR", args->dir, "Source folder")->required();
  app->add_option("--to", args->to,
                  "Destination: oci:DIR, HOST/REPO[:TAG] or local:NAME (default: the local "
                  "store); a TAG is applied in addition to the snapshot's own tag");
  app->add_option("--config", args->config,
                  "Config file with snapshot limits (default: $ENVBUILD_CONFIG, else "
                  "~/.config/envbuild/config.yaml when present)");
  app->add_option("--max-files", args->max_files, "File limit (default 2000)")
      ->check(CLI::PositiveNumber);
  app->add_option("--max-bytes", args->max_bytes, "Size limit, e.g. 300MB (default)");
  app->add_flag("--no-parent-ignores", args->no_parent_ignores,
                "Ignore files above DIR in its git work tree do not apply");
  return {app, [args, &flags]() -> int {
            fs::path root = source_root(args->dir);
            snapshot::SnapshotLimits limits = limits_for(*args);
            snapshot::WalkOptions walk_options;
            walk_options.honor_parent_ignores = !args->no_parent_ignores;
            snapshot::WalkResult walk = snapshot::walk_source_tree(root, walk_options);
            snapshot::check_limits(walk, limits, root);

            snapshot::PushGitMetadata git_reader(root, walk, flags.cache_dir() / "snapshot",
                                                 snapshot::process_env());
            const snapshot::GitMetadata* git = nullptr;
            auto git_metadata = [&](const registry::Digest& tree) -> const snapshot::GitMetadata& {
              if (git == nullptr) {
                git = &git_reader.for_tree(tree, walk);
                for (const std::string& w : git->warnings)
                  std::cerr << "snapshot: warning: " << w << "\n";
              }
              return *git;
            };

            registry::StoreLocation loc = open_snapshot_store(args->to, flags);
            ProgressBar bar("push", flags.show_progress());
            snapshot::PushOptions options;
            options.workers = flags.parallel;
            options.late_annotations = [&](const registry::Digest& tree) {
              return git_metadata(tree).properties;
            };
            options.cache_dir = flags.cache_dir() / "snapshot";
            uint64_t reported = 0;
            bool planned = false;
            options.progress = [&](uint64_t done, uint64_t total) {
              if (!planned) {
                bar.planned(0, total);
                planned = true;
              }
              if (done > reported) bar.transferred(done - reported);
              reported = done;
            };
            snapshot::PushResult r = snapshot::push_snapshot(root, walk, *loc.store, options);
            if (loc.tag) {
              registry::ManifestBytes m = loc.store->get_manifest(r.id.str());
              loc.store->put_manifest(m, *loc.tag);
            }
            bar.finish();

            if (flags.json) {
              nlohmann::ordered_json j;
              j["id"] = r.id.str();
              j["tag"] = r.tag;
              j["store"] = loc.store->describe();
              j["files"] = r.files;
              j["bytes"] = r.bytes;
              j["symlinks"] = r.symlinks;
              j["empty_directories"] = r.directories;
              j["uploaded_files"] = r.uploaded_files;
              j["uploaded_bytes"] = r.uploaded_bytes;
              j["uploaded_blobs"] = r.uploaded_blobs;
              j["ignored"] = r.ignored;
              j["git"] = git->properties;
              j["warnings"] = git->warnings;
              std::cout << j.dump() << "\n";
              return 0;
            }
            // The id alone on stdout, so `ID=$(snapshot push src)` works; the
            // summary is for the person watching.
            std::cout << r.id.str() << "\n";
            if (!flags.quiet) {
              std::cerr << r.files << " files (" << registry::format_bytes(r.bytes) << ")";
              if (r.symlinks) std::cerr << ", " << r.symlinks << " symlinks";
              std::cerr << "; uploaded " << r.uploaded_files << " files ("
                        << registry::format_bytes(r.uploaded_bytes) << "); ignored " << r.ignored
                        << "; " << loc.store->describe() << " tag " << r.tag << "\n";
            }
            return 0;
          }};
}

}  // namespace envbuild::cli
