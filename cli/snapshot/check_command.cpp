// snapshot check DIR [PATH...]: what a push would include, and why not.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/snapshot/commands.hpp"
#include "registry/error.hpp"
#include "snapshot/source_walk.hpp"

namespace envbuild::cli {

namespace {

namespace fs = std::filesystem;

std::string rule_of(const snapshot::IgnoreDecision& d) {
  if (d.source.empty()) return {};
  return d.source + ":" + std::to_string(d.line) + ":" + d.pattern;
}

}  // namespace

Command add_check_command(CLI::App& root, const GlobalFlags& flags) {
  auto* app = root.add_subcommand(
      "check",
      "Show what a push of DIR includes and ignores; with PATHs, which rule in which file "
      "decided each (like git check-ignore -v)");
  struct Args {
    std::string dir;
    std::vector<std::string> paths;
    bool no_parent_ignores = false;
  };
  auto args = std::make_shared<Args>();
  app->add_option("DIR", args->dir, "Source folder")->required();
  app->add_option("PATH", args->paths, "Paths relative to DIR");
  app->add_flag("--no-parent-ignores", args->no_parent_ignores,
                "Ignore files above DIR in its git work tree do not apply");
  return {app, [args, &flags]() -> int {
            std::error_code ec;
            fs::path root = fs::canonical(args->dir, ec);
            if (ec || !fs::is_directory(root))
              throw Error(ErrorKind::BadInput, args->dir + " is not a directory");
            snapshot::WalkOptions options;
            options.honor_parent_ignores = !args->no_parent_ignores;
            if (!args->paths.empty()) {
              nlohmann::ordered_json out = nlohmann::ordered_json::array();
              for (const std::string& p : args->paths) {
                snapshot::IgnoreDecision d = snapshot::explain_path(root, p, options);
                if (flags.json) {
                  nlohmann::ordered_json j;
                  j["path"] = p;
                  j["ignored"] = d.ignored;
                  if (!d.source.empty()) {
                    j["source"] = d.source;
                    j["line"] = d.line;
                    j["pattern"] = d.pattern;
                  }
                  out.push_back(j);
                  continue;
                }
                std::string rule = rule_of(d);
                std::cout << (d.ignored ? "ignored" : "included") << "\t" << p;
                if (!rule.empty()) std::cout << "\t" << rule;
                std::cout << "\n";
              }
              if (flags.json) std::cout << out.dump() << "\n";
              return 0;
            }
            snapshot::WalkResult walk = snapshot::walk_source_tree(root, options);
            if (flags.json) {
              nlohmann::ordered_json j;
              nlohmann::ordered_json included = nlohmann::ordered_json::array();
              for (const auto& e : walk.entries) included.push_back(e.path);
              nlohmann::ordered_json ignored = nlohmann::ordered_json::array();
              for (const auto& x : walk.excluded) {
                ignored.push_back(
                    {{"path", x.path + (x.is_directory ? "/" : "")}, {"reason", x.reason}});
              }
              j["included"] = included;
              j["ignored"] = ignored;
              std::cout << j.dump() << "\n";
              return 0;
            }
            for (const auto& e : walk.entries)
              std::cout << "included\t" << e.path
                        << (e.type == snapshot::EntryType::Directory ? "/" : "") << "\n";
            for (const auto& x : walk.excluded)
              std::cout << "ignored\t" << x.path << (x.is_directory ? "/" : "") << "\t" << x.reason
                        << "\n";
            return 0;
          }};
}

}  // namespace envbuild::cli
