#pragma once
// Unpacks an image from an OCI layout with Debian's umoci, an independent
// reader of what we build: rootfs plus the runtime-spec config.json umoci
// derives from the image config (process.env, process.args, process.cwd,
// process.user, annotations).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace envbuild::testing {

struct UnpackedImage {
  std::filesystem::path rootfs;  // DEST/rootfs
  nlohmann::json config;         // DEST/config.json, the runtime config umoci writes
};

// Runs `umoci unpack --image LAYOUT:TAG DEST`, adding --rootless when not
// root (as root, umoci applies the layers' ownership and set-id bits as
// stored). `dest` must not exist yet or be empty. `tag` may contain ':'
// ("busybox:1"): umoci splits LAYOUT:TAG at the first ':', so `layout` must
// not contain one. umoci 0.4.7 reads gzip and plain tar layers, not zstd,
// and unpacks image manifests only (not an index). Throws
// envbuild::Error(Internal) with umoci's stderr on failure.
UnpackedImage umoci_unpack(const std::filesystem::path& layout, const std::string& tag,
                           const std::filesystem::path& dest);

}  // namespace envbuild::testing
