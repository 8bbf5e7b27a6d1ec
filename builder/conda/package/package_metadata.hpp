#pragma once
// The metadata of an extracted conda package (CEP 34): info/index.json,
// info/paths.json (paths_version 1), or for old packages without it
// info/files + info/has_prefix + info/no_link, and info/link.json (noarch
// type and python entry points). Every path is validated (relative, no
// "..", nothing under info/ or conda-meta/), so what the linker gets can be
// joined onto a prefix as it is.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace envbuild::builder::conda {

// conda's placeholder when has_prefix names a file without one.
inline constexpr std::string_view kDefaultPrefixPlaceholder = "/opt/anaconda1anaconda2anaconda3";

enum class PathType { Hardlink, Softlink, Directory };
enum class FileMode { Text, Binary };

std::string_view path_type_name(PathType type);  // "hardlink", "softlink", "directory"
std::string_view file_mode_name(FileMode mode);  // "text", "binary"

// One path entry of paths.json (or what info/files + has_prefix imply).
struct PathEntry {
  std::string path;  // normalized, relative to the package root
  PathType type = PathType::Hardlink;
  std::string sha256;                   // lowercase hex; empty when unknown (info/files)
  std::optional<uint64_t> size;         // size_in_bytes; absent when unknown
  std::string prefix_placeholder;       // empty: nothing to replace
  FileMode file_mode = FileMode::Text;  // meaningful only with a placeholder
  bool no_link = false;
};

struct EntryPoint {
  std::string name;      // the command: "bsdiff4"
  std::string module;    // "bsdiff4.cli"
  std::string function;  // "main_bsdiff4" (may be dotted: "Class.method")
};

struct LinkJson {
  std::string noarch_type;  // "python", "generic" or "" when absent
  std::vector<EntryPoint> entry_points;
};

struct PackageMetadata {
  nlohmann::json index;  // info/index.json as read (an object)
  std::string name;
  std::string version;
  std::string build;
  std::string subdir;  // may be empty in old packages
  // "python", "generic" or "": link.json's noarch.type, else index.json's
  // noarch (a string, or true meaning generic).
  std::string noarch;
  // CEP 20: set in a python package's own index.json ("lib/python3.13t/site-packages").
  std::string python_site_packages_path;
  std::vector<PathEntry> paths;  // in file order
  bool has_paths_json = false;   // false: from info/files (+ has_prefix, no_link)
  std::vector<EntryPoint> entry_points;
};

// Reads everything above from `extracted_dir` without following any
// symlink the package contains. Throws Error(BadInput) naming the file for
// missing or malformed metadata.
PackageMetadata read_package_metadata(const std::filesystem::path& extracted_dir);

// The parsers behind it, for tests. `name` labels errors ("pkg/info/paths.json").
nlohmann::json parse_index_json(std::string_view text, std::string_view name);
std::vector<PathEntry> parse_paths_json(std::string_view text, std::string_view name);
LinkJson parse_link_json(std::string_view text, std::string_view name);
// "name = module:function", spaces optional, an optional "[extras]" suffix
// ignored (as conda does). Throws Error(BadInput) naming `name`.
EntryPoint parse_entry_point(std::string_view text, std::string_view name);
// The legacy files: info/files lists the paths; has_prefix lines are
// "path" (text, default placeholder) or "placeholder mode path", quoted
// when they hold spaces; no_link lists paths to copy. Path types are
// Hardlink here: the caller knows which ones are symlinks on disk.
std::vector<PathEntry> parse_legacy_files(std::string_view files, std::string_view has_prefix,
                                          std::string_view no_link, std::string_view name);

// A path a package may install: normalized, relative, without "..", not
// under info/ or conda-meta/ (CEP 32 reserves it). Throws Error(BadInput).
std::string checked_install_path(std::string_view raw, std::string_view what);

}  // namespace envbuild::builder::conda
