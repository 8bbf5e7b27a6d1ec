#pragma once
// Safe extraction of one (compressed) tar stream of a conda package into a
// folder; the rules are those listed in package_archive.hpp.
#include <cstdint>
#include <string>

#include "builder/conda/package/package_archive.hpp"
#include "builder/conda/package/rooted_dir.hpp"
#include "registry/compress_stream.hpp"

namespace envbuild::builder::conda {

enum class TarCompression { Bzip2, Zstd };

// Which part of a package a tar may hold: a `.conda`'s info tar holds only
// `info/`, its pkg tar everything but `info/`, a `.tar.bz2` both.
enum class TarScope { Everything, InfoOnly, ExceptInfo };

// Counted across the tars of one package, so the limits bound the package.
struct ExtractBudget {
  uint64_t entries = 0;
  uint64_t bytes = 0;
};

// Reads the compressed tar from `source` to its end and writes its entries
// below `root`. `name` labels errors ("pkg.conda: pkg-x.tar.zst").
void extract_tar(registry::ByteSource& source, TarCompression compression, const RootedDir& root,
                 TarScope scope, const ExtractOptions& options, ExtractBudget& budget,
                 const std::string& name);

}  // namespace envbuild::builder::conda
