// envbuild copy SRC DST
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/common/progress.hpp"
#include "cli/envbuild/commands.hpp"
#include "registry/copy.hpp"

namespace envbuild::cli {

Command add_copy_command(CLI::App& root, const GlobalFlags& flags) {
  auto* app = root.add_subcommand("copy",
                                  "Copy an image or multi-platform index with all its children.\n"
                                  "Locations: oci:DIR[:TAG], [docker://]HOST/REPO[:TAG|@DIGEST],\n"
                                  "or NAME[:TAG] / local:NAME[:TAG] in the local store.");
  struct Args {
    std::string src, dst;
  };
  auto args = std::make_shared<Args>();
  app->add_option("SRC", args->src, "Source image")->required();
  app->add_option("DST", args->dst, "Destination")->required();
  return {
      app, [args, &flags]() -> int {
        auto options = flags.location_options();
        auto src = registry::open_location(args->src, options);
        auto dst = registry::open_location(args->dst, options);
        std::string src_ref = src.ref.empty() ? "latest" : src.ref;
        // Without a destination tag the source tag is kept, as skopeo does.
        std::optional<std::string> dst_tag = dst.tag;
        if (!dst_tag && dst.ref.empty() && src.tag) dst_tag = src.tag;

        ProgressBar progress("copy", flags.show_progress());
        registry::CopyOptions copy_options;
        copy_options.parallel = flags.parallel;
        copy_options.observer = &progress;
        auto result = registry::copy_image(*src.store, src_ref, *dst.store, dst_tag, copy_options);
        progress.finish();

        if (flags.json) {
          nlohmann::ordered_json j;
          j["source"] = src.display;
          j["destination"] = dst.display;
          j["digest"] = result.digest.str();
          j["mediaType"] = result.media_type;
          j["manifests"] = result.manifests;
          j["blobsCopied"] = result.blobs_copied;
          j["blobsSkipped"] = result.blobs_skipped;
          j["blobsMounted"] = result.blobs_mounted;
          j["bytesCopied"] = result.bytes_copied;
          std::cout << j.dump() << "\n";
        } else {
          std::printf("%s@%s\n", dst.display.c_str(), result.digest.str().c_str());
          if (!flags.quiet) {
            std::fprintf(stderr, "copied %zu blobs (%llu bytes), skipped %zu, mounted %zu\n",
                         result.blobs_copied, static_cast<unsigned long long>(result.bytes_copied),
                         result.blobs_skipped, result.blobs_mounted);
          }
        }
        return 0;
      }};
}

}  // namespace envbuild::cli
