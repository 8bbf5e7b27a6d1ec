// envbuild curated list | show NAME | export NAME DIR | publish --push REPO [NAME...]
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "builder/curated/curated_catalog.hpp"
#include "builder/definition/canonical_definition.hpp"
#include "cli/envbuild/commands.hpp"
#include "cli/envbuild/create_flags.hpp"
#include "registry/atomic_file.hpp"
#include "registry/error.hpp"

namespace envbuild::cli {

namespace {

namespace fs = std::filesystem;
using builder::CuratedCatalog;
using builder::CuratedEnvironment;

// The definition as a starting point for the user's own: renamed, since the
// curated names are reserved, with a note saying where it came from.
std::string exported_text(const CuratedEnvironment& env) {
  std::string text(env.text);
  const std::string from = "name: " + env.name;
  const size_t at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), "name: my-" + env.name);
  return "# Exported from " + env.reference() +
         ". Rename and edit it, then: envbuild create THIS_FILE\n" + text;
}

}  // namespace

Command add_curated_command(CLI::App& root, const GlobalFlags& flags) {
  auto* app = root.add_subcommand("curated", "Curated environments shipped with envbuild");
  app->require_subcommand(1);
  struct Args {
    std::string name;
    std::string dir;
    std::vector<std::string> names;
    CreateFlags create;
  };
  auto args = std::make_shared<Args>();
  auto* list = app->add_subcommand("list", "List the curated environments (latest versions)");
  auto* show = app->add_subcommand("show", "Print a curated definition");
  show->add_option("NAME", args->name, "NAME[:VERSION]")->required();
  auto* exp = app->add_subcommand("export", "Write a curated definition to DIR to build your own");
  exp->add_option("NAME", args->name, "NAME[:VERSION]")->required();
  exp->add_option("DIR", args->dir, "Folder to write NAME.yml into")->required();
  auto* publish = app->add_subcommand(
      "publish", "Build curated environments and push them with their curated tags");
  publish->add_option("NAME", args->names, "Only these (default: every latest version)");
  args->create.add_to(*publish);

  return {app, [=, &flags]() -> int {
            const CuratedCatalog& catalog = CuratedCatalog::builtin();
            if (list->parsed()) {
              if (flags.json) {
                nlohmann::ordered_json j = nlohmann::ordered_json::array();
                for (const CuratedEnvironment* e : catalog.latest())
                  j.push_back({{"name", e->name},
                               {"version", e->version},
                               {"reference", e->reference()},
                               {"description", e->description}});
                std::cout << j.dump() << "\n";
              } else {
                for (const CuratedEnvironment* e : catalog.latest())
                  std::printf("%-24s %-4s %s\n", e->name.c_str(), e->version.c_str(),
                              e->description.c_str());
              }
              return 0;
            }
            if (show->parsed()) {
              std::cout << catalog.find(args->name).text;
              return 0;
            }
            if (exp->parsed()) {
              const CuratedEnvironment& e = catalog.find(args->name);
              const fs::path file = fs::path(args->dir) / ("my-" + e.name + ".yml");
              std::error_code ec;
              fs::create_directories(args->dir, ec);
              if (fs::exists(file, ec))
                throw Error(ErrorKind::BadInput, file.string() + " exists; not overwritten");
              registry::write_file_atomic(file, exported_text(e));
              std::printf("%s\n", file.string().c_str());
              return 0;
            }
            // publish
            if (args->create.push.empty())
              throw Error(ErrorKind::BadInput, "curated publish needs --push REPO");
            std::vector<const CuratedEnvironment*> chosen;
            if (args->names.empty()) {
              chosen = catalog.latest();
            } else {
              for (const std::string& n : args->names) chosen.push_back(&catalog.find(n));
            }
            int failures = 0;
            nlohmann::ordered_json results = nlohmann::ordered_json::array();
            for (const CuratedEnvironment* e : chosen) {
              builder::CreateOptions options = args->create.options(flags);
              options.curated_source.clear();  // publishing builds; it never copies
              options.extra_tags.push_back(e->versioned_tag());
              options.extra_tags.push_back(e->latest_tag());
              try {
                builder::BuildLog log;
                builder::EnvironmentDefinition def =
                    builder::load_curated(*e, args->create.load_options().platform);
                args->create.apply_to(def);
                const builder::CreateResult r = builder::create_environment(def, options, log);
                if (flags.json) {
                  results.push_back({{"curated", e->reference()},
                                     {"reference", r.reference},
                                     {"outcome", builder::outcome_name(r.outcome)},
                                     {"tags", r.tags}});
                } else {
                  std::printf("%s %s\n", e->reference().c_str(), r.reference.c_str());
                }
              } catch (const Error& err) {
                ++failures;
                std::fprintf(stderr, "envbuild: %s: %s\n", e->reference().c_str(), err.what());
                if (flags.json)
                  results.push_back({{"curated", e->reference()}, {"error", err.what()}});
              }
            }
            if (flags.json) std::cout << results.dump() << "\n";
            return failures == 0 ? 0 : static_cast<int>(ErrorKind::BadInput);
          }};
}

}  // namespace envbuild::cli
