#pragma once
// Linking an extracted conda package into an environment prefix, computed
// rather than performed: the result is the exact list of layer entries the
// package contributes to the image (one reproducible OCI layer per package),
// with paths relative to the image root ("opt/conda/lib/libz.so.1").
//
// - Files without a placeholder point at the extracted file (no copy).
//   Files whose placeholder was replaced (prefix_replace.hpp) become bytes
//   in memory, or, past `max_inline_bytes`, a file in `staging_dir` named by
//   the sha256 of its content.
// - Softlinks stay symlinks with their target verbatim; directories listed
//   in paths.json are kept, and every folder between the prefix and an
//   entry gets a 0755 directory entry (folders above the prefix are left to
//   the layers below).
// - Modes are the extracted ones (executable bits kept) as umask 022 leaves
//   them (package_archive.hpp).
// - noarch: python: site-packages/ and python-scripts/ are moved
//   (noarch_python.hpp) and entry points become bin/<name> scripts, mode
//   0755. No .pyc is compiled (that needs the environment's python).
// - conda-meta/<name>-<version>-<build>.json (CEP 32) is an entry too, so
//   the record travels in the package's own layer. conda-meta/history is
//   the environment's, not a package's: the caller writes it.
// - Link scripts (bin/.<name>-pre-link.sh, -post-link.sh, -pre-unlink.sh)
//   are installed like any file and reported, so the caller can apply a
//   policy; nothing is run.
//
// The extracted tree is read without following any symlink it contains.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "builder/conda/package/package_metadata.hpp"
#include "builder/conda/package_record.hpp"
#include "registry/layer_writer.hpp"

namespace envbuild::builder::conda {

struct LinkContext {
  // Absolute, normalized, without blanks: "/opt/conda" or "/opt/conda/envs/x".
  std::string prefix;
  // "3.11" when python is in the environment; required for noarch: python.
  std::string python_version;
  // The python record's python_site_packages_path (CEP 20), when it has one;
  // else lib/python<version>/site-packages.
  std::string python_site_packages_path;
  // "linux-64": packages must be noarch or of this subdir. Empty: no check.
  std::string target_subdir;
  // Where replaced files larger than max_inline_bytes are written (created
  // when needed). Empty: every replaced file stays in memory.
  std::filesystem::path staging_dir;
  uint64_t max_inline_bytes = 1 << 20;
  // conda-meta records where the package cache holds the package
  // (extracted_package_dir, package_tarball_full_path, link.source). Those
  // are host paths, different on every machine; set this to record
  // "<recorded_cache_dir>/<folder name>" instead, so that the same lock
  // gives the same layer bytes anywhere.
  std::string recorded_cache_dir;
  // A softlink whose archive entry has no target (see package_archive.hpp)
  // is pointed at the one regular file in its folder with the sha256 and
  // size paths.json records for it (paths.json hashes a softlink's target),
  // with a warning. false: such a package is refused.
  bool repair_empty_symlinks = true;
};

// A file or symlink the package installs (directories are not listed).
struct InstalledPath {
  std::string path;                    // relative to the prefix: "lib/libz.so.1"
  PathType type = PathType::Hardlink;  // Hardlink: a regular file
  std::string sha256_in_prefix;        // files: the installed bytes; empty when unknown
  std::string link_target;             // softlinks
};

struct LinkedPackage {
  std::string name;       // "zlib"
  std::string dist_name;  // "zlib-1.2.11-h7b6447c_3"
  // Sorted with registry::layer_path_less; ready for registry::write_layer.
  std::vector<registry::LayerEntry> entries;
  // The CEP 32 record, also serialized into `entries` at conda_meta_path.
  // requested_spec / requested_specs are empty: fill them and call
  // refresh_conda_meta_entry.
  nlohmann::json conda_meta;
  std::string conda_meta_path;           // "opt/conda/conda-meta/zlib-1.2.11-h7b6447c_3.json"
  std::vector<InstalledPath> installed;  // paths.json order, then entry points

  bool has_pre_link = false;
  bool has_post_link = false;
  bool has_pre_unlink = false;
  std::string pre_link_script;  // relative to the prefix: "bin/.zlib-pre-link.sh"
  std::string post_link_script;
  std::string pre_unlink_script;
  // The text of info/prelink_messages/* (conda shows them before linking).
  std::vector<std::string> prelink_messages;
  // Things done that conda would not have done (repaired symlinks, ...).
  std::vector<std::string> warnings;
};

// Computes the link of the package extracted at `extracted_dir` (see the
// header comment) and writes its info/repodata_record.json from `record`.
// `package_tarball` is the archive in the cache, for conda-meta; empty:
// <extracted_dir's parent>/<record.filename>. Throws Error(BadInput)
// naming the package and file when the record does not match the package
// (name, version, build), the package is for another subdir, a binary
// placeholder is shorter than the prefix, a noarch: python package has no
// python version to go with, or the extracted tree disagrees with paths.json.
LinkedPackage link_package(const std::filesystem::path& extracted_dir, const PackageRecord& record,
                           const LinkContext& context,
                           const std::filesystem::path& package_tarball = {});
// The same with the package's metadata already read (read_package_metadata
// of `extracted_dir`), for callers that needed it before linking.
LinkedPackage link_package(const std::filesystem::path& extracted_dir, PackageMetadata metadata,
                           const PackageRecord& record, const LinkContext& context,
                           const std::filesystem::path& package_tarball = {});

// Serializes pkg.conda_meta into its entry again (after the caller filled
// requested_spec, for example).
void refresh_conda_meta_entry(LinkedPackage& pkg);

}  // namespace envbuild::builder::conda
