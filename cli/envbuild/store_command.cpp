// envbuild store verify | gc | ls: maintenance of the local store.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/envbuild/commands.hpp"
#include "registry/layout_store.hpp"
#include "registry/store_maintenance.hpp"

namespace envbuild::cli {

namespace {
constexpr int kVerifyFailedExit = 6;
}

Command add_store_command(CLI::App& root, const GlobalFlags& flags) {
  auto* app = root.add_subcommand("store", "Maintain the local store (or --store DIR)");
  app->require_subcommand(1);
  auto* verify =
      app->add_subcommand("verify", "Rehash every blob and check that every reference resolves");
  auto* gc = app->add_subcommand("gc", "Remove blobs no tag or manifest reaches");
  auto dry_run = std::make_shared<bool>(false);
  gc->add_flag("--dry-run", *dry_run, "Only report what would be removed");
  auto* ls = app->add_subcommand("ls", "List the names in the store");
  return {app, [=, &flags]() -> int {
            registry::LayoutStore store(flags.local_store_dir());
            if (verify->parsed()) {
              auto report = registry::verify(store);
              if (flags.json) {
                nlohmann::ordered_json j;
                j["store"] = flags.local_store_dir().string();
                j["ok"] = report.problems.empty();
                j["blobsChecked"] = report.blobs_checked;
                j["manifestsChecked"] = report.manifests_checked;
                j["problems"] = report.problems;
                std::cout << j.dump() << "\n";
              } else {
                for (const auto& p : report.problems)
                  std::fprintf(stderr, "envbuild: store: %s\n", p.c_str());
                std::printf("%s: %zu blobs, %zu manifests checked, %zu problems\n",
                            flags.local_store_dir().c_str(), report.blobs_checked,
                            report.manifests_checked, report.problems.size());
              }
              return report.problems.empty() ? 0 : kVerifyFailedExit;
            }
            if (gc->parsed()) {
              auto report = registry::gc(store, *dry_run);
              if (flags.json) {
                nlohmann::ordered_json j;
                j["store"] = flags.local_store_dir().string();
                j["dryRun"] = *dry_run;
                j["blobsRemoved"] = report.blobs_removed;
                j["bytesFreed"] = report.bytes_freed;
                std::cout << j.dump() << "\n";
              } else {
                std::printf("%s %zu blobs, %llu bytes\n", *dry_run ? "would remove" : "removed",
                            report.blobs_removed,
                            static_cast<unsigned long long>(report.bytes_freed));
              }
              return 0;
            }
            (void)ls;
            auto tags = store.list_tags();
            if (flags.json) {
              nlohmann::ordered_json j;
              j["store"] = flags.local_store_dir().string();
              j["names"] = tags;
              std::cout << j.dump() << "\n";
            } else {
              for (const auto& t : tags) std::printf("%s\n", t.c_str());
            }
            return 0;
          }};
}

}  // namespace envbuild::cli
