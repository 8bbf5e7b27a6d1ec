#pragma once
// Size limits of a snapshot. Azure ML refuses code folders over 300 MB or
// 2000 files; we keep its defaults so a folder that passes here passes
// there, and say exactly what to ignore when it does not.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "snapshot/source_tree.hpp"

namespace envbuild::snapshot {

struct SnapshotLimits {
  uint64_t max_files = 2000;          // files and symlinks
  uint64_t max_bytes = 300ull << 20;  // 300 MB as Azure ML counts them (MiB)
};

// "300MB", "1.5G", "2000000", "512k" (binary units, case-insensitive, an
// optional "iB"/"B" suffix). Throws Error(BadInput) naming `what`.
uint64_t parse_byte_size(std::string_view text, std::string_view what);

// Limits from a YAML config file:
//   snapshot:
//     max_files: 5000
//     max_bytes: 1GB
// Returns `base` with the keys present applied. Unknown keys and wrong types
// are Error(BadInput) naming file:line:column.
SnapshotLimits load_limits_config(const std::filesystem::path& file, SnapshotLimits base);

// The config file in effect: $ENVBUILD_CONFIG, else
// $XDG_CONFIG_HOME/envbuild/config.yaml, else ~/.config/envbuild/config.yaml;
// nullopt when it does not exist (an explicitly named file must exist).
std::optional<std::filesystem::path> default_config_file();

// Throws Error(BadInput) when `walk` exceeds a limit. The message starts with
// one line saying which limit, then lists the largest files and directories
// and ignore lines that would bring the snapshot under the limits.
void check_limits(const WalkResult& walk, const SnapshotLimits& limits,
                  const std::filesystem::path& root);

}  // namespace envbuild::snapshot
