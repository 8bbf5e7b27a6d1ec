#include "tests/support/umoci_unpack.hpp"

#include <unistd.h>

#include <chrono>
#include <vector>

#include "registry/error.hpp"
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"

namespace envbuild::testing {

UnpackedImage umoci_unpack(const std::filesystem::path& layout, const std::string& tag,
                           const std::filesystem::path& dest) {
  if (layout.string().find(':') != std::string::npos) {
    throw Error(
        ErrorKind::Internal,
        "umoci_unpack: umoci cannot name a layout whose path has a ':': " + layout.string());
  }
  std::vector<std::string> argv = {"umoci", "unpack"};
  if (::geteuid() != 0) argv.push_back("--rootless");
  argv.insert(argv.end(), {"--image", layout.string() + ":" + tag, dest.string()});
  ProcessResult r = run_process(argv, {}, std::chrono::seconds(600));
  if (r.exit_code != 0) {
    throw Error(ErrorKind::Internal, "umoci unpack --image " + layout.string() + ":" + tag + " " +
                                         dest.string() + " exited with " +
                                         std::to_string(r.exit_code) + ":\n" + r.err);
  }
  UnpackedImage image;
  image.rootfs = dest / "rootfs";
  const std::string config_text = slurp(dest / "config.json");
  try {
    image.config = nlohmann::json::parse(config_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Internal,
                "umoci_unpack: " + (dest / "config.json").string() + " is not JSON: " + e.what());
  }
  return image;
}

}  // namespace envbuild::testing
