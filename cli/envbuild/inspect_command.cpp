// envbuild inspect REF [--raw | --config]
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/envbuild/commands.hpp"
#include "registry/blob_io.hpp"
#include "registry/descriptor_json.hpp"
#include "registry/error.hpp"
#include "registry/media_types.hpp"

namespace envbuild::cli {

namespace {

constexpr uint64_t kMaxConfigBytes = 16 * 1024 * 1024;

nlohmann::ordered_json summarize_image(registry::Store& store,
                                       const registry::ManifestBytes& manifest,
                                       const std::string& name) {
  auto children = registry::manifest_children(manifest);
  nlohmann::ordered_json j;
  j["Name"] = name;
  j["Digest"] = manifest.digest.str();
  j["MediaType"] = manifest.media_type;
  const registry::Descriptor& config_desc = children.blobs.front();
  auto reader = store.open_blob(config_desc);
  auto config = nlohmann::json::parse(registry::read_all(*reader, kMaxConfigBytes), nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    throw Error(ErrorKind::BadInput,
                "image config " + config_desc.digest.str() + " is not a JSON object");
  }
  for (const char* key : {"created", "architecture", "os", "variant", "author"}) {
    if (config.contains(key))
      j[std::string(1, static_cast<char>(std::toupper(key[0]))) + (key + 1)] = config[key];
  }
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (size_t i = 1; i < children.blobs.size(); ++i)
    layers.push_back(registry::descriptor_to_json(children.blobs[i]));
  j["Layers"] = layers;
  if (auto c = config.find("config"); c != config.end() && c->is_object()) {
    for (const char* key : {"Env", "Entrypoint", "Cmd", "WorkingDir", "User", "Labels"}) {
      if (c->contains(key)) j[key] = (*c)[key];
    }
  }
  return j;
}

}  // namespace

Command add_inspect_command(CLI::App& root, const GlobalFlags& flags) {
  auto* app =
      root.add_subcommand("inspect", "Show an image's manifest summary, raw manifest or config");
  struct Args {
    std::string ref;
    bool raw = false;
    bool config = false;
  };
  auto args = std::make_shared<Args>();
  app->add_option("REF", args->ref, "Image location (as for copy)")->required();
  auto* raw = app->add_flag("--raw", args->raw, "Print the manifest bytes exactly as stored");
  app->add_flag("--config", args->config, "Print the image config bytes")->excludes(raw);
  return {app, [args, &flags]() -> int {
            auto loc = registry::open_location(args->ref, flags.location_options());
            auto manifest = loc.store->get_manifest(loc.ref.empty() ? "latest" : loc.ref);
            if (args->raw) {
              std::cout << manifest.bytes;
              return 0;
            }
            if (args->config) {
              if (!registry::media::is_image_manifest(manifest.media_type)) {
                throw Error(ErrorKind::BadInput,
                            loc.display + " is an index (" + manifest.media_type +
                                "): pick one platform's manifest by digest for --config");
              }
              auto children = registry::manifest_children(manifest);
              auto reader = loc.store->open_blob(children.blobs.front());
              std::cout << registry::read_all(*reader, kMaxConfigBytes);
              return 0;
            }
            nlohmann::ordered_json j;
            if (registry::media::is_index(manifest.media_type)) {
              j["Name"] = loc.display;
              j["Digest"] = manifest.digest.str();
              j["MediaType"] = manifest.media_type;
              nlohmann::ordered_json list = nlohmann::ordered_json::array();
              for (const auto& d : registry::manifest_children(manifest).manifests) {
                list.push_back(registry::descriptor_to_json(d));
              }
              j["Manifests"] = list;
            } else {
              j = summarize_image(*loc.store, manifest, loc.display);
            }
            std::cout << (flags.json ? j.dump() : j.dump(2)) << "\n";
            return 0;
          }};
}

}  // namespace envbuild::cli
