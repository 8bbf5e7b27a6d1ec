#pragma once
// Extracting conda package archives (CEP 35) into a package cache folder.
//
// `.conda`: a ZIP read through its central directory, holding
// `metadata.json` ({"conda_pkg_format_version": 2}), `info-<dist>.tar.zst`
// (only `info/`) and `pkg-<dist>.tar.zst` (everything else); both tars are
// extracted into the same folder. `.tar.bz2`: one bzip2-compressed tar.
//
// Archives are hostile until proven otherwise. No entry may leave the
// destination: absolute paths and ".." are refused, nothing is ever written
// through a symlink (every path is walked with O_NOFOLLOW from the
// destination's fd), hardlinks must name a regular file already extracted
// from the same tar, device nodes, fifos and sockets are refused, entries may
// not repeat, and file sizes, total bytes and entry counts are bounded.
// Permission bits are kept as umask 022 would leave them (0666 -> 0644,
// 0775 -> 0755; set-id and sticky bits dropped; files stay owner-readable),
// so an extraction reads the same under any umask. Symlink targets are
// stored verbatim and never followed.
//
// A symlink entry with an empty target cannot exist on Linux; such entries
// (found in conda's own test packages) are extracted as empty regular files,
// which is how the `.tar.bz2` form of the same packages stores them, and the
// linker resolves them from paths.json (link_package.hpp).
#include <cstdint>
#include <filesystem>

namespace envbuild::builder::conda {

struct ExtractOptions {
  uint64_t max_file_bytes = uint64_t{16} << 30;   // one file
  uint64_t max_total_bytes = uint64_t{64} << 30;  // all files of the package
  uint64_t max_entries = 2'000'000;               // tar entries of the package
};

// Extracts `archive` (by its extension: ".conda" or ".tar.bz2") so that
// `dest` holds `info/` and the payload. The work happens in a sibling temp
// folder that is renamed onto `dest` at the end, so `dest` either does not
// exist or is complete: a killed extraction leaves no half package (its temp
// folder is removed by the next extraction into the same parent), and when
// another process finishes the same package first its result is kept. An
// existing `dest` is taken as complete and left untouched: name `dest` after
// the archive's content (its dist name or sha256) and delete it to re-extract.
// The files are not fsynced one by one (a cache can be re-extracted), so
// the guarantee covers killed processes, not power loss.
//
// Throws Error(BadInput) naming the archive (and the member and entry) for
// malformed or hostile archives, Error(NotFound) when `archive` is missing.
void extract_package(const std::filesystem::path& archive, const std::filesystem::path& dest,
                     const ExtractOptions& options = {});

}  // namespace envbuild::builder::conda
