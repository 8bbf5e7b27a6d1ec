// envbuild create DEF [--push LOCATION] [--tag T]... [--refresh] [--dry-run]
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "builder/create_environment.hpp"
#include "builder/definition/load_definition.hpp"
#include "cli/common/progress.hpp"
#include "cli/envbuild/commands.hpp"
#include "cli/envbuild/create_flags.hpp"
#include "registry/atomic_file.hpp"
#include "registry/error.hpp"

namespace envbuild::cli {

namespace {

nlohmann::ordered_json result_json(const builder::CreateResult& r) {
  nlohmann::ordered_json j;
  j["reference"] = r.reference;
  j["digest"] = r.digest.empty() ? "" : r.digest.str();
  j["store"] = r.store;
  j["outcome"] = builder::outcome_name(r.outcome);
  j["cache_hit"] = r.outcome == builder::CreateResult::Outcome::CacheHit;
  j["spec_hash"] = r.spec_hash;
  j["lock_hash"] = r.lock_hash;
  j["tags"] = r.tags;
  j["base"] = {{"reference", r.base_reference},
               {"digest", r.base_digest.empty() ? "" : r.base_digest.str()}};
  j["base_layers"] = {{"total", r.base_layers},
                      {"present", r.base_layers_present},
                      {"mounted", r.base_layers_mounted},
                      {"copied", r.base_layers_copied}};
  j["log_tag"] = r.log_tag;
  j["plan"] = r.plan;
  if (!r.conda_packages.empty()) {
    nlohmann::ordered_json packages = nlohmann::ordered_json::array();
    for (const auto& p : r.conda_packages) {
      packages.push_back({{"name", p.name},
                          {"version", p.version},
                          {"build", p.build},
                          {"channel", p.channel},
                          {"subdir", p.subdir}});
    }
    j["conda"] = {
        {"packages", packages}, {"downloaded", r.conda_downloaded}, {"layers", r.conda_layers}};
  }
  return j;
}

}  // namespace

void print_create_result(const builder::CreateResult& r, const GlobalFlags& flags) {
  using Outcome = builder::CreateResult::Outcome;
  if (flags.json) {
    std::cout << result_json(r).dump() << "\n";
    return;
  }
  if (r.outcome == Outcome::Planned) {
    for (const std::string& step : r.plan) std::printf("%s\n", step.c_str());
    return;
  }
  std::printf("%s\n", r.reference.c_str());
  if (flags.quiet) return;
  switch (r.outcome) {
    case Outcome::CacheHit:
      std::fprintf(stderr, "cache hit: %s in %s; nothing built\n", r.cache_tag.c_str(),
                   r.store.c_str());
      break;
    case Outcome::CopiedCurated:
      std::fprintf(stderr, "copied the published curated image into %s as %s\n", r.store.c_str(),
                   r.cache_tag.c_str());
      break;
    default:
      std::fprintf(stderr,
                   "built %s on %s@%s (%zu base layers: %zu present, %zu mounted, %zu copied); "
                   "build log %s\n",
                   r.cache_tag.c_str(), r.base_reference.c_str(),
                   r.base_digest.empty() ? "-" : r.base_digest.str().c_str(), r.base_layers,
                   r.base_layers_present, r.base_layers_mounted, r.base_layers_copied,
                   r.log_tag.c_str());
      if (!r.conda_packages.empty()) {
        std::fprintf(stderr,
                     "conda: %zu packages in %zu layers at /opt/conda (%zu downloaded, %zu from "
                     "the package cache)\n",
                     r.conda_packages.size(), r.conda_layers, r.conda_downloaded,
                     r.conda_packages.size() - r.conda_downloaded);
      }
  }
}

Command add_create_command(CLI::App& root, const GlobalFlags& flags) {
  auto* app = root.add_subcommand(
      "create",
      "Build an environment definition into an image (a cache hit builds nothing).\n"
      "DEF: environment.yml, an Azure ML environment YAML, requirements.txt, a Dockerfile,\n"
      "or curated:NAME[:VERSION].");
  struct Args {
    std::string definition;
    CreateFlags create;
    std::string digest_file;
    std::string log_file;
  };
  auto args = std::make_shared<Args>();
  app->add_option("DEF", args->definition, "The definition")->required();
  args->create.add_to(*app);
  app->add_option("--digest-file", args->digest_file,
                  "Write the image digest to FILE (for schedulers, like Tekton's IMAGE_DIGEST)");
  app->add_option("--log", args->log_file, "Write the build log to FILE too");
  return {app, [args, &flags]() -> int {
            builder::CreateOptions options = args->create.options(flags);
            builder::EnvironmentDefinition def =
                builder::load_definition(args->definition, args->create.load_options());
            args->create.apply_to(def);
            builder::BuildLog log;
            builder::CreateResult r;
            ProgressBar downloads("conda packages", flags.show_progress());
            options.conda.download_progress = [&downloads](uint64_t done, uint64_t total) {
              downloads.set_bytes(done, total);
            };
            try {
              r = builder::create_environment(def, options, log);
              downloads.finish();
            } catch (const Error& e) {
              downloads.finish();
              // A failed build's log says how far it got.
              log.line(std::string("error: ") + e.what());
              if (!args->log_file.empty()) registry::write_file_atomic(args->log_file, log.text());
              throw;
            }
            if (!args->log_file.empty()) registry::write_file_atomic(args->log_file, log.text());
            if (!args->digest_file.empty() && !r.digest.empty())
              registry::write_file_atomic(args->digest_file, r.digest.str());
            print_create_result(r, flags);
            return 0;
          }};
}

}  // namespace envbuild::cli
