// envbuild pack --to LOCATION DIR [DIR...]
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "builder/image_pack.hpp"
#include "cli/envbuild/commands.hpp"
#include "registry/error.hpp"

namespace envbuild::cli {

Command add_pack_command(CLI::App& root, const GlobalFlags& flags) {
  auto* app = root.add_subcommand(
      "pack", "Pack directories into an image, one reproducible layer per directory");
  struct Args {
    std::vector<std::string> dirs;
    std::string to;
    std::string compression = "gzip";
    std::vector<std::string> env;
  };
  auto args = std::make_shared<Args>();
  app->add_option("DIR", args->dirs, "Directories, one layer each, in order")->required();
  app->add_option("--to", args->to, "Destination: NAME[:TAG], oci:DIR:TAG or HOST/REPO:TAG")
      ->required();
  app->add_option("--compression", args->compression, "gzip (default), zstd or none")
      ->check(CLI::IsMember({"gzip", "zstd", "none"}));
  app->add_option("--env", args->env, "KEY=VALUE for the image config");
  return {app, [args, &flags]() -> int {
            auto dst = registry::open_location(args->to, flags.location_options());
            builder::PackOptions options;
            options.layer.compression =
                args->compression == "zstd"   ? registry::LayerOptions::Compression::Zstd
                : args->compression == "none" ? registry::LayerOptions::Compression::None
                                              : registry::LayerOptions::Compression::Gzip;
            options.layer.source_date_epoch =
                registry::source_date_epoch_from_env(std::getenv("SOURCE_DATE_EPOCH"));
            options.env = args->env;
            std::vector<std::filesystem::path> dirs(args->dirs.begin(), args->dirs.end());
            auto result = builder::pack_directories(dirs, *dst.store, dst.tag, options);
            if (flags.json) {
              nlohmann::ordered_json j;
              j["destination"] = dst.display;
              j["digest"] = result.manifest.digest.str();
              j["config"] = result.config.digest.str();
              nlohmann::ordered_json layers = nlohmann::ordered_json::array();
              for (const auto& l : result.layers) {
                layers.push_back({{"digest", l.blob.digest.str()},
                                  {"size", l.blob.size},
                                  {"diffID", l.diff_id.str()}});
              }
              j["layers"] = layers;
              std::cout << j.dump() << "\n";
            } else {
              std::printf("%s@%s\n", dst.display.c_str(), result.manifest.digest.str().c_str());
            }
            return 0;
          }};
}

}  // namespace envbuild::cli
