#pragma once
// Clobbering (CEP 32): two packages of one environment writing the same
// path. In an image the later layer silently wins, so the builder has to
// find these before it writes layers, as conda does before it links.
#include <string>
#include <vector>

#include "builder/conda/package/link_package.hpp"

namespace envbuild::builder::conda {

struct Clobber {
  std::string path;            // relative to the prefix
  std::string first_package;   // the earlier package in the list (its name)
  std::string second_package;  // the later one, whose layer would win
  // Both install the same bytes (or the same symlink target), as far as the
  // recorded hashes tell.
  bool same_content = false;
};

// Every path written by more than one package, and every path one package
// installs as a file or symlink where another puts a folder (lib/x vs.
// lib/x/y). Directories shared by packages are not clobbers. Sorted by path,
// then by the order of the packages.
std::vector<Clobber> find_clobbers(const std::vector<LinkedPackage>& packages);

}  // namespace envbuild::builder::conda
